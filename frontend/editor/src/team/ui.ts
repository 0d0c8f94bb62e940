// Cross-component asks for the side panel's team tabs: the toolbar's "Save version…" opens the
// Versions tab with its naming form.

import { create } from "zustand";

interface VersionsUi {
  naming: number;  // bumped by each "Save version…"
  askName(): void;
}

export const useVersionsUi = create<VersionsUi>((set, get) => ({
  naming: 0,
  askName: () => set({ naming: get().naming + 1 }),
}));
