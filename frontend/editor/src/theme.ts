// Light or dark: the system's setting unless the user chose one (kept in this browser).

export type ThemeChoice = "system" | "light" | "dark";
export type Theme = "light" | "dark";
export const THEME_KEY = "wireflow.theme";
export const THEME_ORDER: ThemeChoice[] = ["system", "light", "dark"];

export function storedTheme(): ThemeChoice {
  try {
    const value = window.localStorage.getItem(THEME_KEY);
    return value === "light" || value === "dark" ? value : "system";
  } catch {
    return "system";
  }
}

const systemLight = (): MediaQueryList | null =>
  typeof window.matchMedia === "function" ? window.matchMedia("(prefers-color-scheme: light)") : null;

/** The theme a choice means on this system: "system" follows the browser's colour scheme. */
export function resolveTheme(choice: ThemeChoice, prefersLight = systemLight()?.matches ?? false): Theme {
  if (choice !== "system") return choice;
  return prefersLight ? "light" : "dark";
}

let following: ThemeChoice = "system";
let listening = false;

/** Put the resolved theme on <html> as data-theme (the one thing theme.css reads); while the
 *  choice is "system", follow the system's setting as it changes. */
export function applyTheme(choice: ThemeChoice = storedTheme()): void {
  following = choice;
  document.documentElement.dataset.theme = resolveTheme(choice);
  const query = systemLight();
  if (query && !listening) {
    listening = true;
    query.addEventListener("change", (event) => {
      if (following === "system") document.documentElement.dataset.theme = event.matches ? "light" : "dark";
    });
  }
}
