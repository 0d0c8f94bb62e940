// The toolbar's theme switch: system → light → dark, kept in this browser.

import { create } from "zustand";

import { applyTheme, storedTheme, THEME_KEY, THEME_ORDER, type ThemeChoice } from "../theme";

interface ThemeState {
  choice: ThemeChoice;
  /** system → light → dark → system */
  next(): void;
}

export const useTheme = create<ThemeState>()((set, get) => ({
  choice: typeof window === "undefined" ? "system" : storedTheme(),
  next: () => {
    const choice = THEME_ORDER[(THEME_ORDER.indexOf(get().choice) + 1) % THEME_ORDER.length];
    try {
      if (choice === "system") window.localStorage.removeItem(THEME_KEY);
      else window.localStorage.setItem(THEME_KEY, choice);
    } catch { /* private mode: the choice lasts for this page */ }
    applyTheme(choice);
    set({ choice });
  },
}));

export function ThemeToggle() {
  const choice = useTheme((s) => s.choice);
  const next = useTheme((s) => s.next);
  const label = { system: "Theme: system", light: "Theme: light", dark: "Theme: dark" }[choice];
  return (
    <button type="button" onClick={next} data-testid="theme-toggle" data-theme-choice={choice}
            title="Switch between the system's theme, light and dark">{label}</button>
  );
}
