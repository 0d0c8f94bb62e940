import { useEffect, useState } from "react";

import { describe } from "../api";
import { type ActivityItem, workflowActivity } from "../api/versions";
import { useEditor } from "../store";

const PAGE = 30;

function when(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** The side panel's Activity tab: who ran, edited, shared, named and restored this workflow
 * (the team's activity log, filtered to it), newest first. */
export default function ActivityPanel() {
  const workflowId = useEditor((s) => s.workflowId);
  const updatedAt = useEditor((s) => s.updatedAt);
  const executionId = useEditor((s) => s.executionId);
  const teamId = Number(document.getElementById("editor-root")?.dataset.teamId ?? 0);
  const [items, setItems] = useState<ActivityItem[] | null>(null);
  const [total, setTotal] = useState(0);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!workflowId || !teamId) return;
    let current = true;
    workflowActivity(teamId, workflowId, PAGE)
      .then((page) => { if (current) { setItems(page.data); setTotal(page.meta.total); } })
      .catch((e) => { if (current) setError(describe(e)); });
    return () => { current = false; };
  }, [teamId, workflowId, updatedAt, executionId]);

  const more = async () => {
    if (!items) return;
    try {
      const page = await workflowActivity(teamId, workflowId, PAGE, items.length);
      const known = new Set(items.map((item) => item.id));
      setItems([...items, ...page.data.filter((item) => !known.has(item.id))]);
    } catch (e) {
      setError(describe(e));
    }
  };

  if (error) return <p className="error">Could not read the activity: {error}</p>;
  if (items === null) return <p className="muted">Loading…</p>;
  if (!items.length) return <p className="muted">Nothing has happened to this workflow yet.</p>;
  return (
    <div className="activity" data-testid="activity-panel">
      <ul aria-label="Activity of this workflow" className="activity-list">
        {items.map((item) => (
          <li key={item.id} data-testid="activity-item" data-kind={item.kind}>
            <span>{item.summary}</span>
            <span className="muted"> · {when(item.at)}</span>
          </li>
        ))}
      </ul>
      {items.length < total && <button onClick={() => void more()}>More</button>}
      <p><a href={`/team/activity?team=${teamId}&workflow=${encodeURIComponent(workflowId)}`}>
        The team's whole log</a></p>
    </div>
  );
}
