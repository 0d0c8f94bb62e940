// Connect a node's output to another node's input without dragging: the node's "Connect"
// button (or C with the node selected) opens a menu of every input its outputs can feed.

import { useEffect, useMemo, useRef, useState } from "react";
import { create } from "zustand";

import { ports } from "../graph";
import { useEditor } from "../store";
import type { NodeSpec } from "../types";

interface ConnectState {
  nodeId: string | null;
  at: { x: number; y: number };
  /** The element focus returns to when the menu closes. */
  opener: HTMLElement | null;
  open(nodeId: string, anchor: HTMLElement): void;
  close(): void;
}

export const useConnectMenu = create<ConnectState>()((set, get) => ({
  nodeId: null,
  at: { x: 0, y: 0 },
  opener: null,
  open: (nodeId, anchor) => {
    const box = anchor.getBoundingClientRect();
    set({ nodeId, opener: anchor, at: { x: box.left, y: box.bottom + 4 } });
  },
  close: () => {
    const opener = get().opener;
    set({ nodeId: null, opener: null });
    if (opener?.isConnected) opener.focus();
  },
}));

export interface ConnectChoice {
  output: string;
  outputLabel: string;
  target: string;
  targetLabel: string;
  port: string;
  portLabel: string;
  /** The edge this one replaces: a single input already fed by another node. */
  replaces: string | null;
}

interface GraphLike {
  nodes: { id: string; data: { nodeType: string; label?: string } }[];
  edges: { source: string; target: string; targetHandle?: string | null }[];
}

/** Every input that an output of `sourceId` can feed: the media types agree, the target is
 * not the node itself nor upstream of it (no cycles), and the edge is not there already. */
export function connectChoices(catalog: Map<string, NodeSpec>, graph: GraphLike,
                               sourceId: string): ConnectChoice[] {
  const source = graph.nodes.find((n) => n.id === sourceId);
  const sourceSpec = source && catalog.get(source.data.nodeType);
  if (!sourceSpec) return [];
  const upstream = new Set<string>([sourceId]);
  for (let grew = true; grew;) {
    grew = false;
    for (const edge of graph.edges) {
      if (upstream.has(edge.target) && !upstream.has(edge.source)) {
        upstream.add(edge.source);
        grew = true;
      }
    }
  }
  const labelOf = (id: string) => {
    const node = graph.nodes.find((n) => n.id === id);
    return node?.data.label || catalog.get(node?.data.nodeType ?? "")?.label || id;
  };
  const choices: ConnectChoice[] = [];
  for (const output of sourceSpec.outputs) {
    for (const target of graph.nodes) {
      const spec = catalog.get(target.data.nodeType);
      if (!spec || upstream.has(target.id)) continue;
      for (const port of ports(spec)) {
        if (output.type !== port.type && output.type !== "any" && port.type !== "any") continue;
        const feeding = graph.edges.filter((e) => e.target === target.id
                                                  && e.targetHandle === `in-${port.id}`);
        if (feeding.some((e) => e.source === sourceId)) continue;
        choices.push({
          output: output.id, outputLabel: output.label, target: target.id,
          targetLabel: labelOf(target.id), port: port.id, portLabel: port.label,
          replaces: !port.multiple && feeding.length ? labelOf(feeding[0].source) : null,
        });
      }
    }
  }
  return choices;
}

/** The menu itself, drawn over the canvas at the size of the page (never scaled with the
 * zoom): arrow keys move, Enter connects, Esc closes and gives focus back. */
export default function ConnectMenu() {
  const nodeId = useConnectMenu((s) => s.nodeId);
  if (!nodeId) return null;
  return <Menu nodeId={nodeId} />;
}

function Menu({ nodeId }: { nodeId: string }) {
  const { at, close } = useConnectMenu();
  const nodes = useEditor((s) => s.nodes);
  const edges = useEditor((s) => s.edges);
  const catalog = useEditor((s) => s.catalog);
  const wire = useEditor((s) => s.wire);
  const notify = useEditor((s) => s.notify);
  const [filter, setFilter] = useState("");
  const [active, setActive] = useState(0);
  const search = useRef<HTMLInputElement>(null);
  const all = useMemo(() => connectChoices(catalog, { nodes, edges }, nodeId),
                      [catalog, nodes, edges, nodeId]);
  const words = filter.toLowerCase().split(/\s+/).filter(Boolean);
  const shown = all.filter((c) => words.every((w) =>
    `${c.outputLabel} ${c.targetLabel} ${c.portLabel}`.toLowerCase().includes(w)));
  const source = nodes.find((n) => n.id === nodeId);
  const sourceLabel = source?.data.label || catalog.get(source?.data.nodeType ?? "")?.label || nodeId;
  const several = new Set(all.map((c) => c.output)).size > 1;
  useEffect(() => { search.current?.focus(); }, []);
  useEffect(() => { setActive(0); }, [filter]);

  const choose = (choice: ConnectChoice) => {
    wire(choice.target, choice.port, { nodeId, output: choice.output });
    notify(`Connected ${sourceLabel} → ${choice.targetLabel} · ${choice.portLabel}`);
    close();
  };
  const left = Math.max(8, Math.min(at.x, window.innerWidth - 328));
  const top = Math.max(8, Math.min(at.y, window.innerHeight - 340));
  return (
    <div className="connect-backdrop" onMouseDown={close}>
      <div className="connect-menu" role="dialog" aria-modal="true" data-testid="connect-menu"
           aria-label={`Connect ${sourceLabel} to…`} style={{ left, top }}
           onMouseDown={(event) => event.stopPropagation()}
           onKeyDown={(event) => {
             if (event.key === "Escape" || event.key === "Tab") {
               event.preventDefault();
               close();
             } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
               event.preventDefault();
               const step = event.key === "ArrowDown" ? 1 : -1;
               setActive((i) => shown.length ? (i + step + shown.length) % shown.length : 0);
             } else if (event.key === "Enter" && shown[active]) {
               event.preventDefault();
               choose(shown[active]);
             }
           }}>
        <input ref={search} className="connect-search" data-testid="connect-search"
               placeholder="Connect to… (type to filter)" value={filter}
               aria-label={`Connect ${sourceLabel} to which input`}
               role="combobox" aria-expanded="true" aria-controls="connect-choices"
               aria-activedescendant={shown[active] ? `connect-choice-${active}` : undefined}
               onChange={(event) => setFilter(event.target.value)} />
        <ul id="connect-choices" role="listbox" aria-label="Inputs it can feed">
          {shown.map((choice, index) => (
            <li key={`${choice.output}/${choice.target}/${choice.port}`}
                id={`connect-choice-${index}`} role="option" aria-selected={index === active}
                className={index === active ? "active" : ""} data-testid="connect-choice"
                onMouseEnter={() => setActive(index)} onClick={() => choose(choice)}>
              <span>
                {several && <span className="muted">{choice.outputLabel} → </span>}
                {choice.targetLabel} · {choice.portLabel}
              </span>
              {choice.replaces && <span className="muted">replaces {choice.replaces}</span>}
            </li>
          ))}
        </ul>
        {!shown.length && (
          <p className="muted connect-empty" role="status">
            {all.length ? "Nothing matches." : "No input on the canvas takes this node's output."}
          </p>
        )}
      </div>
    </div>
  );
}
