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

export type VersionMark = "removed" | "changed";

interface VersionMarks {
  /** While a version is shown on the canvas: its nodes that differ from the current graph. */
  marks: Record<string, VersionMark>;
  setMarks(marks: Record<string, VersionMark>): void;
}

export const useVersionMarks = create<VersionMarks>((set) => ({
  marks: {},
  setMarks: (marks) => set({ marks }),
}));
