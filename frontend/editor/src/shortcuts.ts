// Keyboard shortcuts of the canvas. Keys typed into a field stay the field's.

import { useEffect } from "react";

import { useConnectMenu } from "./components/ConnectMenu";
import { useEditor } from "./store";

export interface ShortcutHandlers {
  run(): void;
  save(): void;
  /** Show every shortcut (`?`). */
  help(): void;
}

export function useShortcuts({ run, save, help }: ShortcutHandlers) {
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const editor = useEditor.getState();
      const mod = event.ctrlKey || event.metaKey;
      const key = event.key.toLowerCase();
      const typing = (event.target as HTMLElement | null)?.closest?.(
        "input, textarea, select, [contenteditable=true]");
      if (mod && key === "enter") {  // runs from anywhere, a prompt field included
        event.preventDefault();
        run();
        return;
      }
      if (mod && key === "s") {
        event.preventDefault();
        save();
        return;
      }
      if (!typing && !mod && event.key === "?") {
        event.preventDefault();
        help();
        return;
      }
      if (typing || !editor.canEdit) return;
      const handled = (() => {
        if (mod && key === "z") { if (event.shiftKey) editor.redo(); else editor.undo(); return true; }
        if (mod && key === "y") { editor.redo(); return true; }
        if (mod && key === "c") {
          const n = editor.copy();
          if (n) editor.notify(`Copied ${n} node${n === 1 ? "" : "s"}`);
          return n > 0;
        }
        if (mod && key === "v") { editor.paste(); return true; }
        if (mod && key === "d") { editor.duplicate(); return true; }
        if (mod && key === "a") { editor.selectAll(); return true; }
        if (!mod && key === "c") return openConnect(editor.nodes.filter((n) => n.selected));
        if (!mod && (key === "delete" || key === "backspace")) {
          editor.deleteSelected();
          return true;
        }
        return false;
      })();
      if (handled) event.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [run, save, help]);
}

/** C with one node selected: the menu of inputs its outputs can feed, under its Connect button. */
function openConnect(selected: { id: string }[]): boolean {
  if (selected.length !== 1) return false;
  const id = selected[0].id;
  const anchor = document.querySelector<HTMLElement>(
    `.react-flow__node[data-id="${CSS.escape(id)}"] [data-testid=connect-open]`);
  if (!anchor) return false;
  useConnectMenu.getState().open(id, anchor);
  return true;
}
