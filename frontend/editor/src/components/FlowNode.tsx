import { Handle, NodeResizer, Position, type NodeProps } from "@xyflow/react";
import { memo, useEffect, useMemo, useState } from "react";

import { countsOf, statusesOf } from "../fanout";
import { MEDIA_COLORS, ports } from "../graph";
import { nodeLabel } from "../status";
import { useVersionMarks } from "../team/ui";
import { type FlowNode, useEditor } from "../store";
import type { NodeStatus } from "../status";
import type { NodeRunState, NodeSpec, Problem } from "../types";
import { useConnectMenu } from "./ConnectMenu";
import { fileName, type MediaItem, outputItems, seconds, useViewer } from "./Viewer";

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
function WireflowNode({ id, data, selected, isConnectable }: NodeProps<FlowNode>) {
  const spec = useEditor((s) => s.catalog.get(data.nodeType));
  const run = useEditor((s) => s.runs[id]);
  // A string, not an array: a lint answer that says the same about this node re-renders nothing.
  const problemText = useEditor((s) => problemsOf(s.problems, id));
  const problems = useMemo(() => parseProblems(problemText), [problemText]);
  const credits = useEditor((s) => s.nodeCredits[id]);
  const stale = useEditor((s) => s.stale[id]);
  // A node a List fans out has one output per item: there is no one output to pin.
  const fanned = useEditor((s) => Boolean(s.itemCounts[id]));
  const versionMark = useVersionMarks((s) => s.marks[id]);
  if (!spec) return <div className="node node-unknown">Unknown type {data.nodeType}</div>;
  if (spec.nodeType === FRAME_TYPE) {
    return <Frame id={id} label={data.label || spec.label} selected={Boolean(selected)}
                  config={data.config ?? {}} />;
  }
  const status = run?.status;
  const excerpt = textOf(data.config ?? data.params);
  return (
    <div className={`node ${selected ? "selected" : ""} status-${status?.toLowerCase() ?? ""}`
                    + (problems.length ? " has-problem" : "")
                    + (versionMark ? ` version-${versionMark}` : "")
                    + (spec.nodeType === NOTE_TYPE ? ` note note-${String(data.config?.color ?? "yellow")}` : "")}
         data-testid={`node-${id}`} data-status={status ?? ""}
         data-version-mark={versionMark}>
      {/* What the node is, large enough to read when zoomed out (shown only then). */}
      <div className="node-overview" aria-hidden="true">
        <span className="node-overview-label">{data.label || spec.label}</span>
        {status && <span className="status-label">{nodeLabel(status)}</span>}
      </div>
      <div className="node-title">
        <Label id={id} label={data.label || spec.label} />
        {spec.preview && <span className="badge" title="A procedural preview, not a model">preview</span>}
        {data.pinned && <span className="badge badge-pinned" data-testid="node-pinned"
                              title="Pinned: later runs reuse this output for free">pinned</span>}
        {credits ? <span className="credits" title="Credits per run">{credits} cr</span> : null}
        {spec.outputs.length > 0 && <ConnectButton id={id} label={data.label || spec.label} />}
      </div>
      <div className="node-ports">
        <div>
          {ports(spec).map((input) => (
            <div key={input.id} className="port port-in" title={`${input.label}: ${input.type}`}>
              <Handle type="target" position={Position.Left} id={`in-${input.id}`}
                      isConnectable={isConnectable}
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
                      isConnectable={isConnectable}
                      className={`media-${output.type}`}
                      style={{ background: MEDIA_COLORS[output.type] ?? "#888" }} />
            </div>
          ))}
        </div>
      </div>
      <FanOut id={id} />
      {excerpt && !run?.output?.text && <div className="node-excerpt" title={excerpt}>{excerpt}</div>}
      {makesMedia(spec) ? (
        // A media node's run area has one size, before, during and after a run: a result never
        // makes the node grow over its neighbours.
        <div className="node-run" data-testid="node-run">
          <Status id={id} status={status} progress={run?.progress ?? 0} stale={stale}>
            {spec.inputs.some((input) => input.id === "seed") && run?.seed != null
              && status !== "RUNNING" && (
              <Seed id={id} seed={run.seed} locked={data.config?.seed === run.seed} />
            )}
          </Status>
          <Media id={id} run={run} title={data.label || spec.label} />
          <Actions id={id} run={run} pinned={data.pinned?.executionId ?? null}
                   pinnable={spec.category !== "input" && !fanned
                             && spec.nodeType !== "utility:list"} />
        </div>
      ) : (
        <>
          {status && <Status id={id} status={status} progress={run?.progress ?? 0} stale={stale} />}
          {run?.error && (status === "FAILED" || status === "SKIPPED") && (
            <div className="node-error" data-testid="node-error" title={run.error}>{run.error}</div>
          )}
          {run?.output?.text && <pre className="node-text nodrag nowheel">{run.output.text}</pre>}
        </>
      )}
      {problems.map((problem, index) => (
        <div key={index} className="node-problem" title={problem.fix}>⚠ {problem.message}</div>
      ))}
    </div>
  );
}

const FAN_CELLS = 24;

/** A node a List fans out: how its items stand ("7/12 done") and one small cell per item, its
 * thumbnail once done, its status colour until then. Nothing for any other node. */
function FanOut({ id }: { id: string }) {
  const branches = useEditor((s) => s.branches[id]);
  const total = useEditor((s) => s.itemCounts[id] ?? 0);
  if (!branches || !total) return null;
  const counts = countsOf(branches, total);
  const statuses = statusesOf(branches, total);
  return (
    <div className="fan-out" data-testid="fan-out" data-done={counts.done}
         data-failed={counts.failed} data-total={total}>
      <span className="fan-out-count" data-testid="fan-out-count">
        {counts.done}/{total} done{counts.failed ? `, ${counts.failed} failed` : ""}
      </span>
      <div className="fan-out-cells" aria-hidden="true">
        {statuses.slice(0, FAN_CELLS).map((status, index) => {
          const thumb = branches[index]?.output?.images?.[0];
          return (
            <span key={index} className={`fan-out-cell status-${status.toLowerCase()}`}
                  data-testid="fan-out-cell" data-status={status}
                  title={`Item ${index + 1}: ${nodeLabel(status)}`}
                  style={thumb ? { backgroundImage: `url(${thumb.thumbnailUrl ?? thumb.url})` }
                    : undefined} />
          );
        })}
        {total > FAN_CELLS && <span className="fan-out-more">+{total - FAN_CELLS}</span>}
      </div>
    </div>
  );
}

export const FRAME_TYPE = "utility:frame";
const NOTE_TYPE = "utility:sticky_note";

/** A frame: a titled, coloured area behind nodes; resizing it sets its width and height, and
 * dragging it moves the nodes inside (App's onNodeDrag). */
function Frame({ id, label, selected, config }: {
  id: string; label: string; selected: boolean; config: Record<string, unknown>;
}) {
  const setConfigs = useEditor((s) => s.setConfigs);
  const canEdit = useEditor((s) => s.canEdit);
  const width = Number(config.width ?? 640);
  const height = Number(config.height ?? 420);
  return (
    <div className={`frame frame-${String(config.color ?? "blue")} ${selected ? "selected" : ""}`}
         style={{ width, height }} data-testid={`node-${id}`} data-frame="true">
      <NodeResizer isVisible={selected && canEdit} minWidth={160} minHeight={120}
                   onResizeEnd={(_, size) => setConfigs(id, {
                     width: Math.round(size.width), height: Math.round(size.height) })} />
      <div className="frame-title"><Label id={id} label={label} /></div>
    </div>
  );
}

const isDone = (status: string | undefined) => status === "COMPLETED" || status === "CACHED";

/** Nodes that make images, videos or sounds get the fixed-size media area. */
const makesMedia = (spec: NodeSpec) =>
  spec.outputs.some((output) => ["image", "video", "audio"].includes(output.type));

function Status({ id, status, progress, stale, children }: {
  id: string; status: NodeStatus | undefined; progress: number; stale: string | undefined;
  children?: React.ReactNode;
}) {
  return (
    <div className="node-status" data-testid={status ? "node-status" : "node-status-idle"}>
      <span className="status-label">{status ? nodeLabel(status) : "Not run yet"}</span>
      {status === "RUNNING" && <progress max={1} value={progress} aria-label={`${id} progress`} />}
      {status === "RUNNING" && <span className="muted">{Math.round(progress * 100)}%</span>}
      {stale && (
        <span className="node-stale" data-testid="node-stale" title={stale} role="img"
              aria-label={`Pinned output predates changes upstream: ${stale}`}>⚠ outdated</span>
      )}
      {children}
    </div>
  );
}

/** The node's outputs in a box of fixed size: one image, a grid of up to four (and how many
 * more), a video poster, or the error. Thumbnails, never the full file: that opens in the
 * viewer. */
function Media({ id, run, title }: { id: string; run: NodeRunState | undefined; title: string }) {
  const open = useViewer((s) => s.open);
  const output = run?.output;
  const media = outputItems(output, title);
  if (run?.error && (run.status === "FAILED" || run.status === "SKIPPED")) {
    return (
      <div className="node-media node-media-error nodrag nowheel" data-testid="node-error"
           title={run.error}>{run.error}</div>
    );
  }
  if (!media.length) {
    return (
      <div className="node-media node-media-empty" data-testid="node-media">
        {output?.text ? <pre className="node-text nodrag nowheel">{output.text}</pre>
          : <span className="muted">{run && !isDone(run.status) ? "Working…" : "No output yet"}</span>}
      </div>
    );
  }
  const shown = media.slice(0, media.length > 1 ? 4 : 1);
  if (shown.length === 1 && shown[0].kind === "audio") {
    return <SoundPreview id={id} item={shown[0]} />;
  }
  return (
    <div className={`node-media nodrag ${shown.length > 1 ? "node-grid" : ""}`}
         data-testid="node-output" data-count={media.length}>
      {shown.map((item, index) => (
        <button key={item.url} className="node-thumb" data-testid="node-thumb"
                aria-label={`Open ${item.title}`} onClick={() => open(id, index)}>
          {item.kind === "image"
            ? <RetryingImage url={item.thumb} alt={item.title} />
            : item.kind === "audio"
              ? item.thumb ? <RetryingImage url={item.thumb} alt={`${item.title} (sound)`} />
                : <span className="node-sound-mark">♪</span>
              : item.poster
                ? <RetryingImage url={item.poster} alt={item.title} />
                : <video className="node-preview" src={item.url} muted preload="metadata" />}
          {item.kind === "video" && <span className="node-play" aria-hidden>▶</span>}
          {index === shown.length - 1 && media.length > shown.length && (
            <span className="node-more">+{media.length - shown.length}</span>
          )}
        </button>
      ))}
    </div>
  );
}

/** A sound on the node: its waveform (opens the viewer) over a player, and its length. */
function SoundPreview({ id, item }: { id: string; item: MediaItem }) {
  const open = useViewer((s) => s.open);
  return (
    <div className="node-media node-sound nodrag" data-testid="node-output" data-count={1}>
      <button className="node-thumb node-waveform" data-testid="node-thumb"
              aria-label={`Open ${item.title}${item.duration ? `, ${seconds(item.duration)}` : ""}`}
              onClick={() => open(id, 0)}>
        {item.thumb ? <RetryingImage url={item.thumb} alt={`${item.title} waveform`} />
          : <span className="node-sound-mark">♪</span>}
        {item.duration ? <span className="node-more">{seconds(item.duration)}</span> : null}
      </button>
      <audio className="node-player" src={item.url} controls preload="none"
             aria-label={`Play ${item.title}`} data-testid="node-audio" />
    </div>
  );
}

/** One row of actions under the media: open, download, pin; the size of the first output. */
function Actions({ id, run, pinned, pinnable }: {
  id: string; run: NodeRunState | undefined; pinned: string | null; pinnable: boolean;
}) {
  const open = useViewer((s) => s.open);
  const media = outputItems(run?.output ?? null, id);
  const first = media[0];
  return (
    <div className="output-actions">
      {first && (
        <>
          <button className="nodrag" data-testid="open-output"
                  onClick={() => open(id, 0)}>View</button>
          <a className="nodrag" href={first.url} download={fileName(first.url)}>Download</a>
        </>
      )}
      {pinnable && <Pin id={id} pinned={pinned} offered={Boolean(first || run?.output?.text)
                                                         && isDone(run?.status)} />}
      {first?.kind === "image" && first.width ? (
        <span className="muted dims">{first.width}×{first.height}</span>) : null}
    </div>
  );
}

/** The seed the node's last run used; one click locks it into the settings, so the next run
 * reproduces that result (from the cache, for free) instead of drawing a new one. */
function Seed({ id, seed, locked }: { id: string; seed: number; locked: boolean }) {
  const setConfig = useEditor((s) => s.setConfig);
  return (
    <span className="node-seed" data-testid="node-seed">
      <span className="muted" title={`The seed this run used: ${seed}`}>seed {seed}</span>
      {locked
        ? <button className="nodrag" data-testid="unlock-seed" title="Draw a new seed each run"
                  onClick={() => setConfig(id, "seed", null)}>Unlock</button>
        : <button className="nodrag" data-testid="lock-seed"
                  title="Keep this seed: the next run reproduces this result for free"
                  onClick={() => setConfig(id, "seed", seed)}>Lock</button>}
    </span>
  );
}

/** Pin the output on the canvas (the run shown, the latest or one opened from the history):
 * later runs reuse it for free, and what only feeds this node is not run, until unpinned. */
function Pin({ id, pinned, offered }: { id: string; pinned: string | null; offered: boolean }) {
  const setPinned = useEditor((s) => s.setPinned);
  const executionId = useEditor((s) => s.executionId);
  const canEdit = useEditor((s) => s.canEdit);
  if (!canEdit) return null;
  if (pinned) {
    return (
      <button className="nodrag" data-testid="unpin-output" title="Run this node again next time"
              onClick={() => setPinned(id, null)}>Unpin</button>
    );
  }
  if (!offered || !executionId) return null;
  return (
    <button className="nodrag" data-testid="pin-output"
            title="Keep this output: later runs reuse it for free"
            onClick={() => setPinned(id, executionId)}>Pin</button>
  );
}

/** The text a node carries (a prompt, a note), to read the canvas without opening each node. */
function textOf(config: Record<string, unknown> | undefined): string {
  const value = config?.prompt ?? config?.text;
  return typeof value === "string" ? value.trim().slice(0, 140) : "";
}

/** Opens the menu of inputs this node's outputs can feed: connecting without dragging. */
function ConnectButton({ id, label }: { id: string; label: string }) {
  const open = useConnectMenu((s) => s.open);
  const canEdit = useEditor((s) => s.canEdit);
  if (!canEdit) return null;
  return (
    <button type="button" className="nodrag node-connect" data-testid="connect-open"
            aria-haspopup="dialog" aria-label={`Connect ${label} to another node (C)`}
            title="Connect this output to another node's input (C)"
            onClick={(event) => open(id, event.currentTarget)}>⤳</button>
  );
}

/** The node's label, renamed in place with a double click. */
function Label({ id, label }: { id: string; label: string }) {
  const [editing, setEditing] = useState(false);
  const setLabel = useEditor((s) => s.setLabel);
  const canEdit = useEditor((s) => s.canEdit);
  if (!editing || !canEdit) {
    return canEdit ? <span className="node-label" onDoubleClick={() => setEditing(true)}
                           title="Double-click to rename">{label}</span>
      : <span className="node-label">{label}</span>;
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

const RETRIES = 5;

/** A preview that tries again (1 s, 2 s, 4 s…) when it fails to load, e.g. while the server
 * restarts; the URL is left as it is (it may be signed), the element is remounted instead. */
function RetryingImage({ url, alt }: { url: string; alt: string }) {
  const [attempt, setAttempt] = useState(0);
  useEffect(() => setAttempt(0), [url]);
  return (
    <img key={attempt} className="node-preview" src={url} alt={alt} loading="lazy"
         onError={() => {
           if (attempt < RETRIES) window.setTimeout(() => setAttempt(attempt + 1), 1000 * 2 ** attempt);
         }} />
  );
}

export default memo(WireflowNode);
