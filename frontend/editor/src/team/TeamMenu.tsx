import { memo, useEffect, useState } from "react";

import { api } from "../api/client";
import { type TeamItem, teamMenu } from "./menu";
import "./menu.css";

/** The editor toolbar's team menu: the workflow's team and your role there, its pages (members,
 * keys, usage, this workflow's activity and version history) and your other teams. Reads the
 * team from `#editor-root[data-team-id]` and the teams from GET /api/v1/teams. */
function TeamMenu() {
  const root = document.getElementById("editor-root");
  const teamId = Number(root?.dataset.teamId ?? 0);
  const workflowId = root?.dataset.workflowId ?? "";
  const [teams, setTeams] = useState<TeamItem[]>([]);
  useEffect(() => {
    api<{ data: TeamItem[] }>("GET", "/teams").then((body) => setTeams(body.data), () => {});
  }, []);
  const menu = teamMenu(teams, teamId, workflowId);
  if (!menu) return null;
  return (
    <details className="editor-team-menu" data-testid="editor-team-menu">
      <summary>{menu.title} · <span className="muted">{menu.role}</span> ▾</summary>
      <div className="menu">
        {menu.links.map((link) => <a key={link.href} href={link.href}>{link.label}</a>)}
        {menu.others.length > 0 && <div className="label">Other teams</div>}
        {menu.others.map((link) => (
          <a key={link.href} href={link.href}><span>{link.label}</span>
            <span className="muted">{link.note}</span></a>))}
      </div>
    </details>
  );
}

export default memo(TeamMenu);
