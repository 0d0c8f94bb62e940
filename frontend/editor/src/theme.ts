// Light or dark: the system's setting unless the user chose one (kept in this browser).

export type ThemeChoice = "system" | "light" | "dark";
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

/** Put the choice on <html> (theme.css reads data-theme; none means "follow the system"). */
export function applyTheme(choice: ThemeChoice = storedTheme()): void {
  const root = document.documentElement;
  if (choice === "system") delete root.dataset.theme;
  else root.dataset.theme = choice;
}
