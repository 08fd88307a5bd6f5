// Packing at the scan station: the collection staff scan the shipper, its data logger and the
// seal (each checked against the catalog as it comes in), then the bag, and ship; the shipment
// is recorded as tracked, with its shipper now in use. Then receiving at manufacturing: the lab
// tech sees what to compare and the logger's temperatures with the limit band, and receives.
import { expect, test } from "./fixtures";
import { PASSWORD, TC_TZ, csrfToken, dayIn, payloads, scan, shot, signIn, verdict } from "./helpers";
import type { Page } from "@playwright/test";

const trip = { caseId: 0, bag: "", shipmentId: 0 };

async function post(page: Page, url: string, data: unknown): Promise<unknown> {
  const res = await page.request.post(url, { data, headers: { "X-CSRF-Token": await csrfToken(page) } });
  expect(res.status(), `${url}: ${await res.text()}`).toBeLessThan(300);
  return res.json();
}

test("collection staff pack a tracked shipper at the scan station: shipper, logger, seal, then the bag", async ({ browser }) => {
  const coordinator = await signIn(browser, "coordinator");
  const kase = (await post(coordinator, "/api/cases", {
    patient: { given_name: "Paul", family_name: "Packer", date_of_birth: "1966-02-02", mrn: "MRN-E2E-PACK" },
    product: "kymriah", collection_site: "TC-CITY", manufacturing_site: "MF-EAST", treatment_site: "TC-CITY",
  })) as { id: number; coi: string };
  await post(coordinator, `/api/cases/${kase.id}/events`, {
    event: "schedule_collection", data: { collection_date: dayIn(TC_TZ, 0), manufacturing_slot: "MF-EAST cryo intake" },
  });

  const page = await signIn(browser, "collection_staff");
  await post(page, `/api/cases/${kase.id}/events`, {
    event: "record_collection", data: { collection_end: new Date(Date.now() - 3_600_000).toISOString(), units: [{ volume_ml: 205, anticoagulant: "ACD-A" }] },
  });
  const year = dayIn(TC_TZ, 365);
  await post(page, "/api/shippers", { serial: "DS-E2E-PACK", model: "LN2 dry shipper CXV2", profile_code: "ln2_vapour", qualified_until: year, nominal_hold_hours: 240 });
  await post(page, "/api/loggers", { serial: "LG-E2E-PACK", model: "Cryo logger TL-1", calibrated_until: year, sensor_min_c: -200, sensor_max_c: 50 });
  const labels = await payloads(coordinator, kase.id);
  await coordinator.context().close();
  const bag = [...labels.values()].find((p) => p.split(".")[2] === "U");
  expect(bag, "the case has an apheresis bag label").toBeTruthy();

  await page.getByRole("link", { name: "Scan station" }).click();
  await scan(page, bag ?? "");
  await verdict(page, "Match");
  await page.getByRole("button", { name: "Ship to manufacturing" }).click();
  await page.getByRole("button", { name: /Pack a tracked shipper/ }).click();
  const packing = page.getByTestId("packing");
  await expect(page.getByLabel("Scan the shipper")).toBeVisible();
  await scan(page, "DS-E2E-PACK");
  await expect(packing).toContainText("LN2 dry shipper CXV2, ln2_vapour, qualified until");
  await scan(page, "LG-E2E-PACK");
  await expect(packing).toContainText("reads -200 to 50 °C");
  await scan(page, "SEAL-0042");
  const form = page.getByRole("form", { name: "Ship to manufacturing" });
  await expect(form.getByLabel(/Shipper serial/i)).toHaveValue("DS-E2E-PACK");
  await expect(form.getByLabel(/Logger serial/i)).toHaveValue("LG-E2E-PACK");
  await expect(form.getByLabel(/Seal/i)).toHaveValue("SEAL-0042");
  await expect(form.getByRole("list", { name: "Scanned bags" }).getByRole("listitem")).toHaveCount(1);
  await form.getByLabel("Courier").fill("CryoCourier");
  await shot(page, "scan-station-packing");
  await form.getByRole("button", { name: "Ship to manufacturing" }).click();
  await expect(page.getByText("Ship to manufacturing: recorded.")).toBeVisible();

  const shipments = (await (await page.request.get(`/api/shipments?case_id=${kase.id}`)).json()) as Array<Record<string, unknown>>;
  expect(shipments).toHaveLength(1);
  trip.caseId = kase.id;
  trip.bag = bag ?? "";
  trip.shipmentId = Number(shipments[0].id);
  expect(shipments[0]).toMatchObject({ status: "in_transit", shipper_serial: "DS-E2E-PACK", logger_serial: "LG-E2E-PACK", seal_id: "SEAL-0042", profile: "ln2_vapour" });
  const shippers = (await (await page.request.get("/api/shippers")).json()) as Array<{ serial: string; status: string }>;
  expect(shippers.find((s) => s.serial === "DS-E2E-PACK")?.status).toBe("in_use");
  await page.context().close();
});

test("lab tech receives the tracked shipper with its temperatures and limit band in view", async ({ browser }) => {
  expect(trip.shipmentId, "the packing test shipped").toBeGreaterThan(0);
  const page = await signIn(browser, "lab_tech");
  // The logger's read-out: eight hours at about -185 °C, inside the LN2 vapour band.
  const t0 = Date.now() - 8 * 3_600_000;
  const readings = Array.from({ length: 33 }, (_, i) => ({ at: new Date(t0 + i * 15 * 60_000).toISOString(), temp_c: -185 + (i % 4) }));
  const imported = (await post(page, `/api/shipments/${trip.shipmentId}/readings`, readings)) as { inserted: number; excursions: unknown[] };
  expect(imported).toMatchObject({ inserted: 33, excursions: [] });

  await expect(page).toHaveURL(/\/scan$/);
  await scan(page, trip.bag);
  await verdict(page, "Match");
  await page.getByRole("button", { name: "Receive at manufacturing" }).click();
  const panel = page.getByTestId("receiving");
  await expect(panel.getByRole("heading", { name: `Receiving shipment ${trip.shipmentId}` })).toBeVisible();
  await expect(panel).toContainText("DS-E2E-PACK");
  await expect(panel).toContainText("LG-E2E-PACK");
  await expect(panel).toContainText("SEAL-0042");
  const chart = panel.getByTestId("temperature-chart");
  await expect(chart.locator("rect.limit-band")).toHaveCount(1);
  await expect(page.getByRole("img", { name: `Temperature of shipment ${trip.shipmentId} against its limits` }))
    .toHaveAccessibleDescription(/Limits -196 to -150 °C\. 33 readings; minimum -185 °C .* maximum -182 °C/);
  await panel.scrollIntoViewIfNeeded();
  await shot(page, "scan-station-receiving");
  const recv = page.getByRole("form", { name: "Receive at manufacturing" });
  await recv.getByLabel("Shipper temperature (°C)").fill("-184");
  await recv.getByLabel("Storage location").fill("LN2 tank 3");
  await recv.getByRole("button", { name: "Receive at manufacturing" }).click();
  await expect(page.getByText("Receive at manufacturing: recorded.")).toBeVisible();
  const shipment = (await (await page.request.get(`/api/shipments/${trip.shipmentId}`)).json()) as { status: string; within_transit_limit: boolean };
  expect(shipment).toMatchObject({ status: "received", within_transit_limit: true });
  const shippers = (await (await page.request.get("/api/shippers")).json()) as Array<{ serial: string; status: string }>;
  expect(shippers.find((s) => s.serial === "DS-E2E-PACK")?.status).toBe("quarantine");

  // The signed receipt check on the shipment's page: every item as found, then the signature.
  await page.goto(`/shipments/${trip.shipmentId}`);
  const check = page.getByRole("form", { name: `Receipt check of shipment ${trip.shipmentId}` });
  await check.getByLabel("Package intact").check();
  await check.getByLabel("Seal intact").check();
  await check.getByLabel("Seal scanned on arrival").fill("SEAL-0042");
  await check.getByLabel("Shipper serial scanned on arrival").fill("DS-E2E-PACK");
  await check.getByLabel("Logger serial scanned on arrival").fill("LG-E2E-PACK");
  await check.getByLabel("Logger stopped").check();
  await check.getByRole("button", { name: "Sign: accepted…" }).click();
  const dialog = page.getByRole("dialog", { name: "Electronic signature" });
  await expect(dialog).toContainText("Receipt check: accepted");
  await dialog.getByLabel("Your password").fill(PASSWORD);
  await dialog.getByRole("button", { name: "Sign" }).click();
  await expect(page.getByRole("list", { name: "Receipt checklist" })).toContainText("✓ every expected unit scanned, no other");
  await expect(page.getByText("Receipt check: accepted")).toBeVisible();
  await page.context().close();
});
