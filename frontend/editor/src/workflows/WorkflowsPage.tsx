import { useCallback, useMemo, useState } from "react";

import {
  createWorkflow, deleteWorkflow, duplicateWorkflow, listWorkflows, renameWorkflow,
  saveAsTemplate, type WorkflowItem,
} from "../api";
import { matches, readTeam, rememberTeam, type Team, teamForCreate } from "./teams";

type Item = WorkflowItem & { teamId: number };

export interface PageData {
  user: string;
  teams: Team[];
  workflows: Item[];
}

function when(iso: string | null): string {
  if (!iso) return "never";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** The workflows of the user's teams: search, create, rename, duplicate, delete; a team
 * switcher narrows the list and picks where new workflows go. */
export default function WorkflowsPage({ initial }: { initial: PageData }) {
  const { teams } = initial;
  const [items, setItems] = useState<Item[]>(initial.workflows);
  const [teamId, setTeamId] = useState(() => readTeam(teams));
  const [query, setQuery] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [renaming, setRenaming] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const team = teams.find((t) => t.id === teamId);
  const createIn = teamForCreate(teams, teamId);
  const teamsById = useMemo(() => new Map(teams.map((t) => [t.id, t])), [teams]);

  const shown = useMemo(() => items.filter((item) => (!teamId || item.teamId === teamId)
                                            && matches(item.name, item.description, query)),
                        [items, teamId, query]);

  const refresh = useCallback(async () => {
    const { workflows } = await listWorkflows();
    setItems(workflows as Item[]);
  }, []);

  const act = async (action: () => Promise<unknown>) => {
    setError(null);
    try {
      await action();
      await refresh();
    } catch (e) {
      setError((e as Error).message);
    }
  };

  const saveTemplate = async (item: Item) => {
    const name = window.prompt("Name of the template (its cover is the workflow's last output)",
                               item.name);
    if (!name?.trim()) return;
    setError(null);
    setNotice(null);
    try {
      const saved = await saveAsTemplate(item.id, { name: name.trim() });
      setNotice(`Saved the template “${saved.data.name}”.`);
    } catch (e) {
      setError((e as Error).message);
    }
  };

  const switchTeam = (id: number) => {
    setTeamId(id);
    rememberTeam(id);
  };

  const create = async () => {
    if (!createIn) return;
    const name = window.prompt(`Name of the new workflow in ${createIn.name}`, "Untitled workflow");
    if (!name?.trim()) return;
    setError(null);
    try {
      const created = await createWorkflow(name.trim(), createIn.id);
      window.location.assign(`/workflows/${created.data.id}`);
    } catch (e) {
      setError((e as Error).message);
    }
  };

  return (
    <div className="workflows">
      <div className="wf-head">
        <h1>Workflows</h1>
        <label className="team-switcher">Team{" "}
          <select value={teamId} data-testid="team-switcher"
                  onChange={(e) => switchTeam(Number(e.target.value))}>
            {teams.length > 1 && <option value={0}>All teams</option>}
            {teams.map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}
          </select>
        </label>
        {team && (
          <span className="muted" data-testid="team-info">
            {team.plan} plan · {team.credits} credits · you are {team.role}
          </span>
        )}
        <span style={{ flex: 1 }} />
        <button className="primary" data-testid="create-workflow" disabled={!createIn}
                title={createIn ? `Create in ${createIn.name}` : "Viewers cannot create workflows"}
                onClick={() => void create()}>New workflow</button>
        <a className="button" href="/templates" data-testid="from-template">From a template</a>
      </div>
      <input className="search" type="search" placeholder="Search workflows…" value={query}
             aria-label="Search workflows" data-testid="search-workflows"
             onChange={(e) => setQuery(e.target.value)} />
      {error && <p className="error" role="alert">{error}</p>}
      {notice && <p role="status" data-testid="notice">{notice}{" "}
        <a href="/templates">Open Templates</a></p>}
      {!teams.length && <p className="muted">You are not in any team yet; ask an admin to add you.</p>}
      <table>
        <thead>
          <tr><th>Name</th>{teams.length > 1 && !teamId && <th>Team</th>}<th>Runs</th>
            <th>Last run</th><th>Updated</th><th /></tr>
        </thead>
        <tbody>
          {shown.map((item) => {
            const canEdit = teamsById.get(item.teamId)?.canEdit ?? false;
            return (
              <tr key={item.id} data-testid="workflow-row" data-name={item.name}>
                <td>
                  {renaming === item.id ? (
                    <input autoFocus defaultValue={item.name} aria-label="New name" maxLength={200}
                           data-testid="rename-input"
                           onKeyDown={(e) => {
                             if (e.key === "Escape") setRenaming(null);
                             if (e.key === "Enter") (e.target as HTMLInputElement).blur();
                           }}
                           onBlur={(e) => {
                             const name = e.target.value.trim();
                             setRenaming(null);
                             if (name && name !== item.name) {
                               void act(() => renameWorkflow(item.id, name));
                             }
                           }} />
                  ) : (
                    <a href={`/workflows/${item.id}`}>{item.name}</a>
                  )}
                  {item.description && <div className="muted small">{item.description}</div>}
                </td>
                {teams.length > 1 && !teamId && <td>{teamsById.get(item.teamId)?.name ?? ""}</td>}
                <td>{item.executionCount}</td>
                <td>{when(item.lastExecutedAt)}</td>
                <td>{when(item.updatedAt)}</td>
                <td><div className="actions">
                  {canEdit && <>
                    <button onClick={() => setRenaming(item.id)} data-testid="rename">Rename</button>
                    <button data-testid="duplicate"
                            onClick={() => void act(() => duplicateWorkflow(item.id,
                                                                            `${item.name} (copy)`))}>
                      Duplicate
                    </button>
                    <button data-testid="save-template" onClick={() => void saveTemplate(item)}>
                      Save as template
                    </button>
                    <button className="danger" data-testid="delete" onClick={() => {
                      if (window.confirm(`Delete “${item.name}”?`)) {
                        void act(() => deleteWorkflow(item.id));
                      }
                    }}>Delete</button>
                  </>}
                </div></td>
              </tr>
            );
          })}
          {!shown.length && (
            <tr><td colSpan={6} className="muted">
              {query ? `No workflow matches “${query}”.` : "No workflows yet: create one."}
            </td></tr>
          )}
        </tbody>
      </table>
    </div>
  );
}
