// The one API client: generated types (schema.d.ts, from openapi.json) + openapi-fetch.
// Adds the CSRF header on unsafe methods and reports 401s so the app can go to sign-in.
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type ErrorBody = Schemas["ErrorBody"];

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);
let csrfToken: string | null = null;

export function setCsrfToken(token: string | null | undefined): void {
  csrfToken = token ?? null;
}

type UnauthorizedListener = (body: ErrorBody) => void;
const unauthorizedListeners = new Set<UnauthorizedListener>();

/** Called with the server's words when a request answers 401 (session gone). */
export function onUnauthorized(listener: UnauthorizedListener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

type WriteListener = (method: string, path: string) => void;
const writeListeners = new Set<WriteListener>();

/** Called after every write the server accepted (2xx), with its method and path. */
export function onWrite(listener: WriteListener): () => void {
  writeListeners.add(listener);
  return () => writeListeners.delete(listener);
}

const AUTH_PATHS = ["/api/auth/login", "/api/auth/me", "/api/auth/logout"];

const middleware: Middleware = {
  onRequest({ request }) {
    if (UNSAFE.has(request.method) && csrfToken) {
      request.headers.set("X-CSRF-Token", csrfToken);
    }
    return request;
  },
  async onResponse({ request, response }) {
    const path = new URL(request.url).pathname;
    if (response.status === 401 && !AUTH_PATHS.includes(path)) {
      const body = await readError(response.clone());
      for (const l of unauthorizedListeners) l(body);
    }
    if (response.ok && UNSAFE.has(request.method)) {
      for (const l of writeListeners) l(request.method, path);
    }
    return response;
  },
};

export const api = createClient<paths>({
  baseUrl: typeof window !== "undefined" ? window.location.origin : "",
  credentials: "same-origin",
  // Looked up on every call, so tests can replace globalThis.fetch.
  fetch: (input: Request) => globalThis.fetch(input),
});
api.use(middleware);

export async function readError(response: Response): Promise<ErrorBody> {
  try {
    const body = (await response.json()) as Partial<ErrorBody>;
    if (body && typeof body.detail === "string") {
      return { detail: body.detail, code: body.code ?? "error", fields: body.fields, context: body.context };
    }
  } catch {
    /* not JSON */
  }
  return { detail: `The server answered ${response.status} ${response.statusText}.`.trim(), code: "http_error" };
}

/** A refused or failed request, carrying the server's error body in words. */
export class ApiError extends Error {
  readonly status: number;
  readonly body: ErrorBody;
  constructor(status: number, body: ErrorBody) {
    super(body.detail);
    this.status = status;
    this.body = body;
  }
  /** The message for one field, e.g. "data.collection_date" or "patient.mrn". */
  fieldMessage(field: string): string | undefined {
    const hit = this.body.fields?.find((f) => {
      const name = String((f as Record<string, unknown>).field ?? "");
      return name === field || name.endsWith(`.${field}`) || name.startsWith(`${field}.`);
    });
    return hit ? String((hit as Record<string, unknown>).message ?? "invalid") : undefined;
  }
}

type Result<T> = { data?: T; error?: unknown; response: Response };

/** The data of a result, or throws ApiError with the server's words. */
export function unwrap<T>(result: Result<T>): T {
  const { data, error, response } = result;
  if (response.ok) return data as T;
  throw new ApiError(response.status, toErrorBody(error, response));
}

export function toErrorBody(error: unknown, response?: Response): ErrorBody {
  if (error && typeof error === "object" && "detail" in error) {
    const e = error as Partial<ErrorBody> & { detail: unknown };
    if (typeof e.detail === "string") {
      return { detail: e.detail, code: e.code ?? "error", fields: e.fields, context: e.context };
    }
    // FastAPI's own validation shape, just in case.
    if (Array.isArray(e.detail)) {
      return { detail: "Invalid input.", code: "invalid_input", fields: e.detail as ErrorBody["fields"] };
    }
  }
  if (response) {
    return { detail: `The server answered ${response.status} ${response.statusText}.`.trim(), code: "http_error" };
  }
  return { detail: "cartrack could not be reached; check the connection and try again.", code: "network_error" };
}

// ---- Idempotency-Key: one key per user action, the same key for its repeats -----------------

const actionKeys = new Map<string, string>();

export const OUTCOME_UNKNOWN =
  "cartrack did not answer, so it is not known whether this was saved. Try the same action again: " +
  "cartrack recognises the repeat and will not record it twice.";

/** A random UUID; crypto.getRandomValues works on plain-HTTP sites too, unlike randomUUID. */
export function randomKey(): string {
  const b = new Uint8Array(16);
  globalThis.crypto.getRandomValues(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * Sends a write a person may repeat (a scan, a journey event) with an Idempotency-Key. The key
 * belongs to the action (what is sent, and where): while its outcome is unknown (no answer, or a
 * 5xx) the same action sent again reuses the key, so the server records it once and answers the
 * repeat with the first outcome. A definite answer (2xx, 4xx) frees the key: the next identical
 * action is a new one.
 */
export async function sendOnce<T extends Result<unknown>>(action: string, send: (key: string) => Promise<T>): Promise<T> {
  const key = actionKeys.get(action) ?? randomKey();
  actionKeys.set(action, key);
  let result: T;
  try {
    result = await send(key);
  } catch {
    throw new ApiError(0, { detail: OUTCOME_UNKNOWN, code: "outcome_unknown" });
  }
  if (result.response.status < 500) actionKeys.delete(action);
  return result;
}

/** True when the server answered a repeat with the first outcome it stored. */
export function wasReplayed(response: Response): boolean {
  return response.headers.get("Idempotent-Replayed") === "true";
}

/** Any thrown thing as an ApiError (network failures included). */
export function asApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  return new ApiError(0, toErrorBody(undefined));
}
