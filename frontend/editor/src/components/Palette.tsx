import { useReactFlow } from "@xyflow/react";
import { useMemo, useState } from "react";

import { useEditor } from "../store";
import type { NodeSpec } from "../types";

/** The palette's groups for models, in this order after the inputs; other nodes group by
 * category after them. */
export const TASK_LABELS: Record<string, string> = {
  "text-to-image": "Text to image", "image-editing": "Image editing", upscaling: "Upscaling",
  video: "Video", audio: "Audio",
};

/** A node's palette group: its task for a model, else its category. */
export function groupOf(spec: NodeSpec): string {
  return (spec.task && TASK_LABELS[spec.task]) || spec.category;
}

/** Groups in palette order: inputs, the model tasks, then the rest as they come. */
export function groupSpecs(specs: NodeSpec[]): [string, NodeSpec[]][] {
  const byGroup = new Map<string, NodeSpec[]>();
  for (const spec of specs) {
    const group = groupOf(spec);
    byGroup.set(group, [...(byGroup.get(group) ?? []), spec]);
  }
  const order = ["input", ...Object.values(TASK_LABELS)];
  const rank = (group: string) => (order.includes(group) ? order.indexOf(group) : order.length);
  return [...byGroup.entries()].sort((a, b) => rank(a[0]) - rank(b[0]));
}

/** Node types by task (models) or category, searchable by name, task and vendor; each item
 * shows its price and a one-line description; drag one onto the canvas. */
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
  const groups = useMemo(() => groupSpecs(searchSpecs(catalog, query)), [catalog, query]);
  return (
    <aside className="palette" aria-label="Nodes">
      <input placeholder="Search name, task, vendor…" value={query} aria-label="Search nodes"
             type="search"
             onChange={(event) => setQuery(event.target.value)} />
      {!groups.length && <p className="muted">No node matches “{query}”.</p>}
      {groups.map(([group, specs]) => (
        <section key={group}>
          <h2>{group}</h2>
          {specs.map((spec) => (
            <button key={spec.nodeType} type="button" className="palette-item" draggable
                    data-testid={`palette-${spec.nodeType}`}
                    title={`${spec.description}${spec.priceRule ? `\n${spec.priceRule}` : ""}\nDrag onto the canvas, or press Enter or double-click to add.`}
                    onDoubleClick={() => addInView(spec.nodeType)}
                    onKeyDown={(event) => {
                      if (event.key === "Enter") { event.preventDefault(); addInView(spec.nodeType); }
                    }}
                    onDragStart={(event) => {
                      event.dataTransfer.setData("application/wireflow-node", spec.nodeType);
                      event.dataTransfer.effectAllowed = "move";
                    }}>
              <span className="palette-name">{spec.label}</span>
              {spec.credits > 0 && <span className="cr">{spec.credits} cr</span>}
              {spec.task && (
                <span className="palette-desc">
                  {spec.vendor && <span className="palette-vendor">{spec.vendor} · </span>}
                  {spec.description}
                </span>
              )}
            </button>
          ))}
        </section>
      ))}
    </aside>
  );
}


/** Node types whose label, type, description, category, task or vendor has the query, best
 * first: label matches before the rest. */
export function searchSpecs(catalog: Map<string, NodeSpec>, query: string): NodeSpec[] {
  const wanted = query.trim().toLowerCase();
  const all = [...catalog.values()];
  if (!wanted) return all;
  const inLabel = all.filter((spec) => spec.label.toLowerCase().includes(wanted));
  const elsewhere = all.filter((spec) => !inLabel.includes(spec)
    && [spec.nodeType, spec.description, spec.category, spec.task ?? "",
        spec.task ? TASK_LABELS[spec.task] ?? "" : "", spec.vendor ?? ""]
      .join(" ").toLowerCase().includes(wanted));
  return [...inLabel, ...elsewhere];
}
