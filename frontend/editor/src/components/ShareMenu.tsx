import { useState } from "react";

import { describe, setVisibility, type LinkPermission } from "../api";
import { useEditor } from "../store";

/** The state the page was served with (the editor root's data attributes). */
function served(): { permission: LinkPermission; url: string } {
  const root = document.getElementById("editor-root");
  return {
    permission: root?.dataset.linkPermission === "view" ? "view" : "private",
    url: root?.dataset.shareUrl ?? "",
  };
}

/** "Share": private, or a read-only page for anyone with the link (editors choose). */
export default function ShareMenu() {
  const workflowId = useEditor((s) => s.workflowId);
  const canEdit = useEditor((s) => s.canEdit);
  const notify = useEditor((s) => s.notify);
  const [state, setState] = useState(served);
  const [busy, setBusy] = useState(false);
  const choose = (permission: LinkPermission) => {
    if (permission === state.permission || busy) return;
    const before = state;
    setBusy(true);
    setState({ ...state, permission });  // shown at once; put back if the server refuses
    setVisibility(workflowId, permission).then(
      (answer) => {
        setState({ permission: answer.linkPermission, url: answer.url });
        notify(answer.linkPermission === "view"
          ? "Anyone with the link can now view this workflow and its latest outputs"
          : "Sharing is off: the link no longer opens this workflow");
      },
      (error) => {
        setState(before);
        notify(`Sharing not changed: ${describe(error)}`);
      },
    ).finally(() => setBusy(false));
  };
  const shared = state.permission === "view";
  return (
    <details className="editor-team-menu" data-testid="share-menu">
      <summary>{shared ? "Shared ▾" : "Share ▾"}</summary>
      <div className="menu share-menu">
        <fieldset disabled={!canEdit || busy}>
          <legend>Who can open this workflow</legend>
          <label>
            <input type="radio" name="link-permission" value="private" checked={!shared}
                   data-testid="share-private" onChange={() => choose("private")} />
            Private: this team only
          </label>
          <label>
            <input type="radio" name="link-permission" value="view" checked={shared}
                   data-testid="share-view" onChange={() => choose("view")} />
            Anyone with the link can view
          </label>
        </fieldset>
        {/* the link only once the server has said it is shared: never one to copy while
            the change is in flight (or about to be refused) */}
        {shared && !busy && state.url && (
          <p className="share-link">
            <a href={state.url} target="_blank" rel="noopener" data-testid="share-url">{state.url}</a>
            {" "}
            <button type="button" onClick={() => void navigator.clipboard?.writeText(state.url)
              .then(() => notify("Link copied"), () => notify(state.url))}>Copy link</button>
          </p>
        )}
        {!canEdit && <p className="muted">Only editors can change this.</p>}
        <p className="muted">The page shows the graph, its description and latest outputs;
          settings that look like keys or secrets are never shown.</p>
      </div>
    </details>
  );
}
