// The client app page (/apps/<slug>): sends the form as the app's inputs, then follows each
// run by polling /apps/<slug>/runs/<token> (the visitor's own runs only, exposed outputs only)
// until it ends. The page is server-rendered; this is the only script on it.
import "../theme.css";

import { applyTheme } from "../theme";

applyTheme();

type Media = { url: string; thumbnailUrl?: string | null; posterUrl?: string | null };
type Output = {
  nodeId: string; label: string; status: string;
  images: Media[]; videos: Media[]; text: string | null;
};
type RunView = {
  executionId: string; status: string; progress: number; outputs: Output[];
  error: string | null; createdAt?: string | null;
};

const DONE = new Set(["COMPLETED", "FAILED", "CANCELLED"]);
const POLL_MS = 1000;

function csrf(): string {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export function formInputs(form: HTMLFormElement): Record<string, Record<string, unknown>> {
  const inputs: Record<string, Record<string, unknown>> = {};
  form.querySelectorAll<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>(
    "[data-node]").forEach((field) => {
    const node = field.dataset.node ?? "";
    const input = field.dataset.input ?? "";
    const kind = field.dataset.type ?? "text";
    let value: unknown;
    if (field instanceof HTMLInputElement && field.type === "file") return; // sent by uploads()
    if (field instanceof HTMLInputElement && field.type === "checkbox") value = field.checked;
    else if (field.value === "") return;
    else if (["integer", "number", "seed"].includes(kind) && field instanceof HTMLInputElement) {
      value = Number(field.value);
    } else value = field.value; // a choice is sent as its text: the server maps it back
    (inputs[node] ??= {})[input] = value;
  });
  return inputs;
}

class Refused extends Error {}

/** Each chosen file, uploaded through the app (checked and stored by the server), as the token
 * its field's input takes; an empty file field keeps the workflow's saved file. */
async function uploads(form: HTMLFormElement, slug: string,
                       inputs: Record<string, Record<string, unknown>>): Promise<void> {
  for (const field of form.querySelectorAll<HTMLInputElement>("input[type=file][data-node]")) {
    const file = field.files?.[0];
    if (!file) continue;
    const body = new FormData();
    body.append("file", file);
    const response = await fetch(`/apps/${slug}/uploads`, {
      method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": csrf() }, body,
    });
    const answer = await response.json().catch(() => ({ error: "The upload failed" }));
    if (!response.ok) throw new Refused(`${file.name}: ${answer.error ?? "the upload failed"}`);
    (inputs[field.dataset.node ?? ""] ??= {})[field.dataset.input ?? ""] = answer.upload;
  }
}

function statusText(run: RunView): string {
  if (run.status === "COMPLETED") return "Done";
  if (run.status === "FAILED") return "Failed";
  if (run.status === "CANCELLED") return "Cancelled";
  if (run.status === "QUEUED") return "Waiting to start…";
  return `Working… ${Math.round(run.progress * 100)}%`;
}

function render(item: HTMLElement, run: RunView): void {
  item.dataset.status = run.status;
  item.replaceChildren();
  const header = document.createElement("header");
  const state = document.createElement("strong");
  state.textContent = statusText(run);
  state.setAttribute("data-testid", "run-status");
  const when = document.createElement("span");
  when.className = "muted";
  when.textContent = run.createdAt ? new Date(run.createdAt).toLocaleTimeString() : "";
  header.append(state, when);
  item.append(header);
  if (!DONE.has(run.status)) {
    const bar = document.createElement("progress");
    bar.max = 1;
    bar.value = run.progress;
    bar.setAttribute("aria-label", "Progress");
    item.append(bar);
  }
  if (run.error) {
    const error = document.createElement("p");
    error.className = "message error";
    error.textContent = run.error;
    item.append(error);
  }
  const grid = document.createElement("div");
  grid.className = "outputs";
  for (const output of run.outputs) {
    for (const image of output.images) {
      const figure = document.createElement("figure");
      const link = document.createElement("a");
      link.href = image.url;
      link.target = "_blank";
      link.rel = "noopener";
      const img = document.createElement("img");
      img.src = image.thumbnailUrl || image.url;
      img.alt = output.label;
      img.setAttribute("data-testid", "run-image");
      link.append(img);
      const caption = document.createElement("figcaption");
      caption.textContent = output.label;
      figure.append(link, caption);
      grid.append(figure);
    }
    for (const video of output.videos) {
      const figure = document.createElement("figure");
      const player = document.createElement("video");
      player.src = video.url;
      if (video.posterUrl) player.poster = video.posterUrl;
      player.controls = true;
      player.setAttribute("aria-label", output.label);
      const caption = document.createElement("figcaption");
      caption.textContent = output.label;
      figure.append(player, caption);
      grid.append(figure);
    }
    if (output.text) {
      const figure = document.createElement("figure");
      const text = document.createElement("pre");
      text.textContent = output.text;
      const caption = document.createElement("figcaption");
      caption.textContent = output.label;
      figure.append(text, caption);
      grid.append(figure);
    }
  }
  if (grid.childElementCount) item.append(grid);
}

async function follow(slug: string, item: HTMLElement): Promise<void> {
  const token = item.dataset.token ?? "";
  for (;;) {
    const response = await fetch(`/apps/${slug}/runs/${encodeURIComponent(token)}`,
                                 { credentials: "same-origin" });
    if (!response.ok) {
      item.remove();
      return;
    }
    const run = (await response.json()) as RunView;
    render(item, run);
    if (DONE.has(run.status)) return;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function start(): void {
  const form = document.querySelector<HTMLFormElement>("[data-testid=app-form]");
  const list = document.querySelector<HTMLElement>("[data-testid=runs]");
  if (!form || !list) return;
  const slug = form.dataset.slug ?? "";
  const error = form.querySelector<HTMLElement>("[data-testid=app-error]");
  const button = form.querySelector<HTMLButtonElement>("[data-testid=app-run]");
  const empty = document.querySelector<HTMLElement>("[data-testid=no-runs]");
  list.querySelectorAll<HTMLElement>("li[data-token]").forEach((item) => {
    void follow(slug, item);
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (error) error.hidden = true;
    if (button) button.disabled = true;
    try {
      const inputs = formInputs(form);
      try {
        await uploads(form, slug, inputs);
      } catch (refused) {
        if (!(refused instanceof Refused)) throw refused;
        if (error) {
          error.textContent = refused.message;
          error.hidden = false;
        }
        return;
      }
      const response = await fetch(`/apps/${slug}/runs`, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
        body: JSON.stringify({ inputs }),
      });
      const body = await response.json().catch(() => ({ error: "Something went wrong" }));
      if (!response.ok) {
        if (error) {
          error.textContent = body.error ?? "Something went wrong";
          error.hidden = false;
        }
        return;
      }
      const item = document.createElement("li");
      item.className = "run";
      item.dataset.token = body.token;
      render(item, body.run as RunView);
      list.prepend(item);
      if (empty) empty.hidden = true;
      void follow(slug, item);
    } finally {
      if (button) button.disabled = false;
    }
  });
}

start();
