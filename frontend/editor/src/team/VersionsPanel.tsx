import { type FormEvent, useCallback, useEffect, useRef, useState } from "react";

import { describe } from "../api";
import {
  getVersion, listVersions, nameVersion, restoreVersion, type VersionDetail, type VersionItem,
} from "../api/versions";
import { save } from "../save";
import { toWorkflowJson, useEditor } from "../store";
import type { Workflow } from "../types";
import { useVersionMarks, useVersionsUi, type VersionMark } from "./ui";
import { diffRows, reloadLimit, versionTitle, withPage } from "./versions";
import "./versions.css";

const PAGE = 30;

/** The version's nodes that differ from the current graph, for the canvas to highlight. */
function marksOf(detail: VersionDetail): Record<string, VersionMark> {
  const marks: Record<string, VersionMark> = {};
  for (const id of detail.diff.nodesRemoved) marks[id] = "removed";
  for (const change of detail.diff.nodesChanged) marks[change.nodeId] = "changed";
  return marks;
}

/** Put a version on the canvas (read-only, its differences marked), or today's graph back. */
function showOnCanvas(detail: VersionDetail | null) {
  const editor = useEditor.getState();
  if (detail) {
    editor.showPastGraph(detail.nodes, detail.edges);
    useVersionMarks.getState().setMarks(marksOf(detail));
  } else {
    editor.restoreGraph();
    useVersionMarks.getState().setMarks({});
  }
}

function when(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** The side panel's Versions tab: versions newest first (who, when, name, what changed), a
 * selected one's diff against the current graph (nodes added, removed, changed; settings
 * before → after), shown read-only on the canvas on request, named, or restored after a
 * confirmation. "Save version…" names the current graph (saved first). */
export default function VersionsPanel() {
  const workflowId = useEditor((s) => s.workflowId);
  const canEdit = useEditor((s) => s.stashed?.canEdit ?? s.canEdit);
  const updatedAt = useEditor((s) => s.updatedAt);
  const showing = useEditor((s) => s.stashed !== null);
  const naming = useVersionsUi((s) => s.naming);
  const [items, setItems] = useState<VersionItem[] | null>(null);
  const [total, setTotal] = useState(0);
  const [selected, setSelected] = useState<VersionDetail | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [asking, setAsking] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const nameRef = useRef<HTMLInputElement>(null);

  const [more, setMore] = useState(false);
  const shownCount = useRef(0);
  shownCount.current = items?.length ?? 0;

  // Read again after a save: the first pages, as many as were shown.
  const refresh = useCallback(async () => {
    if (!workflowId) return;
    try {
      const page = await listVersions(workflowId, reloadLimit(shownCount.current, PAGE));
      setItems(page.data);
      setTotal(page.total);
    } catch (e) {
      setError(describe(e));
    }
  }, [workflowId]);

  const loadMore = async () => {
    if (!items) return;
    setMore(true);
    try {
      const page = await listVersions(workflowId, PAGE, items.length);
      setItems((shown) => withPage(shown ?? [], page.data));
      setTotal(page.total);
    } catch (e) {
      setError(describe(e));
    } finally {
      setMore(false);
    }
  };
  useEffect(() => { void refresh(); }, [refresh, updatedAt]);
  useEffect(() => { if (naming && canEdit) setAsking(true); }, [naming, canEdit]);
  useEffect(() => { if (asking) nameRef.current?.focus(); }, [asking]);
  // Leaving the tab puts today's graph back on the canvas.
  useEffect(() => () => showOnCanvas(null), []);

  const open = async (number: number) => {
    setConfirming(false);
    try {
      const detail = (await getVersion(workflowId, number)).data;
      setSelected(detail);
      if (useEditor.getState().stashed) showOnCanvas(detail);
    } catch (e) {
      setError(describe(e));
    }
  };

  const saveNamed = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const label = new FormData(event.currentTarget).get("label")?.toString().trim() ?? "";
    if (!label) return;
    setBusy(true);
    try {
      showOnCanvas(null);
      // The current graph becomes a version first; then it is named.
      if (useEditor.getState().dirty && !(await save())) throw new Error("the graph did not save");
      const latest = (await listVersions(workflowId, 1)).data[0];
      await nameVersion(workflowId, latest.number, label);
      setAsking(false);
      useEditor.getState().notify(`Saved as ${versionTitle(latest.number, label)}`);
      await refresh();
    } catch (e) {
      setError(`Not named: ${describe(e)}`);
    } finally {
      setBusy(false);
    }
  };

  const rename = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    if (!selected) return;
    const label = new FormData(event.currentTarget).get("label")?.toString() ?? "";
    try {
      const detail = (await nameVersion(workflowId, selected.number, label)).data;
      setSelected({ ...selected, label: detail.label });
      await refresh();
    } catch (e) {
      setError(`Not named: ${describe(e)}`);
    }
  };

  const restore = async () => {
    if (!selected) return;
    setBusy(true);
    try {
      showOnCanvas(null);
      // What is on the canvas now is saved first, so restoring loses nothing.
      if (useEditor.getState().dirty && !(await save())) throw new Error("the graph did not save");
      // A save of ours on the wire: its echo over the socket waits until it is loaded
      // (teammate.ts).
      useEditor.getState().setSaving(true);
      let restored: Workflow & { version?: number };
      try {
        restored = (await restoreVersion(workflowId, selected.number)).data;
        useEditor.getState().load(restored);
      } finally {
        useEditor.getState().setSaving(false);
      }
      useEditor.getState().notify(`Version ${selected.number} restored as version `
                                  + `${restored.version ?? ""}`.trim());
      setConfirming(false);
      setSelected(null);
      await refresh();
    } catch (e) {
      setError(`Not restored: ${describe(e)}`);
    } finally {
      setBusy(false);
    }
  };

  const toggleCanvas = () => showOnCanvas(showing ? null : selected);

  const current = useEditor((s) => s.stashed?.nodes ?? s.nodes);
  const rows = selected ? diffRows(selected, toWorkflowJson(current, []).nodes) : [];
  const edgeChanges = selected
    ? selected.diff.edgesAdded.length + selected.diff.edgesRemoved.length : 0;

  return (
    <div className="versions" data-testid="versions-panel">
      {error && <p className="error" role="alert">{error}{" "}
        <button onClick={() => setError(null)} aria-label="Dismiss">×</button></p>}
      {canEdit && !asking && (
        <button onClick={() => setAsking(true)} data-testid="save-version">Save version…</button>
      )}
      {asking && (
        <form className="version-name" onSubmit={(e) => void saveNamed(e)}
              data-testid="save-version-form">
          <label htmlFor="version-label">Name this version</label>
          <input id="version-label" name="label" ref={nameRef} maxLength={120} required
                 placeholder="e.g. Client approved" />
          <button type="submit" className="primary" disabled={busy}>Save version</button>
          <button type="button" onClick={() => setAsking(false)}>Cancel</button>
        </form>
      )}
      {items === null ? <p className="muted">Loading…</p> : (
        <>
          <p className="muted">{total} version{total === 1 ? "" : "s"}; autosaves are kept as
            one version per editing burst, named ones for good.</p>
          <ul aria-label="Versions">
            {items.map((item, index) => (
              <li key={item.number}>
                <button className={`version-item ${selected?.number === item.number ? "current" : ""}`}
                        aria-pressed={selected?.number === item.number}
                        data-testid="version-item" data-number={item.number}
                        onClick={() => void open(item.number)}>
                  <span className="version-title">
                    {versionTitle(item.number, item.label)}
                    {index === 0 && <span className="badge">current</span>}
                  </span>
                  <span className="muted">{item.author} · {when(item.createdAt)}
                    {item.versions > 1 ? ` · ${item.versions} saves` : ""}</span>
                  <span className="version-summary">{item.summary}</span>
                </button>
              </li>
            ))}
          </ul>
          {items.length < total && (
            <button onClick={() => void loadMore()} disabled={more} data-testid="versions-more">
              {more ? "Loading…" : `Load more (${total - items.length} older)`}
            </button>
          )}
        </>
      )}
      {selected && (
        <section className="version-diff" aria-label={`Version ${selected.number}`}
                 data-testid="version-diff">
          <h2>{versionTitle(selected.number, selected.label)}</h2>
          <p className="muted">{selected.author} · {when(selected.createdAt)}
            {selected.note ? ` · ${selected.note}` : ""}</p>
          {selected.current ? <p>This is the current version.</p> : (
            <>
              <p>From this version to the current graph:</p>
              {!rows.length && !edgeChanges && <p className="muted">No difference.</p>}
              <ul className="diff-rows">
                {rows.map((row) => (
                  <li key={`${row.state}-${row.nodeId}`} className={`diff-${row.state}`}
                      data-testid="diff-row" data-node={row.nodeId} data-state={row.state}>
                    <strong>{row.label}</strong> <span className="muted">{row.nodeType}</span>{" "}
                    <span className="diff-tag">{row.state === "added" ? "added since"
                      : row.state === "removed" ? "not in the current graph" : "changed"}</span>
                    {row.fields.length > 0 && <span className="muted"> ({row.fields.join(", ")})</span>}
                    {row.settings.map((s) => (
                      <div key={s.key} className="diff-setting">
                        <code>{s.key}</code>: <span className="before">{s.before}</span>
                        {" → "}<span className="after">{s.after}</span>
                      </div>
                    ))}
                  </li>
                ))}
              </ul>
              {edgeChanges > 0 && <p className="muted">{selected.diff.edgesAdded.length}
                {" "}connection(s) added since, {selected.diff.edgesRemoved.length} removed.</p>}
            </>
          )}
          <div className="version-actions">
            <button onClick={toggleCanvas} aria-pressed={showing} data-testid="show-version">
              {showing ? "Back to the current graph" : "Show on the canvas"}
            </button>
            {canEdit && !selected.current && !confirming && (
              <button onClick={() => setConfirming(true)} data-testid="restore-version">
                Restore…
              </button>
            )}
          </div>
          {showing && <p className="muted" data-testid="version-legend">On the canvas: nodes
            changed since are outlined, nodes no longer in the current graph dashed.</p>}
          {confirming && (
            <div role="group" aria-label="Confirm restore" className="confirm"
                 data-testid="restore-confirm">
              <p>Make {versionTitle(selected.number, selected.label)} the current graph? The
                current graph stays in the history; nothing is lost.</p>
              <button className="primary" autoFocus disabled={busy}
                      onClick={() => void restore()} data-testid="restore-confirmed">
                Restore v{selected.number}
              </button>{" "}
              <button onClick={() => setConfirming(false)}>Cancel</button>
            </div>
          )}
          {canEdit && (
            <form className="version-name" onSubmit={(e) => void rename(e)}
                  key={`name-${selected.number}`}>
              <label htmlFor="version-rename">Name</label>
              <input id="version-rename" name="label" defaultValue={selected.label}
                     maxLength={120} placeholder="Unnamed" />
              <button type="submit">Save name</button>
            </form>
          )}
        </section>
      )}
    </div>
  );
}
