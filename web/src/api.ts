// A small client of the Vigil HTTP API v1. Requests carry the session
// cookie (same origin); mutating requests add the X-CSRF-Token header the
// login answer gave.
import type { Session } from "./types";

export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

let csrf = "";
let onUnauthorized: () => void = () => {};

/** setSession records the CSRF token of the logged-in session. */
export function setCsrf(token: string) {
  csrf = token;
}

/** setUnauthorizedHandler is called when any request answers 401. */
export function setUnauthorizedHandler(f: () => void) {
  onUnauthorized = f;
}

async function request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && csrf) headers["X-CSRF-Token"] = csrf;
  let resp: Response;
  try {
    resp = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      signal,
    });
  } catch (e) {
    if ((e as Error).name === "AbortError") throw e;
    throw new ApiError(0, `cannot reach the Vigil server (${(e as Error).message})`);
  }
  if (resp.status === 204) return undefined as T;
  const text = await resp.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      if (!resp.ok) throw new ApiError(resp.status, `${method} ${path}: ${resp.status} ${resp.statusText}`);
      throw new ApiError(resp.status, `${method} ${path}: the answer is not JSON`);
    }
  }
  if (!resp.ok) {
    const msg =
      data && typeof data === "object" && typeof (data as { error?: unknown }).error === "string"
        ? (data as { error: string }).error
        : `${resp.status} ${resp.statusText}`;
    if (resp.status === 401 && path !== "/api/v1/login") onUnauthorized();
    throw new ApiError(resp.status, msg);
  }
  return data as T;
}

export const api = {
  get: <T>(path: string, signal?: AbortSignal) => request<T>("GET", path, undefined, signal),
  post: <T>(path: string, body: unknown) => request<T>("POST", path, body),
  del: (path: string) => request<void>("DELETE", path),
  login: (username: string, password: string) => request<Session>("POST", "/api/v1/login", { username, password }),
  logout: () => request<void>("POST", "/api/v1/logout", {}),
  me: () => request<Session>("GET", "/api/v1/me"),
};

/** qs builds a query string from the non-empty values of params. */
export function qs(params: Record<string, string | number | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") u.set(k, String(v));
  }
  const s = u.toString();
  return s ? "?" + s : "";
}
