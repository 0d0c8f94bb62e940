import { create } from "zustand";

/** A full-size view of one output (image or video), over the editor. */
interface ViewerState {
  media: { kind: "image" | "video"; url: string; title: string } | null;
  show(media: ViewerState["media"]): void;
}

export const useViewer = create<ViewerState>()((set) => ({
  media: null,
  show: (media) => set({ media }),
}));

export function fileName(url: string): string {
  return decodeURIComponent(url.split("?")[0].split("/").pop() || "output");
}

export default function Viewer() {
  const media = useViewer((s) => s.media);
  const show = useViewer((s) => s.show);
  if (!media) return null;
  return (
    <div className="viewer" role="dialog" aria-label={media.title} data-testid="viewer"
         onClick={() => show(null)}
         onKeyDown={(event) => { if (event.key === "Escape") show(null); }}>
      <div className="viewer-body" onClick={(event) => event.stopPropagation()}>
        <div className="viewer-bar">
          <span>{media.title}</span>
          <span style={{ flex: 1 }} />
          <a href={media.url} download={fileName(media.url)}>Download</a>
          <a href={media.url} target="_blank" rel="noreferrer">Open in a new tab</a>
          <button onClick={() => show(null)} autoFocus>Close</button>
        </div>
        {media.kind === "image"
          ? <img src={media.url} alt={media.title} />
          : <video src={media.url} controls autoPlay loop />}
      </div>
    </div>
  );
}
