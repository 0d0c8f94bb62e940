import { memo, useEffect } from "react";

import { csrfToken } from "../api";
import { cancel, showLatest } from "../runs";
import { describeConflict, resolveMerge, touchedLabels, useMerge } from "../merge";
import { CONFLICT, save, saveAsCopy } from "../save";
import { executionLabel, isActive } from "../status";
import { selectFinishedCount, selectRunTotal, selectSelectedCount, useEditor } from "../store";
import Presence from "../team/Presence";
import TeamMenu from "../team/TeamMenu";
import { useVersionsUi } from "../team/ui";
import NewMenu from "./NewMenu";
import ShareMenu from "./ShareMenu";
import { ThemeToggle } from "./ThemeToggle";

/** Saved first, so the app is published from the graph on screen. */
async function publishAsApp(): Promise<void> {
  await save();
  window.location.assign(`/workflows/${useEditor.getState().workflowId}/publish`);
}

/** Save state, edit actions, run with its estimate, and the run-level progress. */
function Toolbar({ onRun, onLayout }: {
  onRun(targetNodeId?: string): void;
  onLayout(): void;
}) {
  const name = useEditor((s) => s.name);
  const dirty = useEditor((s) => s.dirty);
  const canUndo = useEditor((s) => s.past.length > 0);
  const canRedo = useEditor((s) => s.future.length > 0);
  const selectedCount = useEditor(selectSelectedCount);
  const selectedId = useEditor((s) => (selectSelectedCount(s) === 1
    ? s.nodes.find((n) => n.selected)?.id : undefined));
  const estimate = useEditor((s) => s.estimate?.estimatedCredits);
  const sufficient = useEditor((s) => s.estimate?.sufficient ?? true);
  const available = useEditor((s) => s.estimate?.availableCredits);
  const runStatus = useEditor((s) => s.runStatus);
  const viewingPast = useEditor((s) => s.viewingPast);
  const finished = useEditor(selectFinishedCount);
  const total = useEditor(selectRunTotal);
  const live = useEditor((s) => s.live);
  const canEdit = useEditor((s) => s.canEdit);
  const canRun = useEditor((s) => s.canRun);
  const { undo, redo, copy, paste, duplicate, deleteSelected } = useEditor.getState();
  const running = isActive(runStatus);
  return (
    <>
      <header className="toolbar">
        <a href="/" title="All workflows">← Workflows</a>
        <h1 className="name" title={name}>{name}</h1>
        <span className="muted" data-testid="save-state" data-state={dirty ? "dirty" : "saved"}>
          {dirty ? "Unsaved changes…" : "Saved"}
        </span>
        {!canEdit && <span className="badge">view only</span>}
        <span style={{ flex: 1 }} />
        <Presence />
        <NewMenu />
        <ShareMenu />
        <TeamMenu />
        {canEdit && <>
        <div className="group">
          <button onClick={undo} disabled={!canUndo} title="Undo (Ctrl+Z)">Undo</button>
          <button onClick={redo} disabled={!canRedo} title="Redo (Ctrl+Shift+Z)">Redo</button>
        </div>
        <div className="group">
          <button onClick={() => copy()} disabled={!selectedCount} title="Copy (Ctrl+C)">Copy</button>
          <button onClick={paste} title="Paste (Ctrl+V)">Paste</button>
          <button onClick={duplicate} disabled={!selectedCount} data-testid="duplicate"
                  title="Duplicate (Ctrl+D)">Duplicate</button>
          <button onClick={deleteSelected} disabled={!selectedCount} title="Delete (Del)">Delete</button>
        </div>
        <button onClick={onLayout} data-testid="auto-layout" title="Arrange left to right">
          Auto-layout
        </button>
        <button onClick={() => void save()} title="Save (Ctrl+S)">Save</button>
        <button data-testid="publish-app" onClick={() => void publishAsApp()}
                title="A form and a results gallery for clients, with its own daily credit cap">
          Publish as app
        </button>
        <button onClick={useVersionsUi.getState().askName} data-testid="toolbar-save-version"
                title="Name this graph as a version kept for good">Save version…</button>
        </>}
        {canRun && selectedId && !running && (
          <button onClick={() => onRun(selectedId)} data-testid="run-to-here"
                  title="Run this node and what it needs">Run to here</button>
        )}
        {!canRun ? null : running && !viewingPast
          ? <button className="danger" data-testid="cancel" onClick={() => void cancel()}>Cancel</button>
          : <button className={sufficient ? "primary" : "primary short"} data-testid="run"
                    onClick={() => onRun()}
                    title={sufficient ? "Run (Ctrl+Enter)"
                      : `The team has ${available} credits, not enough for this run`}>
              Run{estimate !== undefined ? ` · ${estimate} credit${estimate === 1 ? "" : "s"}` : ""}
              {!sufficient && " (not enough)"}
            </button>}
        <ThemeToggle />
        <form method="post" action="/logout/" className="logout">
          <input type="hidden" name="csrfmiddlewaretoken" value={csrfToken()} />
          <button type="submit" title="Log out">Log out</button>
        </form>
      </header>
      {/* Always there, one line high: a run starting or a message never moves the canvas. */}
      <div className="runbar" data-testid="run-status">
          {!runStatus && <span className="muted">No run yet</span>}
          {runStatus && <>
            <span className={`run-state run-${runStatus.toLowerCase()}`}>
              {viewingPast ? "past run · " : ""}{executionLabel(runStatus)}
            </span>
            <progress max={Math.max(1, total)} value={finished} data-testid="run-progress" />
            <span className="muted">{finished}/{total} nodes</span>
            {viewingPast && (
              <button onClick={() => void showLatest()} data-testid="show-latest">
                Back to the latest run
              </button>
            )}
          </>}
          {live === "reconnecting" && (
            <span className="warn" data-testid="reconnecting">Live status lost, reconnecting…</span>
          )}
          {live === "forbidden" && (
            <span className="warn" data-testid="live-forbidden">
              You can no longer watch this workflow's runs: your access in this team changed.
              Reload the page.
            </span>
          )}
          <Notice />
      </div>
    </>
  );
}

const NOTICE_MS = 8000;

/** The one message line: the save conflict stays until answered; anything else fades. */
function Notice() {
  const notice = useEditor((s) => s.notice);
  const notify = useEditor((s) => s.notify);
  useEffect(() => {
    if (!notice || notice === CONFLICT) return;
    const timer = window.setTimeout(() => {
      if (useEditor.getState().notice === notice) notify(null);
    }, NOTICE_MS);
    return () => window.clearTimeout(timer);
  }, [notice, notify]);
  if (!notice) return null;
  if (notice === CONFLICT) return <Conflict />;
  return (
    <div className="notice" role="alert" data-testid="notice">
      <span>{notice}</span> <button onClick={() => notify(null)} aria-label="Dismiss">×</button>
    </div>
  );
}

/** A teammate's save overtook ours: what they changed, and whether the two merge. Merge
 * their changes (when no field was changed by both), keep mine, take theirs (each keeps both
 * sides in Versions), or keep both as two workflows. */
function Conflict() {
  const { preview, checking, busy, error } = useMerge();
  const nodes = useEditor((s) => s.nodes);
  const labelOf = (id: string) => nodes.find((n) => n.id === id)?.data.label
    ?? preview?.nodes?.find((n) => n.id === id)?.data.label ?? id;
  const keepBoth = () => void saveAsCopy().then((id) => {
    const editor = useEditor.getState();
    editor.saved(editor.updatedAt);  // ours is safe in the copy: leave without a warning
    window.location.assign(`/workflows/${id}`);
  }, (e) => useEditor.getState().notify(`Not saved: ${e.message}`));
  const who = preview ? `${preview.theirs.author} saved v${preview.theirs.version}` : "A teammate saved";
  return (
    <div className="notice conflict" role="alert" data-testid="conflict"
         data-state={checking ? "checking" : preview ? (preview.clean ? "clean" : "conflicts")
           : "unknown"}>
      <p>{who} after you opened this workflow
        {preview?.theirsTouched.length ? ` (changed ${touchedLabels(preview.theirsTouched, labelOf)})`
          : ""}. Nothing was overwritten.{" "}
        {checking && <span className="muted">Checking whether your edits merge…</span>}
        {preview?.clean && <span data-testid="merge-clean">Your edits touch other parts of the
          graph: the two merge.</span>}
        {error && <span className="warn">{error}</span>}
      </p>
      {preview && !preview.clean && (
        <>
          <p>You both changed the same thing; choose whose to keep (the other stays in
            Versions):</p>
          <ul className="conflicts" data-testid="conflict-list">
            {preview.conflicts.map((c) => (
              <li key={`${c.nodeId}-${c.field}`}>{describeConflict(c, labelOf)}</li>
            ))}
          </ul>
        </>
      )}
      {preview?.clean && (
        <button className="primary" disabled={busy} data-testid="merge-theirs"
                onClick={() => void resolveMerge("merge")}>Merge their changes</button>
      )}{" "}
      <button disabled={busy} data-testid="keep-mine"
              onClick={() => void (useEditor.getState().base ? resolveMerge("mine")
                : save({ overwrite: true }))}>Keep mine</button>{" "}
      <button disabled={busy} data-testid="take-theirs"
              onClick={() => void (useEditor.getState().base ? resolveMerge("theirs")
                : Promise.resolve(window.location.reload()))}>Take theirs</button>{" "}
      <button disabled={busy} onClick={keepBoth}>Keep both (save mine as a copy)</button>
    </div>
  );
}

export default memo(Toolbar);
