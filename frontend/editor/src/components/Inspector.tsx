import { megapixels, settings, snapSize } from "../graph";
import { useEditor } from "../store";
import type { CatalogInput } from "../types";

const SEED_MAX = 2 ** 32 - 1;

/** The selected node's settings, generated from the catalog's schema. */
export default function Inspector() {
  const node = useEditor((s) => s.nodes.find((n) => n.selected));
  const spec = useEditor((s) => (node ? s.catalog.get(node.data.nodeType) : undefined));
  const setConfig = useEditor((s) => s.setConfig);
  const setLabel = useEditor((s) => s.setLabel);
  if (!node || !spec) {
    return <aside className="inspector muted">Select a node to edit its settings.</aside>;
  }
  const config = { ...(node.data.params ?? {}), ...(node.data.config ?? {}) };
  const width = Number(config.width ?? 0);
  const height = Number(config.height ?? 0);
  const flux = spec.nodeType.startsWith("generate:flux_2");
  return (
    <aside className="inspector">
      <label>Label
        <input value={node.data.label ?? ""} onChange={(e) => setLabel(node.id, e.target.value)} />
      </label>
      <p className="muted">{spec.description}</p>
      {settings(spec).map((setting) => (
        <Field key={setting.id} setting={setting} value={config[setting.id]}
               onChange={(value) => setConfig(node.id, setting.id, value)} />
      ))}
      {flux && width > 0 && height > 0 && (
        <p className={megapixels(width, height) > 4 ? "error" : "muted"}>
          {megapixels(width, height).toFixed(2)} MP (max 4; sides are multiples of 16)
          {" "}<button onClick={() => {
            setConfig(node.id, "width", snapSize(width));
            setConfig(node.id, "height", snapSize(height));
          }}>Snap to 16</button>
        </p>
      )}
      <p className="muted">Cost: {spec.credits} credits</p>
    </aside>
  );
}

function Field({ setting, value, onChange }: {
  setting: CatalogInput; value: unknown; onChange: (value: unknown) => void;
}) {
  const id = `setting-${setting.id}`;
  const label = <span>{setting.label}{setting.required ? " *" : ""}</span>;
  if (setting.enum) {
    return (
      <label htmlFor={id}>{label}
        <select id={id} value={String(value ?? "")}
                onChange={(e) => onChange(setting.enum!.find((o) => String(o) === e.target.value))}>
          {setting.enum.map((option) => <option key={String(option)}>{String(option)}</option>)}
        </select>
      </label>
    );
  }
  switch (setting.type) {
    case "boolean":
      return <label htmlFor={id}>{label}<input id={id} type="checkbox" checked={Boolean(value)}
                                               onChange={(e) => onChange(e.target.checked)} /></label>;
    case "integer":
    case "number":
    case "seed":
      return (
        <label htmlFor={id}>{label}
          <span className="row">
            <input id={id} type="number" value={value === null || value === undefined ? "" : String(value)}
                   min={setting.min ?? undefined} max={setting.max ?? undefined}
                   step={setting.multipleOf ?? (setting.type === "number" ? "any" : 1)}
                   placeholder={setting.type === "seed" ? "random" : ""}
                   onChange={(e) => onChange(e.target.value === "" ? null
                     : setting.type === "number" ? Number(e.target.value) : Math.round(Number(e.target.value)))} />
            {setting.type === "seed" && (
              <button type="button" onClick={() => onChange(Math.floor(Math.random() * SEED_MAX))}>
                Randomize
              </button>
            )}
          </span>
        </label>
      );
    case "color":
      return <label htmlFor={id}>{label}<input id={id} type="color" value={String(value || "#ffffff")}
                                               onChange={(e) => onChange(e.target.value)} /></label>;
    case "text":
      return <label htmlFor={id}>{label}<textarea id={id} rows={4} value={String(value ?? "")}
                                                  onChange={(e) => onChange(e.target.value)} /></label>;
    default:
      return <label htmlFor={id}>{label}<input id={id} value={String(value ?? "")}
                                               onChange={(e) => onChange(e.target.value)} /></label>;
  }
}
