// The cold chain: logger readings with a run above 8 °C posted to a shipment in transit make a
// pending excursion; the coordinator sees it on the in-transit board, and QA dispositions it
// from the excursions queue, with the temperature chart and its limit band in view.
import { expect, test } from "./fixtures";
import { checkA11y, csrfToken, shot, signIn } from "./helpers";

interface ShipmentJson { id: number; case_id: number; profile: string; excursions: Array<{ id: number; disposition: string }> }

test("QA dispositions a temperature excursion from the queue with the chart in view", async ({ browser }) => {
  const coordinator = await signIn(browser, "coordinator");
  const list = (await (await coordinator.request.get("/api/shipments?status=in_transit&limit=200")).json()) as ShipmentJson[];
  const shipment = list.find((s) => s.profile === "fresh_2_8" && !s.excursions.length);
  expect(shipment, "the demo has a 2-8 °C shipment in transit").toBeTruthy();
  const id = shipment?.id ?? 0;
  // Nine hours of readings every 15 minutes, 11 °C for an hour and a half in the middle.
  const t0 = Date.now() - 10 * 3_600_000;
  const readings = Array.from({ length: 36 }, (_, i) => ({
    at: new Date(t0 + i * 15 * 60_000).toISOString(),
    temp_c: i >= 10 && i < 16 ? 11 : 5 + 0.3 * ((i % 5) - 2),
  }));
  const posted = await coordinator.request.post(`/api/shipments/${id}/readings`, {
    data: readings, headers: { "X-CSRF-Token": await csrfToken(coordinator) },
  });
  expect(posted.status(), await posted.text()).toBe(200);
  const imported = (await posted.json()) as { inserted: number; excursions: Array<{ id: number; disposition: string }> };
  expect(imported.inserted).toBe(36);
  expect(imported.excursions.length).toBeGreaterThan(0);
  // The demo's logger already sent readings from the hand-over on: the chart counts them all.
  const reported = (await (await coordinator.request.get(`/api/shipments/${id}`)).json()) as { summary: { points: number } | null };
  const points = reported.summary?.points ?? 0;
  expect(points).toBeGreaterThanOrEqual(36);

  await coordinator.getByRole("link", { name: "Shipments" }).click();
  const board = coordinator.getByTestId("shipment-board");
  const row = board.getByRole("row", { name: new RegExp(`Shipment ${id}\\b`) });
  await expect(row).toContainText(`${imported.excursions.length} waiting for QA`);
  await checkA11y(coordinator, "in-transit board");
  await shot(coordinator, "shipments-in-transit", { top: true });
  await row.getByRole("link", { name: `Shipment ${id}` }).click();
  await expect(coordinator.getByRole("heading", { name: `Shipment ${id}`, level: 1 })).toBeVisible();
  await expect(coordinator.getByTestId("temperature-chart").locator("rect.excursion-window")).toHaveCount(imported.excursions.length);
  await expect(coordinator.getByText("Waiting for QA's signed disposition")).toBeVisible();
  // The case page lists the case's shipments, this one with its excursions waiting.
  await coordinator.locator(".case-head").getByRole("link").first().click();
  await expect(coordinator).toHaveURL(/\/cases\/\d+$/);
  const onCase = coordinator.locator("#shipments").getByRole("row", { name: new RegExp(`Shipment ${id}\\b`) });
  await expect(onCase).toContainText("waiting for QA");
  await coordinator.context().close();

  const qa = await signIn(browser, "qa");
  await qa.getByRole("link", { name: "Excursions" }).click();
  await expect(qa).toHaveTitle(/^Excursions/);
  await qa.getByRole("list", { name: "Shipments with excursions waiting" }).getByRole("button", { name: new RegExp(`Shipment ${id}\\b`) }).click();
  const chart = qa.getByTestId("temperature-chart");
  await expect(chart).toBeVisible();
  await expect(chart.locator("rect.limit-band")).toHaveCount(1);
  await expect(chart.locator("rect.excursion-window.pending_qa")).toHaveCount(imported.excursions.length);
  await expect(qa.getByRole("img", { name: `Temperature of shipment ${id} against its limits` })).toHaveAccessibleDescription(new RegExp(`Limits 2 to 8 °C\\. ${points} readings; .* maximum 11 °C`));
  await checkA11y(qa, "excursions queue");
  await qa.evaluate(() => window.scrollTo(0, 0));
  await shot(qa, "qa-excursion-queue");

  for (const [i, exc] of imported.excursions.entries()) {
    const form = qa.getByRole("form", { name: `Disposition of excursion ${exc.id}` });
    await form.getByLabel(/Acceptable/).check();
    await form.getByLabel("Reason").fill("90 min at 11 °C is within the product's stability data for fresh apheresis");
    await form.getByRole("button", { name: "Sign the disposition…" }).click();
    const dialog = qa.getByRole("dialog", { name: "Electronic signature" });
    await expect(dialog).toContainText("Approval: temperature excursion acceptable");
    await dialog.getByLabel("Your password").fill("cartrack-demo");
    if (i === 0) await shot(qa, "qa-excursion-disposition");
    await dialog.getByRole("button", { name: "Sign" }).click();
    await expect(dialog).toBeHidden();
    await expect(qa.getByRole("status")).toContainText(`Excursion ${exc.id} dispositioned: acceptable`);
  }
  // The queue is read again: empty, or the demo's other shipments still waiting, without this one.
  await expect(qa.getByText("No excursion is waiting for a disposition.").or(
    qa.getByRole("list", { name: "Shipments with excursions waiting" }),
  ).first()).toBeVisible();
  await expect(qa.getByRole("list", { name: "Shipments with excursions waiting" }).getByRole("button", { name: new RegExp(`Shipment ${id}\\b`) })).toHaveCount(0);
  const after = (await (await qa.request.get(`/api/shipments/${id}`)).json()) as ShipmentJson;
  expect(after.excursions.map((e) => e.disposition)).toEqual(imported.excursions.map(() => "acceptable"));
  await qa.context().close();
});
