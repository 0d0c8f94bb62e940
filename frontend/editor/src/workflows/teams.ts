// Which team the workflows page shows and creates in; remembered in this browser.

export interface Team {
  id: number;
  name: string;
  slug: string;
  plan: string;
  credits: number;
  role: string;
  canEdit: boolean;
}

const KEY = "wireflow.team";

/** The remembered team if the user is still in it, else "all" (0); a user of one team is
 * always in it (there is no "all" to pick, and the role line names their role there). */
export function initialTeam(teams: Team[], stored: string | null): number {
  if (teams.length === 1) return teams[0].id;
  const id = Number(stored);
  return teams.some((team) => team.id === id) ? id : 0;
}

export function readTeam(teams: Team[]): number {
  try {
    return initialTeam(teams, localStorage.getItem(KEY));
  } catch {
    return 0;
  }
}

export function rememberTeam(id: number) {
  try {
    localStorage.setItem(KEY, String(id));
  } catch {
    /* private mode: the choice lasts for this page only */
  }
}

/** The team a new workflow goes to: the chosen one, else the first the user may edit. */
export function teamForCreate(teams: Team[], chosen: number): Team | undefined {
  return teams.find((team) => team.id === chosen && team.canEdit)
    ?? (chosen ? undefined : teams.find((team) => team.canEdit));
}

export function matches(name: string, description: string, query: string): boolean {
  const words = query.trim().toLowerCase().split(/\s+/).filter(Boolean);
  const text = `${name} ${description}`.toLowerCase();
  return words.every((word) => text.includes(word));
}
