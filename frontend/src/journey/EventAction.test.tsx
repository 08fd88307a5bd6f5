import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { expect, test, vi } from "vitest";
import { AuthProvider } from "../auth/AuthContext";
import { ME, mockFetch } from "../test/fetchMock";
import { action } from "../test/actions";
import { EventAction } from "./EventAction";

const SCHEDULE = action({
  event: "schedule_collection", summary: "Schedule apheresis collection", calendar_site: "collection",
  data_schema: {
    type: "object", required: ["collection_date", "manufacturing_slot"],
    properties: {
      collection_date: { format: "date", type: "string" },
      manufacturing_slot: { type: "string", minLength: 1, maxLength: 200 },
      planned_infusion_date: { anyOf: [{ format: "date", type: "string" }, { type: "null" }], default: null },
    },
  },
});

const RELEASE = action({
  event: "release", summary: "Release the product (e-signature)", calendar_site: "manufacturing",
  signatures: [{ meaning: "Approved for release", when: null, second_signer: false, decision: null }],
});

const THAW_OUTSIDE_WINDOW = action({
  event: "thaw", summary: "Thaw a product bag",
  expects: { kind: "product", statuses: ["stored"], every_unit: false, field: "scan" },
  override: { guard: "inside_infusion_window", text: "thaw inside the infusion window", code: "outside_infusion_window",
    message: "It is before the infusion window opens. Thawing outside the window needs an override with a reason and your e-signature." },
  signatures: [{ meaning: "Override: thaw outside the infusion window", when: "override", second_signer: false, decision: null }],
  needs_reason: true,
  data_schema: {
    type: "object", required: ["scan"],
    properties: {
      scan: { type: "string", minLength: 1, maxLength: 1024 },
      override_reason: { anyOf: [{ type: "string", minLength: 3, maxLength: 1000 }, { type: "null" }], default: null },
    },
  },
});

test("the event goes to the API with the case version; a refusal is shown in words with the rule and the state", async () => {
  const calls = mockFetch((c) => {
    if (c.path === "/api/auth/me") return { body: ME };
    if (c.path === "/api/cases/7/events" && c.method === "POST") {
      return { status: 409, body: { detail: "Refused: the collection date 2020-01-01 is in the past at the collection site (today is 2026-01-05).", code: "guard_failed",
        context: { state: "enrolled", event: "schedule_collection", guard: "collection date is today or later", allowed_events: ["schedule_collection", "hold", "cancel"] } } };
    }
    return undefined;
  });
  render(<AuthProvider><EventAction caseId={7} version={3} action={SCHEDULE} today="2026-01-05" /></AuthProvider>);
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
  render(<AuthProvider><EventAction caseId={7} version={4} action={RELEASE} onDone={onDone} /></AuthProvider>);
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

test("a guard that may be overridden is shown before submitting; the override needs a reason, then the override signature", async () => {
  const calls = mockFetch((c) => {
    if (c.path === "/api/auth/me") return { body: { ...ME, full_name: "Iris Infusion", username: "infusion_staff" } };
    if (c.path === "/api/cases/9/events" && c.method === "POST") return { body: { id: 9, state: "thawed", version: 8 } };
    if (c.path === "/api/cases/9/events") return { body: [] };
    return undefined;
  });
  render(<AuthProvider><EventAction caseId={9} version={7} action={THAW_OUTSIDE_WINDOW} initial={{ scan: "QR-BAG" }} /></AuthProvider>);
  await waitFor(() => expect(calls.some((c) => c.path === "/api/auth/me")).toBe(true));
  const form = screen.getByRole("form", { name: "Thaw" });
  expect(form).toHaveTextContent("before the infusion window opens");
  await userEvent.click(screen.getByRole("button", { name: "Thaw" }));
  // Without a reason nothing is sent: the form says what the override needs.
  expect(await screen.findByRole("alert")).toHaveTextContent("needs an override with a reason and your e-signature");
  expect(calls.some((c) => c.method === "POST")).toBe(false);
  await userEvent.type(screen.getByLabelText(/Override reason/), "Physician approved an early infusion");
  await userEvent.click(screen.getByRole("button", { name: "Thaw" }));
  const dialog = await screen.findByRole("dialog", { name: "Electronic signature" });
  expect(dialog).toHaveTextContent("Override: thaw outside the infusion window");
  await userEvent.type(screen.getByLabelText("Your password"), "pw");
  await userEvent.click(screen.getByRole("button", { name: "Sign" }));
  await screen.findByText("Thaw: recorded.");
  expect(calls.find((c) => c.method === "POST")?.body).toEqual({
    event: "thaw", data: { scan: "QR-BAG", override_reason: "Physician approved an early infusion" }, expected_version: 7, signature: { password: "pw" },
  });
});
