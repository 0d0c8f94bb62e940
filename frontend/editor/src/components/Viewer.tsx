import { useEffect, useMemo, useRef, useState } from "react";
import { create } from "zustand";

import { useEditor } from "../store";
import type { NodeOutput, NodeRunState } from "../types";

/** One output of a run, as the viewer and the node previews show it. */
export interface MediaItem {
  kind: "image" | "video" | "audio";
  url: string;
  /** What a preview loads: the thumbnail where there is one, else the file itself. */
  thumb: string;
  poster: string | null;
  width?: number;
  height?: number;
  /** Seconds, for a video or a sound. */
  duration?: number | null;
  title: string;
  nodeId?: string;
}

export function outputItems(output: NodeOutput | null | undefined, title: string,
                            nodeId?: string): MediaItem[] {
  if (!output) return [];
  const audios = output.audios ?? [];
  const many = output.images.length + output.videos.length + audios.length > 1;
  const images = output.images.map((image, index): MediaItem => ({
    kind: "image", url: image.url, thumb: image.thumbnailUrl || image.url, poster: null,
    width: image.width, height: image.height, nodeId,
    title: many ? `${title} (${index + 1})` : title,
  }));
  const videos = output.videos.map((video, index): MediaItem => ({
    kind: "video", url: video.url, thumb: video.posterUrl || video.url,
    poster: video.posterUrl || null, nodeId, duration: video.duration,
    title: many ? `${title} (${output.images.length + index + 1})` : title,
  }));
  const before = output.images.length + output.videos.length;
  const sounds = audios.map((sound, index): MediaItem => ({
    kind: "audio", url: sound.url, thumb: sound.waveformUrl || "", poster: null, nodeId,
    duration: sound.duration, title: many ? `${title} (${before + index + 1})` : title,
  }));
  return [...images, ...videos, ...sounds];
}

/** Every output of the run on the canvas, node by node in canvas order. */
export function runItems(nodes: { id: string; data: { label?: string } }[],
                         runs: Record<string, NodeRunState>): MediaItem[] {
  return nodes.flatMap((node) => outputItems(runs[node.id]?.output, node.data.label || node.id,
                                             node.id));
}

interface ViewerState {
  /** The node and the index among its outputs the viewer opened on; null: closed. */
  at: { nodeId: string; index: number } | null;
  open(nodeId: string, index?: number): void;
  close(): void;
}

export const useViewer = create<ViewerState>()((set) => ({
  at: null,
  open: (nodeId, index = 0) => set({ at: { nodeId, index } }),
  close: () => set({ at: null }),
}));

export function fileName(url: string): string {
  return decodeURIComponent(url.split("?")[0].split("/").pop() || "output");
}

const absolute = (url: string) => new URL(url, window.location.href).toString();

type Compare = "side" | "swipe";

/** The run's outputs full size: previous / next across every node's outputs (arrow keys),
 * A/B compare of two of them side by side or with a swipe, download, copy the URL, and "use
 * as input" (an Image Input wired into a chosen node). A modal dialog: focus stays inside,
 * Esc closes it and gives focus back to what opened it. */
export default function Viewer() {
  const at = useViewer((s) => s.at);
  return at ? <ViewerDialog start={at} /> : null;
}

function ViewerDialog({ start }: { start: { nodeId: string; index: number } }) {
  const close = useViewer((s) => s.close);
  const nodes = useEditor((s) => s.nodes);
  const runs = useEditor((s) => s.runs);
  const items = useMemo(() => runItems(nodes, runs), [nodes, runs]);
  const first = Math.max(0, items.findIndex((item) => item.nodeId === start.nodeId)) + start.index;
  const [index, setIndex] = useState(Math.min(first, Math.max(0, items.length - 1)));
  const [other, setOther] = useState<number | null>(null);
  const [mode, setMode] = useState<Compare>("side");
  const [swipe, setSwipe] = useState(50);
  const [copied, setCopied] = useState(false);
  const dialog = useRef<HTMLDivElement>(null);
  const opener = useRef<Element | null>(document.activeElement);

  useEffect(() => {
    dialog.current?.querySelector<HTMLElement>("[data-autofocus]")?.focus();
    const back = opener.current;
    return () => { if (back instanceof HTMLElement) back.focus(); };
  }, []);

  const item = items[index];
  if (!item) return null;
  const compared = other !== null ? items[other] : undefined;
  const go = (step: number) => {
    setIndex((index + step + items.length) % items.length);
    setCopied(false);
  };

  const onKeyDown = (event: React.KeyboardEvent) => {
    if (event.key === "Escape") { event.stopPropagation(); close(); return; }
    if (event.key === "ArrowRight" && !isField(event.target)) { go(1); return; }
    if (event.key === "ArrowLeft" && !isField(event.target)) { go(-1); return; }
    if (event.key === "Tab") trapFocus(event, dialog.current);
  };

  return (
    <div className="viewer" onClick={close}>
      <div className="viewer-body" role="dialog" aria-modal="true" aria-label={item.title}
           data-testid="viewer" ref={dialog} onKeyDown={onKeyDown}
           onClick={(event) => event.stopPropagation()}>
        <div className="viewer-bar">
          <h2 className="viewer-title">{compared ? `${compared.title} ↔ ${item.title}` : item.title}</h2>
          <span className="muted" data-testid="viewer-position">{index + 1} / {items.length}</span>
          <span style={{ flex: 1 }} />
          <button onClick={() => go(-1)} disabled={items.length < 2} data-testid="viewer-previous"
                  aria-label="Previous output">‹ Previous</button>
          <button onClick={() => go(1)} disabled={items.length < 2} data-testid="viewer-next"
                  aria-label="Next output">Next ›</button>
          {compared
            ? <>
                <button data-testid="compare-side" aria-pressed={mode === "side"}
                        onClick={() => setMode("side")}>Side by side</button>
                <button data-testid="compare-swipe" aria-pressed={mode === "swipe"}
                        onClick={() => setMode("swipe")}>Swipe</button>
                <button data-testid="compare-stop" onClick={() => setOther(null)}>End compare</button>
              </>
            : <button data-testid="compare" disabled={items.length < 2}
                      title="Keep this one as A, then go to another to compare"
                      onClick={() => { setOther(index); go(1); }}>Compare</button>}
        </div>
        <div className="viewer-stage">
          {compared && mode === "side" && (
            <div className="viewer-side" data-testid="compare-view">
              <figure><Media item={compared} /><figcaption>A · {compared.title}</figcaption></figure>
              <figure><Media item={item} /><figcaption>B · {item.title}</figcaption></figure>
            </div>
          )}
          {compared && mode === "swipe" && (
            <div className="viewer-swipe" data-testid="swipe-view">
              <div className="swipe-frame">
                <Media item={compared} />
                <div className="swipe-top" style={{ clipPath: `inset(0 0 0 ${swipe}%)` }}>
                  <Media item={item} />
                </div>
                <div className="swipe-line" style={{ left: `${swipe}%` }} aria-hidden />
              </div>
              <input type="range" min={0} max={100} value={swipe} data-testid="swipe"
                     aria-label="Swipe between A and B"
                     onChange={(event) => setSwipe(Number(event.target.value))} />
            </div>
          )}
          {!compared && <Media item={item} full />}
        </div>
        <div className="viewer-bar viewer-actions">
          <a href={item.url} download={fileName(item.url)}>Download</a>
          <a href={item.url} target="_blank" rel="noreferrer">Open in a new tab</a>
          <button data-testid="copy-url" onClick={async () => {
            await navigator.clipboard?.writeText(absolute(item.url)).catch(() => undefined);
            setCopied(true);
          }}>{copied ? "Copied" : "Copy URL"}</button>
          {item.kind === "image" && <UseAsInput url={item.url} from={item.nodeId} />}
          <span style={{ flex: 1 }} />
          <button onClick={close} data-autofocus data-testid="viewer-close">Close</button>
        </div>
      </div>
    </div>
  );
}

function Media({ item, full }: { item: MediaItem; full?: boolean }) {
  if (item.kind === "audio") return <Sound item={item} full={full} />;
  return item.kind === "image"
    ? <img src={item.url} alt={item.title} className={full ? "viewer-full" : ""} />
    : <video src={item.url} controls autoPlay={full} loop poster={item.poster ?? undefined}
             aria-label={item.title} data-testid="viewer-video" />;
}

/** A sound: its waveform with the part played so far lit, and a player under it. */
function Sound({ item, full }: { item: MediaItem; full?: boolean }) {
  const [played, setPlayed] = useState(0);
  return (
    <figure className="viewer-audio" data-testid="viewer-audio">
      {item.thumb && (
        <div className="waveform" style={{ ["--played" as string]: `${played * 100}%` }}>
          <img src={item.thumb} alt="" />
          <img src={item.thumb} alt="" className="waveform-played" aria-hidden />
        </div>
      )}
      <audio src={item.url} controls autoPlay={full} aria-label={item.title}
             onTimeUpdate={(event) => {
               const player = event.currentTarget;
               setPlayed(player.duration ? player.currentTime / player.duration : 0);
             }} />
      {item.duration ? <figcaption className="muted">{seconds(item.duration)}</figcaption> : null}
    </figure>
  );
}

/** 83.4 → "1:23". */
export function seconds(value: number): string {
  const whole = Math.round(value);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
}

/** "Use as input of…": the nodes that take an image, by label. */
function UseAsInput({ url, from }: { url: string; from?: string }) {
  const nodes = useEditor((s) => s.nodes);
  const catalog = useEditor((s) => s.catalog);
  const canEdit = useEditor((s) => s.canEdit);
  const useAs = useEditor((s) => s.useAsInput);
  const close = useViewer((s) => s.close);
  if (!canEdit) return null;
  const targets = nodes.flatMap((node) => (catalog.get(node.data.nodeType)?.inputs ?? [])
    .filter((input) => input.isPort && input.type === "image" && node.id !== from)
    .map((input) => ({ node, input })));
  if (!targets.length) return null;
  return (
    <label className="use-as-input">
      <span>Use as input of</span>
      <select data-testid="use-as-input" defaultValue=""
              onChange={(event) => {
                const [nodeId, port] = event.target.value.split("\u0001");
                if (nodeId && useAs(url, nodeId, port)) close();
              }}>
        <option value="" disabled>choose a node…</option>
        {targets.map(({ node, input }) => (
          <option key={`${node.id}/${input.id}`} value={`${node.id}\u0001${input.id}`}>
            {(node.data.label || node.id)} · {input.label}
          </option>
        ))}
      </select>
    </label>
  );
}

const isField = (target: EventTarget) =>
  target instanceof HTMLInputElement || target instanceof HTMLSelectElement;

function trapFocus(event: React.KeyboardEvent, root: HTMLElement | null) {
  if (!root) return;
  const focusable = Array.from(root.querySelectorAll<HTMLElement>(
    "a[href], button:not([disabled]), input, select, video[controls], audio[controls], "
    + "[tabindex]:not([tabindex='-1'])"));
  if (!focusable.length) return;
  const [firstEl, lastEl] = [focusable[0], focusable[focusable.length - 1]];
  if (event.shiftKey && document.activeElement === firstEl) {
    event.preventDefault();
    lastEl.focus();
  } else if (!event.shiftKey && document.activeElement === lastEl) {
    event.preventDefault();
    firstEl.focus();
  }
}
