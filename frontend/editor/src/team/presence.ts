// Who else has this workflow open, as the live socket last said (executions.presence).

import { create } from "zustand";

import type { PresenceMessage } from "../types";

export type PresentUser = PresenceMessage["users"][number];

interface Presence {
  users: PresentUser[];
  setUsers(users: PresentUser[]): void;
}

export const usePresence = create<Presence>((set) => ({
  users: [],
  setUsers: (users) => set({ users }),
}));

/** "Ann Lee (2 tabs)", "bob". */
export const presenceTitle = (user: PresentUser) =>
  user.tabs > 1 ? `${user.name} (${user.tabs} tabs)` : user.name;
