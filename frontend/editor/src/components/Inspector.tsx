import { memo, useState } from "react";

import { uploadMedia } from "../api";
import { ports, settings } from "../graph";
import {
  ASPECT_PRESETS, aspectOf, fitSize, megapixels, sizeForAspect, type SizeSettings, sizeSettings,
} from "../sizes";
import { itemsFromCsv, itemsFromLines, startBatch } from "../batch";
import { useEditor } from "../store";
import type { CatalogInput } from "../types";

const SEED_MAX = 2 ** 32 - 1;

/** The selected node's settings, generated from the catalog's schema. */
export default function Inspector({ onRunTo }: { onRunTo(nodeId: string): void }) {
  const node = useEditor((s) => {
    let found = null;
    for (const n of s.nodes) {
      if (!n.selected) continue;
      if (found) return null;  // several selected: nothing to edit one by one
      found = n;
    }
    return found;
  });
  const selectedCount = useEditor((s) => s.nodes.filter((n) => n.selected).length);
  const spec = useEditor((s) => (node ? s.catalog.get(node.data.nodeType) : undefined));
  const credits = useEditor((s) => (node ? s.nodeCredits[node.id] : undefined));
  // "nodeId:port" of each input that an edge feeds, as one string (a narrow read).
  const wired = useEditor((s) => node ? s.edges.filter((e) => e.target === node.id)
    .map((e) => `${e.targetHandle}<${e.source}`).join("\n") : "");
  const canEdit = useEditor((s) => s.canEdit);
  const canRun = useEditor((s) => s.canRun);
  const setConfig = useEditor((s) => s.setConfig);
  const setConfigs = useEditor((s) => s.setConfigs);
  const setLabel = useEditor((s) => s.setLabel);
  if (!node || !spec) {
    return (
      <div className="inspector muted" data-testid="inspector">
        {selectedCount > 1
          ? `${selectedCount} nodes selected: copy (Ctrl+C), duplicate (Ctrl+D) or delete them.`
          : "Select a node to edit its settings."}
      </div>
    );
  }
  const config = { ...(node.data.params ?? {}), ...(node.data.config ?? {}) };
  const fields = settings(spec);
  // A frame's width and height are its box on the canvas, not an image size.
  const size = spec.category === "utility" ? null : sizeSettings(spec);
  return (
    <fieldset className="inspector" data-testid="inspector" disabled={!canEdit}>
      <label>Label
        <input value={node.data.label ?? ""} data-testid="inspector-label" maxLength={120}
               onChange={(e) => setLabel(node.id, e.target.value)} />
      </label>
      <p className="muted"><code>{spec.nodeType}</code> · {spec.description}</p>
      {ports(spec).filter((port) => port.inline).map((port) => {
        const feed = wired.split("\n").find((line) => line.startsWith(`in-${port.id}<`));
        return feed ? (
          <p key={port.id} className="muted" data-testid={`inline-${port.id}`}>
            {port.label}: from <code>{feed.split("<")[1]}</code>
          </p>
        ) : (
          <Field key={port.id} setting={{ ...port, type: "text" }} value={config[port.id]}
                 onChange={(value) => setConfig(node.id, port.id, value)}
                 hint="or connect a text output" />
        );
      })}
      {fields.map((setting) => {
        if (size && setting.id === size.height.id) return null;
        if (size && setting.id === size.width.id) {
          const { width, height } = size;
          return <SizeField key="size" size={size}
                            width={Number(config[width.id] ?? width.default ?? 0)}
                            height={Number(config[height.id] ?? height.default ?? 0)}
                            onChange={(chosen) => setConfigs(node.id, {
                              [width.id]: chosen.width, [height.id]: chosen.height })} />;
        }
        return <Field key={setting.id} setting={setting} value={config[setting.id]}
                      media={spec.outputs[0]?.type}
                      onChange={(value) => setConfig(node.id, setting.id, value)} />;
      })}
      {canEdit && ports(spec).length > 0 && <Inputs nodeId={node.id} />}
      {canRun && spec.nodeType === "input:text" && <BatchField nodeId={node.id} />}
      <p className="cost" data-testid="node-cost">
        Cost: {credits ?? spec.credits} credit{(credits ?? spec.credits) === 1 ? "" : "s"} per run
        {spec.credits === 0 && credits === undefined ? " (free, local)" : ""}
      </p>
      {spec.executable && canRun && (
        <button onClick={() => onRunTo(node.id)}>Run up to this node</button>
      )}
    </fieldset>
  );
}

/** Width and height together: aspect presets, a live megapixel readout, and sizes kept valid
 * (in the limits the catalog serves: sides in steps, the area at most its maximum) when a
 * field is left or a preset chosen. */
const SizeField = memo(function SizeField({ size, width, height, onChange }: {
  size: SizeSettings; width: number; height: number;
  onChange(size: { width: number; height: number }): void;
}) {
  const { limits } = size;
  const [draft, setDraft] = useState<{ width: string; height: string } | null>(null);
  const w = draft ? Number(draft.width) || 0 : width;
  const h = draft ? Number(draft.height) || 0 : height;
  const mp = megapixels(w, h);
  const valid = fitSize(w, h, limits);
  const ok = valid.width === w && valid.height === h;
  const preset = aspectOf(w, h);
  const cap = Number.isFinite(limits.maxMegapixels) ? ` of ${limits.maxMegapixels} max` : "";
  const commit = () => {
    if (!draft) return;
    onChange(fitSize(w, h, limits));
    setDraft(null);
  };
  const edit = (key: "width" | "height", value: string) =>
    setDraft({ width: String(w), height: String(h), ...(draft ?? {}), [key]: value });
  const side = (key: "width" | "height") => (
    <label htmlFor={`setting-${size[key].id}`}><span>{size[key].label}</span>
      <input id={`setting-${size[key].id}`} type="number"
             value={draft?.[key] ?? String(key === "width" ? width : height)}
             step={limits.multipleOf} min={limits.min} max={limits.max}
             onChange={(e) => edit(key, e.target.value)} onBlur={commit}
             onKeyDown={(e) => { if (e.key === "Enter") commit(); }} />
    </label>
  );
  return (
    <fieldset className="size" data-testid="size-field">
      <legend>Size</legend>
      <div className="presets">
        {ASPECT_PRESETS.map((name) => (
          <button key={name} type="button" className={preset === name ? "active" : ""}
                  data-testid={`aspect-${name}`}
                  onClick={() => { setDraft(null); onChange(sizeForAspect(name, limits,
                    Math.max(1, Math.min(limits.maxMegapixels, megapixels(width, height))))); }}>
            {name}
          </button>
        ))}
      </div>
      <div className="row">
        {side("width")}
        <span className="times">×</span>
        {side("height")}
      </div>
      <p className={mp > limits.maxMegapixels ? "error" : "muted"} data-testid="megapixels">
        {mp.toFixed(2)} MP{cap} · {preset ?? "custom"} · sides in steps of {limits.multipleOf}
        {!ok && <> — will be {valid.width}×{valid.height}</>}
      </p>
    </fieldset>
  );
});

function Field({ setting, value, onChange, hint, media }: {
  setting: CatalogInput; value: unknown; onChange: (value: unknown) => void; hint?: string;
  /** What the node gives (an input node's URL is of an image or of a sound). */
  media?: string;
}) {
  const id = `setting-${setting.id}`;
  const label = (
    <span title={setting.description}>
      {setting.label}{setting.required ? " *" : ""}
      {hint && <small className="muted"> ({hint})</small>}
    </span>
  );
  const current = value === undefined ? setting.default : value;
  if (setting.enum) {
    return (
      <label htmlFor={id}>{label}
        <select id={id} value={String(current ?? "")}
                onChange={(e) => onChange(setting.enum!.find((o) => String(o) === e.target.value))}>
          {setting.enum.map((option) => <option key={String(option)}>{String(option)}</option>)}
        </select>
      </label>
    );
  }
  switch (setting.type) {
    case "boolean":
      return (
        <label htmlFor={id} className="check">
          <input id={id} type="checkbox" checked={Boolean(current)}
                 onChange={(e) => onChange(e.target.checked)} />{label}
        </label>
      );
    case "seed":
      return <SeedField id={id} label={label} value={value} onChange={onChange} />;
    case "integer":
    case "number":
      return <NumberField id={id} label={label} setting={setting} value={current}
                          onChange={onChange} />;
    case "color":
      return <label htmlFor={id}>{label}<input id={id} type="color" value={String(current || "#ffffff")}
                                               onChange={(e) => onChange(e.target.value)} /></label>;
    case "text":
      return <label htmlFor={id}>{label}<textarea id={id} rows={5} value={String(current ?? "")}
                                                  placeholder={setting.id === "prompt"
                                                    ? "Describe the image…"
                                                    : setting.description || undefined}
                                                  onChange={(e) => onChange(e.target.value)} /></label>;
    case "url":
      return <UrlField id={id} label={label} value={current} onChange={onChange}
                       audio={media === "audio"} />;
    default:
      return <label htmlFor={id}>{label}<input id={id} value={String(current ?? "")}
                                               onChange={(e) => onChange(e.target.value)} /></label>;
  }
}

/** A number; with both bounds known, a slider beside the field. */
function NumberField({ id, label, setting, value, onChange }: {
  id: string; label: React.ReactNode; setting: CatalogInput; value: unknown;
  onChange: (value: unknown) => void;
}) {
  const integer = setting.type === "integer";
  const step = setting.multipleOf ?? (integer ? 1 : stepFor(setting));
  const parse = (text: string) => text === "" ? null : integer ? Math.round(Number(text)) : Number(text);
  const bounded = setting.min !== null && setting.max !== null;
  const shown = value === null || value === undefined ? "" : String(value);
  return (
    <label htmlFor={id}>{label}
      <span className="row">
        {bounded && (
          <input type="range" className="slider" aria-label={`${setting.label} slider`}
                 data-testid={`slider-${setting.id}`} min={setting.min!} max={setting.max!}
                 step={step} value={shown === "" ? String(setting.min) : shown}
                 onChange={(e) => onChange(parse(e.target.value))} />
        )}
        <input id={id} type="number" className={bounded ? "narrow" : ""} value={shown}
               min={setting.min ?? undefined} max={setting.max ?? undefined} step={step}
               onChange={(e) => onChange(parse(e.target.value))} />
      </span>
    </label>
  );
}

function stepFor(setting: CatalogInput): number {
  const span = (setting.max ?? 10) - (setting.min ?? 0);
  return span <= 2 ? 0.05 : span <= 20 ? 0.1 : 1;
}

/** A seed: empty means a new random seed every run (never cached); Randomize picks one to keep. */
function SeedField({ id, label, value, onChange }: {
  id: string; label: React.ReactNode; value: unknown; onChange: (value: unknown) => void;
}) {
  return (
    <label htmlFor={id}>{label}
      <span className="row">
        <input id={id} type="number" min={0} max={SEED_MAX} step={1} placeholder="random each run"
               value={value === null || value === undefined ? "" : String(value)}
               onChange={(e) => onChange(e.target.value === "" ? null
                 : Math.max(0, Math.min(SEED_MAX, Math.round(Number(e.target.value)))))} />
        <button type="button" data-testid="seed-randomize" title="Pick a new fixed seed"
                onClick={() => onChange(Math.floor(Math.random() * SEED_MAX))}>Randomize</button>
      </span>
    </label>
  );
}

/** An image or sound URL: typed, or a file uploaded to our storage (POST /media/upload). A
 * sound previews with a player. */
function UrlField({ id, label, value, onChange, audio }: {
  id: string; label: React.ReactNode; value: unknown; onChange: (value: unknown) => void;
  audio: boolean;
}) {
  const [state, setState] = useState<string | null>(null);
  const url = String(value ?? "");
  return (
    <label htmlFor={id}>{label}
      <input id={id} value={url} placeholder="https://… or upload" onChange={(e) => onChange(e.target.value)} />
      <input type="file" accept={audio ? "audio/*" : "image/*"} data-testid="upload"
             aria-label={audio ? "Upload a sound" : "Upload an image"}
             onChange={(e) => {
               const file = e.target.files?.[0];
               if (!file) return;
               setState("Uploading…");
               uploadMedia(file).then((done) => { onChange(done.data.url); setState(null); },
                                      (error) => setState(`Not uploaded: ${error.message}`));
             }} />
      {state && <small className="muted">{state}</small>}
      {url && !state && (audio
        ? <audio className="url-preview" src={url} controls preload="none"
                 aria-label="Play the sound" data-testid="url-audio" />
        : <img className="url-preview" src={url} alt="" />)}
    </label>
  );
}


/** Each input port with what feeds it, changeable from the keyboard: a list of the outputs
 * of other nodes that carry the port's media type. */
function Inputs({ nodeId }: { nodeId: string }) {
  const nodes = useEditor((s) => s.nodes);
  const edges = useEditor((s) => s.edges);
  const catalog = useEditor((s) => s.catalog);
  const wire = useEditor((s) => s.wire);
  const node = nodes.find((n) => n.id === nodeId);
  const spec = node && catalog.get(node.data.nodeType);
  if (!spec) return null;
  const sources = nodes.filter((n) => n.id !== nodeId).flatMap((n) =>
    (catalog.get(n.data.nodeType)?.outputs ?? []).map((output) => ({ node: n, output })));
  return (
    <fieldset className="inputs" data-testid="inspector-inputs">
      <legend>Inputs</legend>
      {ports(spec).map((port) => {
        const feeding = edges.filter((e) => e.target === nodeId && e.targetHandle === `in-${port.id}`);
        const current = feeding[0] ? `${feeding[0].source}\u0001${(feeding[0].sourceHandle ?? "").slice(4)}` : "";
        const options = sources.filter(({ output }) => output.type === port.type
          || output.type === "any" || port.type === "any");
        return (
          <label key={port.id}>
            <span>{port.label}{port.required ? " (required)" : ""}
              {feeding.length > 1 ? ` · ${feeding.length} connected` : ""}</span>
            <select data-testid={`wire-${port.id}`} value={port.multiple ? "" : current}
                    onChange={(event) => {
                      const [source, output] = event.target.value.split("\u0001");
                      wire(nodeId, port.id, source ? { nodeId: source, output } : null);
                    }}>
              <option value="">{port.multiple && feeding.length ? "add another…" : "not connected"}</option>
              {options.map(({ node: n, output }) => (
                <option key={`${n.id}/${output.id}`} value={`${n.id}\u0001${output.id}`}>
                  {(n.data.label || n.id)} · {output.label}
                </option>
              ))}
            </select>
          </label>
        );
      })}
    </fieldset>
  );
}


/** Run a list of values of this Text Input (one per line), or a CSV with a column per input
 * node, as one batch. */
function BatchField({ nodeId }: { nodeId: string }) {
  const [text, setText] = useState("");
  const [csvError, setCsvError] = useState<string | null>(null);
  const nodes = useEditor((s) => s.nodes);
  const catalog = useEditor((s) => s.catalog);
  const items = itemsFromLines(nodeId, text);
  const inputs = nodes.filter((n) => catalog.get(n.data.nodeType)?.category === "input")
    .map((n) => ({ id: n.id, label: n.data.label ?? "" }));
  return (
    <fieldset className="inputs" data-testid="batch-field">
      <legend>Batch</legend>
      <label><span>One prompt per line</span>
        <textarea rows={4} value={text} data-testid="batch-lines"
                  onChange={(event) => setText(event.target.value)} />
      </label>
      <button type="button" data-testid="run-batch" disabled={items.length < 1}
              onClick={() => void startBatch(items)}>
        Run {items.length || ""} as a batch
      </button>
      <label><span>…or a CSV, a column per input node (id or label)</span>
        <input type="file" accept=".csv,text/csv" data-testid="batch-csv"
               onChange={async (event) => {
                 const file = event.target.files?.[0];
                 if (!file) return;
                 const parsed = itemsFromCsv(await file.text(), inputs);
                 setCsvError(parsed.error);
                 if (!parsed.error) void startBatch(parsed.items);
               }} />
      </label>
      {csvError && <p className="error" role="alert">{csvError}</p>}
    </fieldset>
  );
}
