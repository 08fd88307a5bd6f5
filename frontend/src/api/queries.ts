// The data layer: TanStack Query through openapi-react-query, on the one openapi-fetch client.
// Reads are `$api.useQuery("get", path, init, options)`; a query's key is [method, path, init], so
// after a write the screens refresh by invalidating the paths it touched (see `invalidatePaths`).
// Errors are ApiError (the server's words), as everywhere else in the UI.
import { QueryClient, type QueryClient as QC, type QueryKey } from "@tanstack/react-query";
import createQueryHooks from "openapi-react-query";
import { ApiError, api, asApiError, toErrorBody } from "./client";

type Send = (...args: unknown[]) => Promise<{ data?: unknown; error?: unknown; response: Response }>;

function strict(send: Send): Send {
  return async (...args) => {
    let result: Awaited<ReturnType<Send>>;
    try {
      result = await send(...args);
    } catch (err) {
      if (err instanceof DOMException && err.name === "AbortError") throw err;
      throw new ApiError(0, toErrorBody(undefined));
    }
    if (result.response.ok) return result;
    return { ...result, error: new ApiError(result.response.status, toErrorBody(result.error, result.response)) };
  };
}

/** The same client, but a refusal or a failed request comes back as an ApiError. */
const strictClient: typeof api = { ...api };
for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE"] as const) {
  (strictClient as unknown as Record<string, Send>)[method] = strict((api[method] as unknown as Send).bind(api));
}

export const $api = createQueryHooks(strictClient);

/** A query's error as the ApiError it is (openapi-react-query types it as the error body). */
export function apiError(error: unknown): ApiError | undefined {
  return error ? asApiError(error) : undefined;
}

/** Retry a read only when the network failed or the server had a 5xx; refusals are final. */
function retry(failures: number, error: unknown): boolean {
  const status = error instanceof ApiError ? error.status : 0;
  return failures < 2 && (status === 0 || status >= 500);
}

export function makeQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: { staleTime: 5_000, retry, refetchOnWindowFocus: true },
      mutations: { retry: false },
    },
  });
}

/** How often lists that others change (board, queues, a case) are read again. */
export const POLL_MS = 30_000;

function pathOf(key: QueryKey): string | undefined {
  return typeof key[1] === "string" ? key[1] : undefined;
}

/**
 * Marks stale every query whose path starts with one of `prefixes` ("/api/cases" covers the board,
 * a case, its timeline and audit); the ones on screen are read again at once.
 */
export function invalidatePaths(queryClient: QC, ...prefixes: string[]): Promise<void> {
  return queryClient.invalidateQueries({ predicate: (q) => matches(q.queryKey, prefixes) });
}

/** As invalidatePaths, but a read already under way is not started again. */
export function refreshPaths(queryClient: QC, ...prefixes: string[]): Promise<void> {
  return queryClient.invalidateQueries({ predicate: (q) => matches(q.queryKey, prefixes) }, { cancelRefetch: false });
}

function matches(key: QueryKey, prefixes: string[]): boolean {
  const path = pathOf(key);
  return !!path && prefixes.some((p) => path.startsWith(p));
}
