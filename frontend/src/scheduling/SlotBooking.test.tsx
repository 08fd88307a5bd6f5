import { screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router";
import { expect, test } from "vitest";
import { AuthProvider } from "../auth/AuthContext";
import { ReferenceProvider } from "../journey/JourneyContext";
import { renderWithQueries } from "../test/queries";
import { ME, mockFetch, type Call } from "../test/fetchMock";
import { addDays, daysBetween } from "./dates";
import { heatOf } from "./Heatmap";
import { SlotBooking } from "./SlotBooking";

const SITES = [
  { id: 1, code: "TC-CITY", name: "City", timezone: "UTC", kinds: ["treatment_center"], mrn_system: null },
  { id: 3, code: "MF-EAST", name: "East", timezone: "UTC", kinds: ["manufacturing_facility"], mrn_system: null },
];
const CASE = {
  id: 7, coi: "CHA999926000007", coi_check: "K", state: "enrolled", held_from: null, version: 1, product: "yescarta", protocol_version: 1,
  collection_site: "TC-CITY", manufacturing_site: "MF-EAST", treatment_site: "TC-CITY", next_deadline: null, updated_at: "2026-01-01T00:00:00Z",
};

/** Every day after today full, except from the tenth day on. */
function availability(call: Call) {
  const q = new URL(call.path, "http://x").searchParams;
  const today = new Date().toISOString().slice(0, 10);
  return daysBetween(q.get("start") ?? "", q.get("end") ?? "").map((day) => {
    const full = day < addDays(today, 10);
    return { day, capacity: 2, booked: full ? 2 : 0, open: full ? 0 : 2, bookings: [] };
  });
}

test("open and full days are told apart in words; a refused hold offers the next open days", async () => {
  const today = new Date().toISOString().slice(0, 10);
  const open = addDays(today, 12);
  const calls = mockFetch((c) => {
    if (c.path === "/api/auth/me") return { body: ME };
    if (c.path === "/api/journey") return { body: { states: [], transitions: [] } };
    if (c.path === "/api/sites") return { body: SITES };
    if (c.path.startsWith("/api/cases?")) return { body: { items: [CASE], total: 1, limit: 200, offset: 0 } };
    if (c.path.startsWith("/api/slots/availability")) return { body: availability(c) };
    if (c.path === "/api/cases/7/slot" && c.method === "POST") {
      return { status: 409, body: { detail: `${open} at MF-EAST is full (2 of 2 booked).`, code: "slot_full", context: { next_open_days: [addDays(open, 2), addDays(open, 3)] } } };
    }
    return undefined;
  });
  renderWithQueries(<MemoryRouter><AuthProvider><ReferenceProvider><SlotBooking products={["yescarta"]} onChanged={() => {}} /></ReferenceProvider></AuthProvider></MemoryRouter>);
  const openDay = await screen.findByRole("button", { name: new RegExp(`${Number(open.slice(8))} .*: 2 of 2 open`) });
  expect(screen.getAllByRole("button", { name: /: full \(2 of 2\)/ })[0]).toBeDisabled();
  await userEvent.click(openDay);
  expect(openDay).toHaveAttribute("aria-pressed", "true");
  expect(screen.getByLabelText("Manufacturing start day")).toHaveValue(open);
  await userEvent.selectOptions(await screen.findByLabelText("Case (COI)"), "7");
  await userEvent.click(screen.getByRole("button", { name: /^Hold / }));
  expect(await screen.findByRole("alert")).toHaveTextContent("is full (2 of 2 booked)");
  expect(calls.find((c) => c.method === "POST")?.body).toEqual({ day: open, buffer_days: 0 });
  const next = screen.getByText(/Next open days/).parentElement as HTMLElement;
  const buttons = next.querySelectorAll("button");
  expect(buttons).toHaveLength(2);
  await userEvent.click(buttons[0]);
  expect(screen.getByLabelText("Manufacturing start day")).toHaveValue(addDays(open, 2));
  expect(screen.queryByRole("alert")).toBeNull();
});

test("heat of a day: past, closed, full, last place, open", () => {
  const d = (capacity: number, booked: number) => ({ day: "2026-12-10", capacity, booked, open: capacity - booked });
  expect(heatOf(d(2, 0), "2026-12-10", "2026-12-10")).toBe("past");
  expect(heatOf(undefined, "2026-12-10", "2026-12-01")).toBe("closed");
  expect(heatOf(d(0, 0), "2026-12-10", "2026-12-01")).toBe("closed");
  expect(heatOf(d(2, 2), "2026-12-10", "2026-12-01")).toBe("full");
  expect(heatOf(d(2, 1), "2026-12-10", "2026-12-01")).toBe("last");
  expect(heatOf(d(3, 1), "2026-12-10", "2026-12-01")).toBe("open");
});
