import { useEffect, useRef } from "react";
import { create } from "zustand";

import { ports } from "../graph";
import { useEditor } from "../store";

/** Which handle's menu is open, and where on the screen. */
interface HandleMenuState {
  at: { nodeId: string; port: string; side: "in" | "out"; x: number; y: number } | null;
  open(at: NonNullable<HandleMenuState["at"]>): void;
  close(): void;
}

export const useHandleMenu = create<HandleMenuState>()((set) => ({
  at: null,
  open: (at) => set({ at }),
  close: () => set({ at: null }),
}));

/** Connecting from the keyboard: Enter on a focused handle lists the ports it may join (of
 * the same media type) on other nodes; choosing one makes the edge. Esc closes the list and
 * gives focus back to the handle. */
export default function HandleMenu() {
  const at = useHandleMenu((s) => s.at);
  const close = useHandleMenu((s) => s.close);
  const nodes = useEditor((s) => s.nodes);
  const catalog = useEditor((s) => s.catalog);
  const wire = useEditor((s) => s.wire);
  const list = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!at) return;
    const opener = document.activeElement;
    list.current?.querySelector<HTMLElement>("button")?.focus();
    return () => { if (opener instanceof HTMLElement) opener.focus(); };
  }, [at]);
  if (!at) return null;
  const here = nodes.find((n) => n.id === at.nodeId);
  const spec = here && catalog.get(here.data.nodeType);
  const type = at.side === "out" ? spec?.outputs.find((o) => o.id === at.port)?.type
    : spec && ports(spec).find((p) => p.id === at.port)?.type;
  const fits = (other: string | undefined) => other === type || other === "any" || type === "any";
  const choices = nodes.filter((n) => n.id !== at.nodeId).flatMap((n) => {
    const other = catalog.get(n.data.nodeType);
    if (!other) return [];
    return at.side === "out"
      ? ports(other).filter((p) => fits(p.type)).map((p) => ({ node: n, port: p.id, label: p.label }))
      : other.outputs.filter((o) => fits(o.type)).map((o) => ({ node: n, port: o.id, label: o.label }));
  });
  const choose = (nodeId: string, port: string) => {
    if (at.side === "out") wire(nodeId, port, { nodeId: at.nodeId, output: at.port });
    else wire(at.nodeId, at.port, { nodeId, output: port });
    close();
  };
  return (
    <div className="handle-menu" role="dialog" aria-label={`Connect ${at.side === "out" ? "to" : "from"}`}
         data-testid="handle-menu" style={{ left: at.x, top: at.y }} ref={list}
         onKeyDown={(event) => { if (event.key === "Escape") { event.stopPropagation(); close(); } }}>
      <div className="muted">{at.side === "out" ? "Connect to…" : "Connect from…"}</div>
      {choices.map((choice) => (
        <button key={`${choice.node.id}/${choice.port}`}
                onClick={() => choose(choice.node.id, choice.port)}>
          {choice.node.data.label || choice.node.id} · {choice.label}
        </button>
      ))}
      {!choices.length && <span className="muted">No port of this media type</span>}
      <button onClick={close}>Cancel</button>
    </div>
  );
}
