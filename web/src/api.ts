// The public API of the platform, on the page's own origin. Credentials live in
// sessionStorage only (never a cookie or localStorage): gone when the tab closes.

export interface ApiKey {
  keyId: string;
  secret: string;
}

const KEY = "platform.apiKey";

export function storedKey(): ApiKey | null {
  const text = sessionStorage.getItem(KEY);
  return text ? (JSON.parse(text) as ApiKey) : null;
}

export function storeKey(key: ApiKey | null): void {
  if (key) sessionStorage.setItem(KEY, JSON.stringify(key));
  else sessionStorage.removeItem(KEY);
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function headers(auth: boolean, json: boolean): Headers {
  const h = new Headers();
  if (json) h.set("content-type", "application/json");
  const key = auth ? storedKey() : null;
  if (key) {
    h.set("APCA-API-KEY-ID", key.keyId);
    h.set("APCA-API-SECRET-KEY", key.secret);
  }
  return h;
}

/** A response body already asked for (by main.ts, before the page's code has loaded), handed
 * to the first get() of the same path. */
const early = new Map<string, Promise<Response>>();

export function prefetch(path: string): void {
  if (!early.has(path)) early.set(path, fetch(path, { credentials: "omit" }));
}

/** Any method on the API; a non-2xx answer throws an ApiError with the API's message. */
export async function call(method: string, path: string, body: unknown, auth: boolean): Promise<Response> {
  const pending = method === "GET" && !auth ? early.get(path) : undefined;
  if (pending) early.delete(path);
  const response = await (pending ?? fetch(path, {
    method,
    headers: headers(auth, body !== undefined),
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "omit",
  }));
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const err = (await response.json()) as { message?: string };
      if (err.message) message = err.message;
    } catch {
      /* not JSON: keep the status line */
    }
    throw new ApiError(response.status, message);
  }
  return response;
}

export async function get<T>(path: string, auth = false): Promise<T> {
  return (await (await call("GET", path, undefined, auth)).json()) as T;
}

export async function send<T>(method: string, path: string, body?: unknown, auth = true): Promise<T> {
  const response = await call(method, path, body, auth);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

export function query(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const text = q.toString();
  return text ? `?${text}` : "";
}
