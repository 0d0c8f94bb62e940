import { useMemo, useState } from "react";

import { useEditor } from "../store";

/** Node types by category, searchable; drag one onto the canvas. */
export default function Palette() {
  const catalog = useEditor((s) => s.catalog);
  const [query, setQuery] = useState("");
  const groups = useMemo(() => {
    const wanted = query.trim().toLowerCase();
    const byCategory = new Map<string, { nodeType: string; label: string; description: string }[]>();
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
      {groups.map(([category, specs]) => (
        <section key={category}>
          <h3>{category}</h3>
          {specs.map((spec) => (
            <div key={spec.nodeType} className="palette-item" draggable
                 data-testid={`palette-${spec.nodeType}`} title={spec.description}
                 onDragStart={(event) => {
                   event.dataTransfer.setData("application/wireflow-node", spec.nodeType);
                   event.dataTransfer.effectAllowed = "move";
                 }}>
              {spec.label}
            </div>
          ))}
        </section>
      ))}
    </aside>
  );
}
