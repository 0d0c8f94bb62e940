import { useMemo, useState } from "react";

import { useEditor } from "../store";
import { searchSpecs } from "./Palette";

/** Node search where the canvas was double-clicked: type, pick with the arrow keys, Enter adds
 * the node there (at the nearest free place). Esc or a click elsewhere closes it. */
export default function QuickAdd({ at, onClose }: {
  at: { screen: { x: number; y: number }; flow: { x: number; y: number } };
  onClose(): void;
}) {
  const catalog = useEditor((s) => s.catalog);
  const addNode = useEditor((s) => s.addNode);
  const [query, setQuery] = useState("");
  const [active, setActive] = useState(0);
  const found = useMemo(() => searchSpecs(catalog, query).slice(0, 8), [catalog, query]);
  const choose = (nodeType: string | undefined) => {
    if (nodeType) addNode(nodeType, at.flow);
    onClose();
  };
  return (
    <div className="quick-add" role="dialog" aria-label="Add a node" data-testid="quick-add"
         style={{ left: at.screen.x, top: at.screen.y }}
         onKeyDown={(event) => {
           if (event.key === "Escape") { event.stopPropagation(); onClose(); }
           if (event.key === "ArrowDown") { event.preventDefault(); setActive(Math.min(active + 1, found.length - 1)); }
           if (event.key === "ArrowUp") { event.preventDefault(); setActive(Math.max(active - 1, 0)); }
           if (event.key === "Enter") { event.preventDefault(); choose(found[active]?.nodeType); }
         }}>
      <input autoFocus type="search" placeholder="Add a node…" aria-label="Search nodes to add"
             value={query} data-testid="quick-add-search" role="combobox"
             aria-expanded="true" aria-controls="quick-add-list"
             aria-activedescendant={found[active] ? `quick-${active}` : undefined}
             onBlur={(event) => {
               if (!event.currentTarget.parentElement?.contains(event.relatedTarget as Node)) onClose();
             }}
             onChange={(event) => { setQuery(event.target.value); setActive(0); }} />
      <ul id="quick-add-list" role="listbox" aria-label="Node types">
        {found.map((spec, index) => (
          <li key={spec.nodeType} id={`quick-${index}`} role="option"
              aria-selected={index === active} className={index === active ? "active" : ""}
              onMouseDown={(event) => { event.preventDefault(); choose(spec.nodeType); }}>
            <span>{spec.label}</span>
            <span className="muted">{spec.credits > 0 ? `${spec.credits} cr` : spec.category}</span>
          </li>
        ))}
        {!found.length && <li className="muted">No node matches “{query}”.</li>}
      </ul>
    </div>
  );
}
