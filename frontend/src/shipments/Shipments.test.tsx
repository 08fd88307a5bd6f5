import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { expect, test } from "vitest";
import { AuthProvider } from "../auth/AuthContext";
import { ME, mockFetch } from "../test/fetchMock";
import { parseRule, type Shipment } from "./api";
import { DispositionForm } from "./Disposition";
import { TemperatureChart } from "./TemperatureChart";

const EXC = {
  id: 5, shipment_id: 9, rule: "consecutive:high:8.0", kind: "consecutive", started_at: "2026-11-28T20:30:00Z", ended_at: "2026-11-28T22:00:00Z",
  triggered_at: "2026-11-28T21:00:00Z", duration_minutes: 90, extreme_c: 11, events: 1, disposition: "pending_qa", disposition_reason: null, disposition_at: null, signature_id: null,
};
const SHIPMENT: Shipment = {
  id: 9, case_id: 7, coi: "CHA999926000007", coi_check: "K", direction: "apheresis_to_manufacturing", status: "in_transit", profile: "fresh_2_8", profile_version: 1, low_c: 2, high_c: 8,
  max_transit_hours: 30, shipper_type: "2-8 °C validated shipper", shipper_serial: null, logger_serial: "LG-1", seal_id: null, courier: "MedCourier",
  air_waybill: "MC1", units: ["A1"], handed_over_at: "2026-11-28T18:00:00Z", received_at: null, transit_hours: null, within_transit_limit: null, receipt: null, receipt_checklist: null,
  summary: { points: 36, first_at: "2026-11-28T18:00:00Z", last_at: "2026-11-29T02:45:00Z", trip_minutes: 525, min_c: 4.4, min_at: "2026-11-28T18:00:00Z", max_c: 11, max_at: "2026-11-28T20:30:00Z", mean_c: 6, mkt_c: 6.4 },
  excursions: [EXC], gaps: [],
};

test("the chart draws the limit band, the excursion window and the extremes, and says them in words", () => {
  const { container } = render(<TemperatureChart shipment={SHIPMENT} now={Date.parse("2026-11-29T03:00:00Z")} />);
  const chart = screen.getByRole("img", { name: "Temperature of shipment 9 against its limits" });
  expect(chart).toHaveAccessibleDescription(/Limits 2 to 8 °C\. 36 readings; minimum 4\.4 °C .* maximum 11 °C .* Excursion consecutive .* extreme 11 °C, pending qa\./);
  expect(container.querySelectorAll("rect.limit-band")).toHaveLength(1);
  expect(container.querySelectorAll("rect.excursion-window.pending_qa")).toHaveLength(1);
  expect(container.querySelectorAll("circle.extreme")).toHaveLength(2);
  // The band spans 2..8 °C: its top edge sits above (smaller y than) its bottom edge.
  const band = container.querySelector("rect.limit-band") as SVGRectElement;
  expect(Number(band.getAttribute("height"))).toBeGreaterThan(10);
  expect(parseRule("accumulative:low:-150")).toEqual({ kind: "accumulative", side: "low", threshold: -150 });
});

test("QA's disposition needs a decision and a reason, then the signature, and posts all three", async () => {
  const calls = mockFetch((c) => {
    if (c.path === "/api/auth/me") return { body: { ...ME, username: "qa", full_name: "Quinn Quality" } };
    if (c.path === "/api/excursions/5/disposition") return { body: { ...EXC, disposition: "acceptable", disposition_reason: "Within stability data" } };
    return undefined;
  });
  let done: unknown;
  render(<AuthProvider><DispositionForm excursion={EXC} coi="CHA999926000007K" onDone={(e) => { done = e; }} /></AuthProvider>);
  const form = screen.getByRole("form", { name: "Disposition of excursion 5" });
  const sign = within(form).getByRole("button", { name: "Sign the disposition…" });
  expect(sign).toBeDisabled();
  await userEvent.click(within(form).getByLabelText(/Acceptable/));
  await userEvent.type(within(form).getByLabelText("Reason"), "Within stability data");
  await userEvent.click(sign);
  const dialog = screen.getByRole("dialog", { name: "Electronic signature" });
  expect(dialog).toHaveTextContent("Approval: temperature excursion acceptable");
  await userEvent.type(within(dialog).getByLabelText("Your password"), "pw");
  await userEvent.click(within(dialog).getByRole("button", { name: "Sign" }));
  await screen.findByRole("form", { name: "Disposition of excursion 5" });
  expect(calls.find((c) => c.method === "POST")?.body).toEqual({ decision: "acceptable", reason: "Within stability data", signature: { password: "pw" } });
  expect(done).toMatchObject({ disposition: "acceptable" });
});
