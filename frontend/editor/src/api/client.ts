// Calls to /api/v1 with the browser session (CSRF token from the cookie Django sets).

export class ApiError extends Error {
  constructor(public status: number, public body: Record<string, unknown>) {
    super(String(body.error ?? `HTTP ${status}`));
  }
}

export function csrfToken(): string {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`/api/v1${path}`, {
    method,
    credentials: "same-origin",
    headers: {
      Accept: "application/json",
      ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      ...(method === "GET" ? {} : { "X-CSRFToken": csrfToken() }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : {};
  if (!response.ok) throw new ApiError(response.status, data);
  return data as T;
}

/** A multipart upload (the browser sets the boundary); same errors as `api`. */
export async function upload<T>(path: string, file: File): Promise<T> {
  const form = new FormData();
  form.append("file", file);
  const response = await fetch(`/api/v1${path}`, {
    method: "POST", credentials: "same-origin", body: form,
    headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
  });
  const text = await response.text();
  const data = text ? JSON.parse(text) : {};
  if (!response.ok) throw new ApiError(response.status, data);
  return data as T;
}

/** An error as one line for the user: the API's message, plus its first violation if any. */
export function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const violations = error instanceof ApiError
    ? (error.body.violations as { message?: string }[] | undefined) : undefined;
  const first = violations?.[0]?.message;
  return first ? `${error.message} — ${first}` : error.message;
}
