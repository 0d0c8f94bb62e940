import { useEffect, useRef } from "react";

const KEYS: [string, string][] = [
  ["Ctrl + Enter", "Run the workflow"],
  ["Ctrl + S", "Save now"],
  ["Ctrl + Z / Ctrl + Shift + Z", "Undo / redo"],
  ["Ctrl + C / Ctrl + V / Ctrl + D", "Copy / paste / duplicate the selection"],
  ["Ctrl + A", "Select every node"],
  ["Delete", "Delete the selection"],
  ["Tab, then Enter", "Focus a node and select it (its settings open in the inspector)"],
  ["Arrow keys", "Move the selected nodes (focus a node first)"],
  ["C (or a node's ⤳ button)", "Connect the selected node's output to another node's input"],
  ["Inspector › Inputs", "Choose what feeds each input of the selected node"],
  ["Double-click the canvas", "Search for a node to add there"],
  ["← / → in the viewer", "Previous / next output"],
  ["?", "This list"],
  ["Esc", "Close a dialog"],
];

/** Every keyboard shortcut of the editor, opened with `?`. */
export default function ShortcutHelp({ onClose }: { onClose(): void }) {
  const close = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    const opener = document.activeElement;
    close.current?.focus();
    return () => { if (opener instanceof HTMLElement) opener.focus(); };
  }, []);
  return (
    <div className="viewer" onClick={onClose}>
      <div className="viewer-body shortcut-help" role="dialog" aria-modal="true"
           aria-labelledby="shortcut-title" data-testid="shortcut-help"
           onClick={(event) => event.stopPropagation()}
           onKeyDown={(event) => {
             if (event.key === "Escape" || event.key === "Tab") { event.preventDefault(); }
             if (event.key === "Escape") onClose();
           }}>
        <div className="viewer-bar">
          <h2 id="shortcut-title" className="viewer-title">Keyboard shortcuts</h2>
          <span style={{ flex: 1 }} />
          <button ref={close} onClick={onClose}>Close</button>
        </div>
        <table>
          <tbody>
            {KEYS.map(([keys, what]) => (
              <tr key={keys}><th scope="row"><kbd>{keys}</kbd></th><td>{what}</td></tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
