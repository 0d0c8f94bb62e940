// Light or dark: the system's setting unless the user chose one (kept in this browser).

import { create } from "zustand";

export type ThemeChoice = "system" | "light" | "dark";
const KEY = "wireflow.theme";
const ORDER: ThemeChoice[] = ["system", "light", "dark"];

function stored(): ThemeChoice {
  try {
    const value = window.localStorage.getItem(KEY);
    return value === "light" || value === "dark" ? value : "system";
  } catch {
    return "system";
  }
}

/** Put the choice on <html> (theme.css reads data-theme; none means "follow the system"). */
export function applyTheme(choice: ThemeChoice = stored()): void {
  const root = document.documentElement;
  if (choice === "system") delete root.dataset.theme;
  else root.dataset.theme = choice;
}

interface ThemeState {
  choice: ThemeChoice;
  /** system → light → dark → system */
  next(): void;
}

export const useTheme = create<ThemeState>()((set, get) => ({
  choice: typeof window === "undefined" ? "system" : stored(),
  next: () => {
    const choice = ORDER[(ORDER.indexOf(get().choice) + 1) % ORDER.length];
    try {
      if (choice === "system") window.localStorage.removeItem(KEY);
      else window.localStorage.setItem(KEY, choice);
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
