import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { expect, test } from "vitest";
import { AuthProvider } from "../auth/AuthContext";
import { ME, mockFetch } from "../test/fetchMock";
import type { Shipment } from "./api";
import { ReceiptCheck, ReceiptRecord } from "./ReceiptCheck";

const RECEIVED: Shipment = {
  id: 9, case_id: 7, coi: "CHA999926000007", coi_check: "K", direction: "product_to_treatment_center", status: "received",
  profile: "ln2_vapour", profile_version: 1, low_c: -196, high_c: -150, max_transit_hours: 120, shipper_type: "LN2 dry shipper",
  shipper_serial: "DS-1", logger_serial: "LG-1", seal_id: "SEAL-1", courier: "Cryo Couriers", air_waybill: "AWB1", units: ["U1"],
  handed_over_at: "2026-11-27T08:00:00Z", received_at: "2026-11-28T08:00:00Z", transit_hours: 24, within_transit_limit: true,
  receipt: null, receipt_checklist: null, summary: null, excursions: [], gaps: [],
};

test("a receipt with every item checked is signed as accepted, and the body names what was scanned", async () => {
  const calls = mockFetch((c) => {
    if (c.path === "/api/auth/me") return { body: { ...ME, username: "infusion_staff", full_name: "Iris Infusion" } };
    if (c.path === "/api/shipments/9/receipt") return { body: { ...RECEIVED, receipt: "accepted" } };
    return undefined;
  });
  let done: Shipment | undefined;
  render(<AuthProvider><ReceiptCheck shipment={RECEIVED} coi="CHA999926000007K" isQa={false} onDone={(s) => { done = s; }} /></AuthProvider>);
  const form = screen.getByRole("form", { name: "Receipt check of shipment 9" });
  // Nothing checked yet: signing now would reject the shipment, and the form says why.
  expect(within(form).getByRole("note")).toHaveTextContent(/package intact, seal intact, seal matches, shipper serial matches, logger serial matches, logger stopped/);
  expect(within(form).getByRole("button", { name: "Sign: rejected…" })).toBeInTheDocument();
  await userEvent.click(within(form).getByLabelText("Package intact"));
  await userEvent.click(within(form).getByLabelText("Seal intact"));
  await userEvent.type(within(form).getByLabelText("Seal scanned on arrival"), "SEAL-1");
  await userEvent.type(within(form).getByLabelText("Shipper serial scanned on arrival"), "DS-1");
  await userEvent.type(within(form).getByLabelText("Logger serial scanned on arrival"), "LG-1");
  await userEvent.click(within(form).getByLabelText("Logger stopped"));
  expect(within(form).queryByRole("note")).toBeNull();
  await userEvent.click(within(form).getByRole("button", { name: "Sign: accepted…" }));
  const dialog = screen.getByRole("dialog", { name: "Electronic signature" });
  expect(dialog).toHaveTextContent("Receipt check: accepted");
  await userEvent.type(within(dialog).getByLabelText("Your password"), "pw");
  await userEvent.click(within(dialog).getByRole("button", { name: "Sign" }));
  await screen.findByRole("form", { name: "Receipt check of shipment 9" });
  expect(calls.find((c) => c.method === "POST")?.body).toEqual({
    package_intact: true, seal_intact: true, seal_id: "SEAL-1", shipper_serial: "DS-1", logger_serial: "LG-1",
    logger_stopped: true, notes: null, accept_deviation: false, signature: { password: "pw" },
  });
  expect(done?.receipt).toBe("accepted");
});

test("only QA is offered to accept a failed item as a deviation", () => {
  mockFetch((c) => (c.path === "/api/auth/me" ? { body: ME } : undefined));
  const { unmount } = render(<AuthProvider><ReceiptCheck shipment={RECEIVED} coi="C" isQa={false} onDone={() => undefined} /></AuthProvider>);
  expect(screen.queryByLabelText("Accept with deviation (QA)")).toBeNull();
  unmount();
  render(<AuthProvider><ReceiptCheck shipment={RECEIVED} coi="C" isQa onDone={() => undefined} /></AuthProvider>);
  expect(screen.getByLabelText("Accept with deviation (QA)")).toBeInTheDocument();
});

test("a signed receipt lists each item, failed ones marked", () => {
  const signed = { ...RECEIVED, receipt: "rejected", receipt_checklist: { checklist: { package_intact: false, seal_intact: true } } };
  render(<ReceiptRecord shipment={signed} />);
  expect(screen.getByText(/Receipt check:/)).toHaveTextContent("Receipt check: rejected");
  const items = screen.getByRole("list", { name: "Receipt checklist" });
  expect(items).toHaveTextContent("✗ package intact");
  expect(items).toHaveTextContent("✓ seal intact");
});
