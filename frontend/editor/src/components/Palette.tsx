import { useReactFlow } from "@xyflow/react";
import { useMemo, useState } from "react";

import { useEditor } from "../store";
import type { NodeSpec } from "../types";

/** Node types by category, searchable; drag one onto the canvas. */
export default function Palette() {
  const catalog = useEditor((s) => s.catalog);
  const addNode = useEditor((s) => s.addNode);
  const flow = useReactFlow();
  /** Without a mouse drag: add the node in the middle of the visible canvas. */
  const addInView = (nodeType: string) => {
    const pane = document.querySelector(".react-flow__pane")?.getBoundingClientRect();
    if (!pane) return;
    addNode(nodeType, flow.screenToFlowPosition({ x: pane.x + pane.width / 2 - 110,
                                                  y: pane.y + pane.height / 2 - 60 }));
  };
  const [query, setQuery] = useState("");
  const groups = useMemo(() => {
    const byCategory = new Map<string, NodeSpec[]>();
    for (const spec of searchSpecs(catalog, query)) {
      const list = byCategory.get(spec.category) ?? [];
      list.push(spec);
      byCategory.set(spec.category, list);
    }
    return [...byCategory.entries()];
  }, [catalog, query]);
  return (
    <aside className="palette" aria-label="Nodes">
      <input placeholder="Search nodes…" value={query} aria-label="Search nodes" type="search"
             onChange={(event) => setQuery(event.target.value)} />
      {!groups.length && <p className="muted">No node matches “{query}”.</p>}
      {groups.map(([category, specs]) => (
        <section key={category}>
          <h2>{category}</h2>
          {specs.map((spec) => (
            <button key={spec.nodeType} type="button" className="palette-item" draggable
                    data-testid={`palette-${spec.nodeType}`}
                    title={`${spec.description}\nDrag onto the canvas, or press Enter or double-click to add.`}
                    onDoubleClick={() => addInView(spec.nodeType)}
                    onKeyDown={(event) => {
                      if (event.key === "Enter") { event.preventDefault(); addInView(spec.nodeType); }
                    }}
                    onDragStart={(event) => {
                      event.dataTransfer.setData("application/wireflow-node", spec.nodeType);
                      event.dataTransfer.effectAllowed = "move";
                    }}>
              <span>{spec.label}</span>
              {spec.credits > 0 && <span className="cr">{spec.credits} cr</span>}
            </button>
          ))}
        </section>
      ))}
    </aside>
  );
}


/** Node types whose label, type or description has the query, best first: label matches
 * before the rest. */
export function searchSpecs(catalog: Map<string, NodeSpec>, query: string): NodeSpec[] {
  const wanted = query.trim().toLowerCase();
  const all = [...catalog.values()];
  if (!wanted) return all;
  const inLabel = all.filter((spec) => spec.label.toLowerCase().includes(wanted));
  const elsewhere = all.filter((spec) => !inLabel.includes(spec)
    && `${spec.nodeType} ${spec.description} ${spec.category}`.toLowerCase().includes(wanted));
  return [...inLabel, ...elsewhere];
}
