import { vi } from "vitest";

export interface Call {
  method: string;
  path: string;
  headers: Headers;
  body: unknown;
}

type Handler = (call: Call) => { status?: number; body?: unknown } | undefined;

/** Replaces globalThis.fetch; answers from `handler`, records every call. */
export function mockFetch(handler: Handler): Call[] {
  const calls: Call[] = [];
  vi.stubGlobal("fetch", vi.fn(async (input: Request | string, init?: RequestInit) => {
    const req = typeof input === "string" ? new Request(new URL(input, "http://localhost"), init) : input;
    const text = req.method === "GET" || req.method === "HEAD" ? "" : await req.clone().text();
    const call: Call = { method: req.method, path: new URL(req.url).pathname + new URL(req.url).search, headers: req.headers, body: text ? JSON.parse(text) : undefined };
    calls.push(call);
    const answer = handler(call) ?? { status: 404, body: { detail: "There is nothing at this address.", code: "not_found" } };
    const status = answer.status ?? 200;
    return new Response(status === 204 ? null : JSON.stringify(answer.body ?? {}), { status, headers: { "content-type": "application/json" } });
  }));
  return calls;
}

export const ME = {
  id: 2, username: "coordinator", full_name: "Cora Coordinator", email: null, active: true, locked: false, must_change_password: false,
  memberships: [{ role: "coordinator", site_id: 1, site_code: "TC-CITY" }], csrf_token: "csrf-123", idle_minutes: 15,
};
