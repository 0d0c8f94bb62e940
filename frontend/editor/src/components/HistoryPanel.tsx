import { useEffect, useState } from "react";

import { history } from "../api";
import { openPast } from "../runs";
import { executionLabel, isFinished } from "../status";
import { useEditor } from "../store";
import type { HistoryItem } from "../types";

const PAGE = 20;

function duration(seconds: number | null): string {
  if (seconds === null) return "—";
  return seconds < 60 ? `${seconds.toFixed(1)} s` : `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

function when(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** The workflow's past runs; opening one puts its states and outputs on the canvas. */
export default function HistoryPanel() {
  const workflowId = useEditor((s) => s.workflowId);
  const executionId = useEditor((s) => s.executionId);
  const runStatus = useEditor((s) => s.runStatus);
  const [items, setItems] = useState<HistoryItem[] | null>(null);
  const [total, setTotal] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [more, setMore] = useState(false);
  const settled = isFinished(runStatus);

  useEffect(() => {
    if (!workflowId) return;
    let current = true;
    history(workflowId, PAGE)
      .then((page) => { if (current) { setItems(page.executions); setTotal(page.total); } })
      .catch((e) => { if (current) setError(e.message); });
    return () => { current = false; };
  }, [workflowId, executionId, settled]);

  const loadMore = async () => {
    if (!items) return;
    setMore(true);
    try {
      const page = await history(workflowId, PAGE, items.length);
      const known = new Set(items.map((item) => item.executionId));
      setItems([...items, ...page.executions.filter((item) => !known.has(item.executionId))]);
      setTotal(page.total);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setMore(false);
    }
  };

  const open = async (id: string) => {
    try {
      await openPast(id);
    } catch (e) {
      setError((e as Error).message);
    }
  };

  if (error) return <p className="error">Could not read the history: {error}</p>;
  if (items === null) return <p className="muted">Loading…</p>;
  if (!items.length) return <p className="muted">No runs yet. Press Run (Ctrl+Enter).</p>;
  return (
    <div className="history" data-testid="history">
      <p className="muted">{total} run{total === 1 ? "" : "s"}; open one to see its outputs on the canvas.</p>
      <ul>
        {items.map((item) => (
          <li key={item.executionId}>
            <button className={`history-item ${item.executionId === executionId ? "current" : ""}`}
                    data-testid="history-item" onClick={() => void open(item.executionId)}>
              {item.thumbnailUrl
                ? <img src={item.thumbnailUrl} alt="" loading="lazy" />
                : <span className="thumb-empty" />}
              <span className="history-text">
                <span className={`run-state run-${item.status.toLowerCase()}`}>
                  {executionLabel(item.status)}
                </span>
                <span className="muted">{when(item.createdAt)}</span>
                <span>{duration(item.durationSeconds)} · {item.credits.charged} credits · {item.app ? `app ${item.app.name}` : item.trigger}</span>
                {item.error && <span className="error" title={item.error}>{item.error}</span>}
              </span>
            </button>
          </li>
        ))}
      </ul>
      {items.length < total && (
        <button onClick={() => void loadMore()} disabled={more}>
          {more ? "Loading…" : `Older runs (${total - items.length} more)`}
        </button>
      )}
    </div>
  );
}
