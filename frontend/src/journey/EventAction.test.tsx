import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { expect, test, vi } from "vitest";
import { AuthProvider } from "../auth/AuthContext";
import { ME, mockFetch } from "../test/fetchMock";
import type { Transition } from "./JourneyContext";
import { EventAction } from "./EventAction";

const SCHEDULE: Transition = {
  event: "schedule_collection", from_states: ["enrolled"], to_states: ["collection_scheduled"], roles: ["coordinator"], site: "any",
  guards: ["collection date (site-local) is today or later"], opens: [], closes: [], signature: null, second_signature: null,
  needs_reason: false, summary: "Schedule apheresis collection",
  data_schema: {
    type: "object", required: ["collection_date", "manufacturing_slot"],
    properties: {
      collection_date: { format: "date", type: "string" },
      manufacturing_slot: { type: "string", minLength: 1, maxLength: 200 },
      planned_infusion_date: { anyOf: [{ format: "date", type: "string" }, { type: "null" }], default: null },
    },
  },
};

const RELEASE: Transition = {
  ...SCHEDULE, event: "release", signature: "Approved for release", summary: "Release the product (e-signature)",
  data_schema: { type: "object", properties: {} },
};

test("the event goes to the API with the case version; a refusal is shown in words with the rule and the state", async () => {
  const calls = mockFetch((c) => {
    if (c.path === "/api/auth/me") return { body: ME };
    if (c.path === "/api/cases/7/events" && c.method === "POST") {
      return { status: 409, body: { detail: "Refused: the collection date 2020-01-01 is in the past at the collection site (today is 2026-01-05).", code: "guard_failed",
        context: { state: "enrolled", event: "schedule_collection", guard: "collection date is today or later", allowed_events: ["schedule_collection", "hold", "cancel"] } } };
    }
    return undefined;
  });
  render(<AuthProvider><EventAction caseId={7} version={3} transition={SCHEDULE} today="2026-01-05" /></AuthProvider>);
  const date = screen.getByLabelText("Collection date (collection site's calendar)");
  expect(date).toHaveValue("2026-01-05");
  await userEvent.clear(date);
  await userEvent.type(date, "2020-01-01");
  await userEvent.type(screen.getByLabelText("Manufacturing slot"), "slot 4");
  await userEvent.click(screen.getByRole("button", { name: "Schedule collection" }));
  const alert = await screen.findByRole("alert");
  expect(alert).toHaveTextContent("the collection date 2020-01-01 is in the past");
  expect(alert).toHaveTextContent("“collection date is today or later”");
  expect(alert).toHaveTextContent("Allowed now: schedule collection, hold, cancel.");
  const post = calls.find((c) => c.method === "POST")!;
  expect(post.body).toEqual({ event: "schedule_collection", data: { collection_date: "2020-01-01", manufacturing_slot: "slot 4" }, expected_version: 3 });
  expect(post.headers.get("X-CSRF-Token")).toBe("csrf-123");
});

test("an event the table signs opens the e-signature; after signing, the printed name, meaning and time are shown", async () => {
  const onDone = vi.fn();
  const calls = mockFetch((c) => {
    if (c.path === "/api/auth/me") return { body: { ...ME, full_name: "Quinn Quality", username: "qa" } };
    if (c.path === "/api/cases/7/events" && c.method === "POST") return { body: { id: 7, state: "released", version: 5 } };
    if (c.path === "/api/cases/7/events") {
      return { body: [{ id: 1, event: "release", from_state: "qc_pending", to_state: "released", actor_name: "Quinn Quality", at: "2026-01-05T10:00:00Z", data: {}, reason: null,
        signatures: [{ printed_name: "Quinn Quality", meaning: "Approved for release", signed_at: "2026-01-05T10:00:00Z", record_hash: "x" }] }] };
    }
    return undefined;
  });
  render(<AuthProvider><EventAction caseId={7} version={4} transition={RELEASE} onDone={onDone} /></AuthProvider>);
  await waitFor(() => expect(calls.some((c) => c.path === "/api/auth/me")).toBe(true));
  await userEvent.click(screen.getByRole("button", { name: "Release" }));
  const dialog = await screen.findByRole("dialog", { name: "Electronic signature" });
  expect(dialog).toHaveTextContent("Approved for release");
  await userEvent.type(screen.getByLabelText("Your password"), "pw");
  await userEvent.click(screen.getByRole("button", { name: "Sign" }));
  const list = await screen.findByRole("list", { name: "Signatures" });
  expect(list).toHaveTextContent("Signed by Quinn Quality — “Approved for release”");
  expect(calls.find((c) => c.method === "POST")?.body).toEqual({ event: "release", data: {}, expected_version: 4, signature: { password: "pw" } });
  expect(onDone).toHaveBeenCalled();
});
