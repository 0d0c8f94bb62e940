import { useCallback, useEffect, useState } from "react";

import { type Asset, describe, downloadZip, listAssets, setFavorite } from "../api";

const PAGE = 24;

/** Outputs with where they came from: the workflow's (in the editor) or the whole team's (the
 * gallery page). Filter by node type and favourites, mark favourites, pick some and download
 * them as one ZIP; a tile's details say the prompt, model, seed, settings, cost and who ran it,
 * and open its run. */
export default function Gallery({ workflowId, onOpenRun }: {
  workflowId?: string; onOpenRun?(executionId: string): void;
}) {
  const [assets, setAssets] = useState<Asset[]>([]);
  const [total, setTotal] = useState(0);
  const [nodeType, setNodeType] = useState("");
  const [favorites, setFavorites] = useState(false);
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [open, setOpen] = useState<Asset | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [types, setTypes] = useState<string[]>([]);

  const load = useCallback(async (offset = 0) => {
    try {
      const page = await listAssets({ workflowId, nodeType: nodeType || undefined,
                                      favorite: favorites || undefined, kind: "output",
                                      limit: PAGE, offset });
      setAssets((before) => offset ? [...before, ...page.assets] : page.assets);
      setTotal(page.total);
      setTypes((before) => [...new Set([...before, ...page.assets.map((a) => a.nodeType)
        .filter((t): t is string => Boolean(t))])].sort());
      setError(null);
    } catch (failure) {
      setError(describe(failure));
    }
  }, [workflowId, nodeType, favorites]);
  useEffect(() => { void load(0); }, [load]);

  const toggleFavorite = async (asset: Asset) => {
    try {
      const { data } = await setFavorite(asset.id, !asset.favorite);
      setAssets((list) => list.map((a) => a.id === asset.id ? data : a));
      if (open?.id === asset.id) setOpen(data);
    } catch (failure) {
      setError(describe(failure));
    }
  };
  const toggleChosen = (id: string) => setChosen((before) => {
    const next = new Set(before);
    if (next.has(id)) next.delete(id); else next.add(id);
    return next;
  });

  return (
    <div className="gallery" data-testid="gallery">
      <div className="gallery-bar">
        <label><span className="sr-only">Node type</span>
          <select value={nodeType} onChange={(e) => setNodeType(e.target.value)}
                  aria-label="Filter by node type" data-testid="gallery-type">
            <option value="">every node type</option>
            {types.map((type) => <option key={type} value={type}>{type}</option>)}
          </select>
        </label>
        <label className="check">
          <input type="checkbox" checked={favorites} data-testid="gallery-favorites"
                 onChange={(e) => setFavorites(e.target.checked)} /> favourites
        </label>
        <button disabled={!chosen.size} data-testid="gallery-zip"
                onClick={() => void downloadZip([...chosen]).catch((f) => setError(describe(f)))}>
          Download {chosen.size || ""} as ZIP
        </button>
      </div>
      {error && <p className="error" role="alert">{error}</p>}
      {!assets.length && !error && <p className="muted">No outputs yet.</p>}
      <ul className="gallery-grid">
        {assets.map((asset) => (
          <li key={asset.id} className={open?.id === asset.id ? "open" : ""}
              data-testid="gallery-item">
            <button className="gallery-thumb" onClick={() => setOpen(asset)}
                    aria-label={`Details of ${asset.prompt || asset.nodeType || "output"}`}>
              <img src={asset.thumbnails?.["256"] ?? asset.thumbnailUrl ?? asset.posterUrl
                        ?? asset.url} alt="" loading="lazy" />
            </button>
            <div className="gallery-tools">
              <input type="checkbox" checked={chosen.has(asset.id)}
                     aria-label="Choose for the ZIP" data-testid="gallery-choose"
                     onChange={() => toggleChosen(asset.id)} />
              <button aria-pressed={asset.favorite} data-testid="gallery-favorite"
                      title={asset.favorite ? "Unmark favourite" : "Mark favourite (kept by retention)"}
                      onClick={() => void toggleFavorite(asset)}>{asset.favorite ? "★" : "☆"}</button>
            </div>
          </li>
        ))}
      </ul>
      {assets.length < total && (
        <button onClick={() => void load(assets.length)}>More ({total - assets.length})</button>
      )}
      {open && (
        <dl className="gallery-details" data-testid="gallery-details">
          <dt>Prompt</dt><dd>{open.prompt || "—"}</dd>
          <dt>Model</dt><dd>{open.model ? `${open.model} v${open.modelVersion}` : open.nodeType}</dd>
          <dt>Seed</dt><dd>{open.seed ?? "—"}</dd>
          <dt>Settings</dt><dd><code>{JSON.stringify(open.settings ?? {})}</code></dd>
          <dt>Cost</dt><dd>{open.credits ?? 0} credits</dd>
          <dt>Ran by</dt><dd>{open.ranBy?.name ?? "—"} · {new Date(open.createdAt).toLocaleString()}</dd>
          <dd className="gallery-links">
            <a href={open.url} target="_blank" rel="noreferrer">Full size</a>
            {open.executionId && onOpenRun && (
              <button onClick={() => onOpenRun(open.executionId!)} data-testid="gallery-open-run">
                Open its run
              </button>)}
            {open.executionId && !onOpenRun && open.workflowId && (
              <a href={`/workflows/${open.workflowId}?run=${open.executionId}`}>Open its run</a>)}
          </dd>
        </dl>
      )}
    </div>
  );
}
