import { useEffect, useState } from "react";

import { useBatch } from "../batch";
import { openPast } from "../runs";
import { useEditor } from "../store";

import ActivityPanel from "../team/ActivityPanel";
import { useVersionsUi } from "../team/ui";
import VersionsPanel from "../team/VersionsPanel";
import ApiPanel from "./ApiPanel";
import BatchPanel from "./BatchPanel";
import Gallery from "./Gallery";
import HistoryPanel from "./HistoryPanel";
import Inspector from "./Inspector";

const TABS = ["Inspector", "History", "Versions", "Activity", "Gallery", "Batch", "API"] as const;
type Tab = typeof TABS[number];

/** The right-hand column: the selected node's settings, past runs, and the API snippets. */
export default function SidePanel({ onRunTo }: { onRunTo(nodeId: string): void }) {
  const [tab, setTab] = useState<Tab>("Inspector");
  const workflowId = useEditor((s) => s.workflowId);
  // A batch just started: show its grid.
  const batchId = useBatch((s) => s.batchId);
  useEffect(() => { if (batchId) setTab("Batch"); }, [batchId]);
  // The toolbar's "Save version…": the Versions tab, with its naming form.
  const naming = useVersionsUi((s) => s.naming);
  useEffect(() => { if (naming) setTab("Versions"); }, [naming]);
  return (
    <aside className="side" aria-label="Node settings, history and API">
      <div className="tabs" role="tablist">
        {TABS.map((name) => (
          <button key={name} role="tab" aria-selected={tab === name}
                  className={tab === name ? "active" : ""} data-testid={`tab-${name.toLowerCase()}`}
                  onClick={() => setTab(name)}>{name}</button>
        ))}
      </div>
      <div className="side-body" role="tabpanel" aria-label={tab}>
        {tab === "Inspector" && <Inspector onRunTo={onRunTo} />}
        {tab === "History" && <HistoryPanel />}
        {tab === "Versions" && <VersionsPanel />}
        {tab === "Activity" && <ActivityPanel />}
        {tab === "Gallery" && <Gallery workflowId={workflowId}
                                       onOpenRun={(id) => void openPast(id)} />}
        {tab === "Batch" && <BatchPanel />}
        {tab === "API" && <ApiPanel />}
      </div>
    </aside>
  );
}
