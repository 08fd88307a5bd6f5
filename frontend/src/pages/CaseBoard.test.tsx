import { render, screen, within } from "@testing-library/react";
import { MemoryRouter } from "react-router";
import { expect, test } from "vitest";
import { CaseTable } from "./CaseBoard";

const base = {
  coi: "CHA999926000001", coi_check: "K", held_from: null, version: 1, product: "yescarta", protocol_version: 1,
  collection_site: "TC-CITY", manufacturing_site: "MF-EAST", treatment_site: "TC-CITY", updated_at: "2026-01-01T00:00:00Z",
};
const deadline = (hours: number) => ({
  id: 1, kind: "thaw_to_infusion" as const, ordinal: null, label: "Thawed product must be infused", opened_at: "2026-01-01T00:00:00Z", earliest_at: null,
  due_at: new Date(Date.now() + hours * 3_600_000).toISOString(), status: "open" as const, closed_at: null,
});

test("rows are coloured by risk: red under 2 h or overdue, amber under 24 h", () => {
  render(
    <MemoryRouter>
      <CaseTable items={[
        { ...base, id: 1, state: "thawed", next_deadline: deadline(1) },
        { ...base, id: 2, state: "shipped_to_treatment_center", next_deadline: deadline(10) },
        { ...base, id: 3, state: "manufacturing", next_deadline: deadline(100) },
        { ...base, id: 4, state: "collected", next_deadline: deadline(-1) },
        { ...base, id: 5, state: "enrolled", next_deadline: null },
      ]} />
    </MemoryRouter>,
  );
  const rows = screen.getAllByRole("row").slice(1);
  expect(rows.map((r) => r.getAttribute("data-risk"))).toEqual(["red", "amber", "ok", "overdue", "ok"]);
  expect(rows[3]).toHaveTextContent(/overdue by/);
  // Links route by numeric case id only (no PHI in URLs).
  expect(within(rows[0]).getByRole("link")).toHaveAttribute("href", "/cases/1");
});

test("the patient column appears only when the server sends patient details", () => {
  const patient = { given_name: "Amelia", family_name: "Okafor-Lind", date_of_birth: "1971-03-09", mrn: "MRN-77410" };
  const { unmount } = render(
    <MemoryRouter>
      <CaseTable items={[{ ...base, id: 1, state: "enrolled", next_deadline: null, patient }]} />
    </MemoryRouter>,
  );
  expect(screen.getByRole("columnheader", { name: "Patient" })).toBeInTheDocument();
  expect(screen.getAllByRole("row")[1]).toHaveTextContent("Okafor-Lind, Amelia MRN MRN-77410 · born 1971-03-09");
  unmount();
  render(
    <MemoryRouter>
      <CaseTable items={[{ ...base, id: 2, state: "enrolled", next_deadline: null, patient: null }]} />
    </MemoryRouter>,
  );
  expect(screen.queryByRole("columnheader", { name: "Patient" })).toBeNull();
});
