import { Handle, Position, type NodeProps } from "@xyflow/react";
import { memo, useEffect, useMemo, useState } from "react";

import { MEDIA_COLORS, ports } from "../graph";
import { nodeLabel } from "../status";
import { type FlowNode, useEditor } from "../store";
import type { NodeOutput, Problem } from "../types";
import { fileName, useViewer } from "./Viewer";

const SEP = "\u0001";
const FIELD = "\u0002";

function problemsOf(problems: Problem[], id: string): string {
  return problems.filter((p) => p.nodeId === id)
    .map((p) => `${p.message}${FIELD}${p.fix ?? ""}`).join(SEP);
}

function parseProblems(text: string): { message: string; fix: string }[] {
  return text ? text.split(SEP).map((item) => {
    const [message, fix] = item.split(FIELD);
    return { message, fix };
  }) : [];
}

/** One node on the canvas: its ports as coloured handles, its live run state and output.
 * Memoized, and each store read is narrow: a status event for another node changes nothing
 * here. */
function WireflowNode({ id, data, selected }: NodeProps<FlowNode>) {
  const spec = useEditor((s) => s.catalog.get(data.nodeType));
  const run = useEditor((s) => s.runs[id]);
  // A string, not an array: a lint answer that says the same about this node re-renders nothing.
  const problemText = useEditor((s) => problemsOf(s.problems, id));
  const problems = useMemo(() => parseProblems(problemText), [problemText]);
  const credits = useEditor((s) => s.nodeCredits[id]);
  const stale = useEditor((s) => s.stale[id]);
  if (!spec) return <div className="node node-unknown">Unknown type {data.nodeType}</div>;
  const status = run?.status;
  const excerpt = textOf(data.config ?? data.params);
  return (
    <div className={`node ${selected ? "selected" : ""} status-${status?.toLowerCase() ?? ""}`
                    + (problems.length ? " has-problem" : "")}
         data-testid={`node-${id}`} data-status={status ?? ""}>
      <div className="node-title">
        <Label id={id} label={data.label || spec.label} />
        {spec.preview && <span className="badge" title="A procedural preview, not a model">preview</span>}
        {data.pinned && <span className="badge badge-pinned" data-testid="node-pinned"
                              title="Pinned: later runs reuse this output for free">pinned</span>}
        {credits ? <span className="credits" title="Credits per run">{credits} cr</span> : null}
      </div>
      <div className="node-ports">
        <div>
          {ports(spec).map((input) => (
            <div key={input.id} className="port port-in" title={`${input.label}: ${input.type}`}>
              <Handle type="target" position={Position.Left} id={`in-${input.id}`}
                      className={`media-${input.type}`}
                      style={{ background: MEDIA_COLORS[input.type] ?? "#888" }} />
              <span>{input.label}{input.required ? " *" : ""}</span>
            </div>
          ))}
        </div>
        <div>
          {spec.outputs.map((output) => (
            <div key={output.id} className="port port-out" title={`${output.label}: ${output.type}`}>
              <span>{output.label}</span>
              <Handle type="source" position={Position.Right} id={`out-${output.id}`}
                      className={`media-${output.type}`}
                      style={{ background: MEDIA_COLORS[output.type] ?? "#888" }} />
            </div>
          ))}
        </div>
      </div>
      {excerpt && !run?.output?.text && <div className="node-excerpt" title={excerpt}>{excerpt}</div>}
      {status && (
        <div className="node-status" data-testid="node-status">
          <span className="status-label">{nodeLabel(status)}</span>
          {status === "RUNNING" && <progress max={1} value={run?.progress ?? 0} />}
          {status === "RUNNING" && <span className="muted">{Math.round((run?.progress ?? 0) * 100)}%</span>}
        </div>
      )}
      {run?.seed != null && spec.inputs.some((input) => input.id === "seed") && (
        <Seed id={id} seed={run.seed} locked={data.config?.seed === run.seed} />
      )}
      {run?.error && (status === "FAILED" || status === "SKIPPED") && (
        <div className="node-error" data-testid="node-error">{run.error}</div>
      )}
      {run?.output && <Output output={run.output} title={data.label || spec.label} />}
      {spec.executable && spec.category !== "input"
        && (data.pinned || (run?.output && isDone(run.status)))
        && <Pin id={id} pinned={data.pinned?.executionId ?? null} />}
      {data.pinned && stale && (
        <div className="node-problem" data-testid="node-stale" title={stale}>
          ⚠ Pinned output predates changes upstream
        </div>
      )}
      {problems.map((problem, index) => (
        <div key={index} className="node-problem" title={problem.fix}>⚠ {problem.message}</div>
      ))}
    </div>
  );
}

/** The seed the node's last run used; one click locks it into the settings, so the next run
 * reproduces that result (from the cache, for free) instead of drawing a new one. */
function Seed({ id, seed, locked }: { id: string; seed: number; locked: boolean }) {
  const setConfig = useEditor((s) => s.setConfig);
  return (
    <div className="node-seed" data-testid="node-seed">
      <span className="muted">seed {seed}</span>
      {locked
        ? <button className="nodrag" data-testid="unlock-seed" title="Draw a new seed each run"
                  onClick={() => setConfig(id, "seed", null)}>Unlock</button>
        : <button className="nodrag" data-testid="lock-seed"
                  title="Keep this seed: the next run reproduces this result for free"
                  onClick={() => setConfig(id, "seed", seed)}>Lock seed</button>}
    </div>
  );
}

const isDone = (status: string) => status === "COMPLETED" || status === "CACHED";

/** Pin the output on the canvas (the run shown, the latest or one opened from the history):
 * later runs reuse it for free, and what only feeds this node is not run, until unpinned. */
function Pin({ id, pinned }: { id: string; pinned: string | null }) {
  const setPinned = useEditor((s) => s.setPinned);
  const executionId = useEditor((s) => s.executionId);
  const canEdit = useEditor((s) => s.canEdit);
  if (!canEdit) return null;
  return (
    <div className="node-pin">
      {pinned
        ? <button className="nodrag" data-testid="unpin-output"
                  title="Run this node again next time" onClick={() => setPinned(id, null)}>
            Unpin
          </button>
        : executionId && (
          <button className="nodrag" data-testid="pin-output"
                  title="Keep this output: later runs reuse it for free"
                  onClick={() => setPinned(id, executionId)}>Pin output</button>)}
    </div>
  );
}

/** The text a node carries (a prompt, a note), to read the canvas without opening each node. */
function textOf(config: Record<string, unknown> | undefined): string {
  const value = config?.prompt ?? config?.text;
  return typeof value === "string" ? value.trim().slice(0, 140) : "";
}

/** The node's label, renamed in place with a double click. */
function Label({ id, label }: { id: string; label: string }) {
  const [editing, setEditing] = useState(false);
  const setLabel = useEditor((s) => s.setLabel);
  if (!editing) {
    return <span className="node-label" onDoubleClick={() => setEditing(true)}
                 title="Double-click to rename">{label}</span>;
  }
  return (
    <input className="nodrag node-label-input" defaultValue={label} autoFocus
           aria-label="Node label" maxLength={120}
           onBlur={(event) => { setLabel(id, event.target.value.trim()); setEditing(false); }}
           onKeyDown={(event) => {
             if (event.key === "Enter") (event.target as HTMLInputElement).blur();
             if (event.key === "Escape") setEditing(false);
           }} />
  );
}

/** Previews of what the node made: image thumbnails, a video player, or its text. Each opens
 * full size or downloads. */
function Output({ output, title }: { output: NodeOutput; title: string }) {
  const show = useViewer((s) => s.show);
  const image = output.images?.[0];
  const video = output.videos?.[0];
  return (
    <div className="node-output nodrag" data-testid="node-output">
      {image && (
        <RetryingImage url={image.url} alt={`${title} output`}
                       onClick={() => show({ kind: "image", url: image.url, title })} />
      )}
      {video && <video className="node-preview" src={video.url} controls muted loop preload="metadata" />}
      {output.text && <pre className="node-text">{output.text}</pre>}
      {(image || video) && (
        <div className="output-actions">
          <button onClick={() => show(image ? { kind: "image", url: image.url, title }
                                             : { kind: "video", url: video!.url, title })}
                  data-testid="open-output">Full size</button>
          <a href={(image ?? video)!.url} download={fileName((image ?? video)!.url)}>Download</a>
          {image && <span className="muted">{image.width}×{image.height}</span>}
          {output.images.length > 1 && <span className="muted">+{output.images.length - 1}</span>}
        </div>
      )}
    </div>
  );
}

const RETRIES = 5;

/** A preview that tries again (1 s, 2 s, 4 s…) when it fails to load, e.g. while the server
 * restarts; the URL is left as it is (it may be signed), the element is remounted instead. */
function RetryingImage({ url, alt, onClick }: { url: string; alt: string; onClick(): void }) {
  const [attempt, setAttempt] = useState(0);
  useEffect(() => setAttempt(0), [url]);
  return (
    <img key={attempt} className="node-preview" src={url} alt={alt} loading="lazy"
         onClick={onClick}
         onError={() => {
           if (attempt < RETRIES) window.setTimeout(() => setAttempt(attempt + 1), 1000 * 2 ** attempt);
         }} />
  );
}

export default memo(WireflowNode);
