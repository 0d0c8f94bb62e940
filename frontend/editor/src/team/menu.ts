// The editor's team menu, as data: which team the workflow belongs to, the caller's role
// there, and the links the menu offers (pure, for TeamMenu.tsx and its tests).

export interface TeamItem {
  id: number;
  name: string;
  slug: string;
  plan: string;
  role: string | null;
}

export interface MenuLink {
  label: string;
  href: string;
  note?: string;
}

export interface Menu {
  title: string;
  role: string;
  links: MenuLink[];
  others: MenuLink[];
}

/** The menu for a workflow of team `teamId`: its pages, the workflow's version history, and
 * the user's other teams (with their role there) to switch to. */
export function teamMenu(teams: TeamItem[], teamId: number, workflowId: string): Menu | null {
  const current = teams.find((team) => team.id === teamId);
  if (!current) return null;
  const q = `?team=${current.id}`;
  return {
    title: current.name,
    role: current.role ?? "",
    links: [
      { label: "Version history", href: `/workflows/${encodeURIComponent(workflowId)}/history` },
      { label: "Members", href: `/team${q}` },
      { label: "API keys", href: `/team/keys${q}` },
      { label: "Usage and credits", href: `/team/usage${q}` },
      { label: "Activity of this workflow",
        href: `/team/activity${q}&workflow=${encodeURIComponent(workflowId)}` },
    ],
    others: teams.filter((team) => team.id !== current.id).map((team) => ({
      label: team.name, href: `/team?team=${team.id}`, note: team.role ?? "",
    })),
  };
}
