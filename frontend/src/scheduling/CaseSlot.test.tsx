import { screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router";
import { expect, test } from "vitest";
import { AuthProvider } from "../auth/AuthContext";
import { ReferenceProvider } from "../journey/JourneyContext";
import { caseDetail } from "../test/actions";
import { renderWithQueries } from "../test/queries";
import { ME, mockFetch } from "../test/fetchMock";
import { CaseSlot } from "./CaseSlot";

const SITES = [
  { id: 1, code: "TC-CITY", name: "City", timezone: "UTC", kinds: ["treatment_center"], mrn_system: null },
  { id: 3, code: "MF-EAST", name: "East", timezone: "UTC", kinds: ["manufacturing_facility"], mrn_system: null },
];
const PLAN = {
  binding: "fresh_bound", apheresis: "2026-12-01", receipt: "2026-12-02", manufacturing_start: "2026-12-02", release: "2026-12-20",
  delivery: "2026-12-22", ld_start: "2026-12-17", ld_end: "2026-12-19", infusion: "2026-12-22", vein_to_vein_days: 21, rule_version: 2,
};
const SLOT = {
  id: 4, case_id: 7, coi: "CHA999926000001", facility: "MF-EAST", product: "yescarta", day: "2026-12-02", status: "confirmed",
  buffer_days: 0, hold_expires_at: "2026-11-30T10:00:00Z", plan: PLAN, confirmed_by: "Cora Coordinator", confirmed_at: "2026-11-29T10:00:00Z",
  signature_meaning: "Approved: manufacturing slot",
};

function setup(post?: (body: unknown) => { status?: number; body?: unknown }) {
  return mockFetch((c) => {
    if (c.path === "/api/auth/me") return { body: ME };
    if (c.path === "/api/journey") return { body: { states: [], transitions: [] } };
    if (c.path === "/api/sites") return { body: SITES };
    if (c.path === "/api/cases/7/slot") return { body: SLOT };
    if (c.method === "POST" && post) return post(c.body);
    return undefined;
  });
}

const detail = caseDetail([], { state: "collected", milestones: { collected_at: "2026-12-03T15:00:00Z" } as never });

test("the plan is shown next to the actual dates; a late step says by how much", async () => {
  setup();
  renderWithQueries(<MemoryRouter><AuthProvider><ReferenceProvider><CaseSlot detail={detail} /></ReferenceProvider></AuthProvider></MemoryRouter>);
  const table = await screen.findByRole("table", { name: /Derived plan .* 21 days vein to vein planned/ });
  const row = within(table).getByRole("row", { name: /Apheresis collection/ });
  expect(row).toHaveTextContent("01 Dec 2026");
  expect(row).toHaveTextContent("2 days late");
  expect(row).toHaveClass("late");
  expect(within(table).getByRole("row", { name: /Infusion/ })).toHaveTextContent("22 Dec 2026—");
  expect(screen.getByText(/by Cora Coordinator/)).toHaveTextContent("Approved: manufacturing slot");
});

test("release asks for a reason code and words and shows the released slot", async () => {
  const calls = setup(() => ({ body: { ...SLOT, status: "released", reason_code: "payer", reason_text: "Payer declined" } }));
  renderWithQueries(<MemoryRouter><AuthProvider><ReferenceProvider><CaseSlot detail={detail} /></ReferenceProvider></AuthProvider></MemoryRouter>);
  await userEvent.click(await screen.findByRole("button", { name: "Release…" }));
  const form = screen.getByRole("form", { name: "Release the manufacturing slot" });
  const submit = within(form).getByRole("button", { name: "Release the slot" });
  expect(submit).toBeDisabled();
  await userEvent.selectOptions(within(form).getByLabelText("Reason code"), "payer");
  await userEvent.type(within(form).getByLabelText("Reason"), "Payer declined");
  await userEvent.click(submit);
  expect(await screen.findByRole("status")).toHaveTextContent("The slot is released.");
  expect(calls.find((c) => c.method === "POST")).toMatchObject({ path: "/api/cases/7/slot/release", body: { reason_code: "payer", reason_text: "Payer declined" } });
  expect(screen.getByText("Released")).toBeInTheDocument();
});
