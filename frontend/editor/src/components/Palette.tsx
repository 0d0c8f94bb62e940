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
    const wanted = query.trim().toLowerCase();
    const byCategory = new Map<string, NodeSpec[]>();
    for (const spec of catalog.values()) {
      const text = `${spec.label} ${spec.nodeType} ${spec.description}`.toLowerCase();
      if (wanted && !text.includes(wanted)) continue;
      const list = byCategory.get(spec.category) ?? [];
      list.push(spec);
      byCategory.set(spec.category, list);
    }
    return [...byCategory.entries()];
  }, [catalog, query]);
  return (
    <aside className="palette">
      <input placeholder="Search nodes…" value={query} aria-label="Search nodes"
             onChange={(event) => setQuery(event.target.value)} />
      {!groups.length && <p className="muted">No node matches “{query}”.</p>}
      {groups.map(([category, specs]) => (
        <section key={category}>
          <h3>{category}</h3>
          {specs.map((spec) => (
            <div key={spec.nodeType} className="palette-item" draggable
                 data-testid={`palette-${spec.nodeType}`} title={`${spec.description}\nDrag onto the canvas, or double-click to add.`}
                 tabIndex={0} role="button" aria-label={`Add ${spec.label}`}
                 onDoubleClick={() => addInView(spec.nodeType)}
                 onKeyDown={(event) => { if (event.key === "Enter") addInView(spec.nodeType); }}
                 onDragStart={(event) => {
                   event.dataTransfer.setData("application/wireflow-node", spec.nodeType);
                   event.dataTransfer.effectAllowed = "move";
                 }}>
              <span>{spec.label}</span>
              {spec.credits > 0 && <span className="cr">{spec.credits} cr</span>}
            </div>
          ))}
        </section>
      ))}
    </aside>
  );
}
