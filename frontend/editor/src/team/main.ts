// The team pages are server-rendered forms; this adds what needs a script: copy buttons
// (`data-copy="<element id>"`) and a confirmation before destructive forms (`data-confirm`).
import "../theme.css";
import "./team.css";

import { applyTheme } from "../theme";

applyTheme();

function copyButtons(): void {
  document.querySelectorAll<HTMLButtonElement>("button[data-copy]").forEach((button) => {
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copy ?? "");
      const text = source instanceof HTMLInputElement ? source.value : source?.textContent ?? "";
      try {
        await navigator.clipboard.writeText(text);
        button.textContent = "Copied";
      } catch {
        if (source instanceof HTMLInputElement) source.select();
        button.textContent = "Press Ctrl+C";
      }
    });
  });
}

function confirmations(): void {
  document.querySelectorAll<HTMLFormElement>("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm ?? "Are you sure?")) event.preventDefault();
    });
  });
}

copyButtons();
confirmations();
