// One Idempotency-Key per user action: reused while the outcome is unknown, fresh after a
// definite answer; a replayed journey event reads the case again.
import { expect, test, vi } from "vitest";
import { ApiError } from "./client";
import { postScan } from "../scan/api";
import { applyEvent } from "../journey/api";

type Step = { status: number; body: unknown; headers?: Record<string, string> } | "network-down";

function serve(steps: Step[]): { keys: (string | null)[]; paths: string[] } {
  const seen = { keys: [] as (string | null)[], paths: [] as string[] };
  vi.stubGlobal("fetch", vi.fn(async (req: Request) => {
    seen.keys.push(req.headers.get("Idempotency-Key"));
    seen.paths.push(`${req.method} ${new URL(req.url).pathname}`);
    const step = steps.shift();
    if (!step || step === "network-down") throw new TypeError("Failed to fetch");
    return new Response(JSON.stringify(step.body), {
      status: step.status, headers: { "content-type": "application/json", ...(step.headers ?? {}) },
    });
  }));
  return seen;
}

async function failure(pending: Promise<unknown>): Promise<ApiError> {
  try {
    await pending;
  } catch (err) {
    if (err instanceof ApiError) return err;
  }
  throw new Error("expected an ApiError");
}

const MATCH = { verdict: "mismatch", message: "Not a cartrack label.", custody_event_id: 7 };

test("a scan repeated after no answer reuses its key; the next scan of the same bag gets a new one", async () => {
  const seen = serve(["network-down", { status: 200, body: MATCH, headers: { "Idempotent-Replayed": "true" } },
                      { status: 200, body: { ...MATCH, custody_event_id: 8 } }]);
  const lost = await failure(postScan("PAYLOAD-1"));
  expect(lost.body.code).toBe("outcome_unknown");
  expect(lost.message).toMatch(/not known whether this was saved.*Try the same action again/);
  expect((await postScan("PAYLOAD-1")).custody_event_id).toBe(7);
  expect((await postScan("PAYLOAD-1")).custody_event_id).toBe(8);
  expect(seen.keys[0]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  expect(seen.keys[1]).toBe(seen.keys[0]);
  expect(seen.keys[2]).not.toBe(seen.keys[0]);
});

test("a 503 keeps the key and shows the server's words; a refusal frees it", async () => {
  const unknown = { detail: "it is not known whether it was saved. Try the same action again", code: "outcome_unknown" };
  const refused = { detail: "Your role may not do this.", code: "role_forbidden" };
  const seen = serve([{ status: 503, body: unknown, headers: { "Retry-After": "5" } },
                      { status: 403, body: refused }, { status: 200, body: MATCH }]);
  const first = await failure(postScan("PAYLOAD-2"));
  expect(first.status).toBe(503);
  expect(first.message).toBe(unknown.detail);
  const second = await failure(postScan("PAYLOAD-2"));
  expect(second.status).toBe(403);
  await postScan("PAYLOAD-2");
  expect(seen.keys[1]).toBe(seen.keys[0]);
  expect(seen.keys[2]).not.toBe(seen.keys[1]);
});

test("different actions never share a key", async () => {
  const seen = serve(["network-down", { status: 200, body: MATCH }]);
  await postScan("PAYLOAD-3").catch(() => undefined);
  await postScan("PAYLOAD-4");
  expect(seen.keys[1]).not.toBe(seen.keys[0]);
});

test("a replayed journey event reads the case again (the stored outcome keeps no patient)", async () => {
  const stored = { id: 5, state: "collection_scheduled", version: 3, patient: null };
  const fresh = { ...stored, patient: { given_name: "Ada", family_name: "Lovelace" } };
  const seen = serve([{ status: 200, body: stored, headers: { "Idempotent-Replayed": "true" } },
                      { status: 200, body: fresh }]);
  const detail = await applyEvent(5, { event: "schedule_collection", data: {}, expected_version: 2 });
  expect(detail.patient).toEqual(fresh.patient);
  expect(seen.paths).toEqual(["POST /api/cases/5/events", "GET /api/cases/5"]);
  expect(seen.keys[0]).not.toBeNull();
  expect(seen.keys[1]).toBeNull(); // reads carry no key
});
