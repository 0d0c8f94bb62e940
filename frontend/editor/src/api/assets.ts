// The team's outputs and uploads with their provenance (GET /assets), favourites and zip.

import { ApiError, api, csrfToken } from "./client";

export interface Asset {
  id: string;
  kind: "output" | "upload";
  mediaType: "image" | "video";
  url: string;
  thumbnailUrl: string | null;
  thumbnails: Record<string, string> | null;
  posterUrl: string | null;
  width: number | null;
  height: number | null;
  favorite: boolean;
  prompt: string | null;
  nodeType: string | null;
  model: string | null;
  modelVersion: string | null;
  seed: number | null;
  settings: Record<string, unknown> | null;
  credits: number | null;
  ranBy: { type: string; id: string | null; name: string } | null;
  createdAt: string;
  workflowId: string | null;
  executionId: string | null;
  nodeId: string | null;
}

export interface AssetFilter {
  workflowId?: string;
  nodeType?: string;
  favorite?: boolean;
  kind?: "output" | "upload";
  limit?: number;
  offset?: number;
}

export const listAssets = (filter: AssetFilter) => {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(filter)) {
    if (value !== undefined && value !== "") query.set(key, String(value));
  }
  return api<{ assets: Asset[]; total: number }>("GET", `/assets?${query}`);
};

export const setFavorite = (id: string, favorite: boolean) =>
  api<{ data: Asset }>(favorite ? "POST" : "DELETE", `/assets/${id}/favorite`);

/** The chosen files as one ZIP, saved by the browser. */
export async function downloadZip(ids: string[]): Promise<void> {
  const response = await fetch("/api/v1/assets/zip", {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify({ ids }),
  });
  if (!response.ok) {
    const text = await response.text();
    throw new ApiError(response.status, text ? JSON.parse(text) : {});
  }
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = "wireflow-outputs.zip";
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
