// One patient's whole journey across the roles, through the UI only (scans typed into the
// keyboard-wedge field as a scanner does), with the refusals a user would hit on the way.
import type { Page } from "@playwright/test";
import { expect, test } from "./fixtures";
import {
  PASSWORD, TC_TZ, caseDetail, checkA11y, dayIn, payloads, scan, shot, signIn, verdict, wristbandOf,
} from "./helpers";

test.describe.configure({ mode: "serial" });

let caseId = 0;
let coi = "";
let wristband = "";
const bags: Record<string, string> = {};

test("coordinator enrolls a patient and schedules collection", async ({ browser }) => {
  const page = await signIn(browser, "coordinator");
  await expect(page).toHaveTitle("Case board — cartrack");
  await checkA11y(page, "case board");
  await shot(page, "case-board");

  await page.getByRole("link", { name: "Enroll a patient" }).click();
  await page.getByLabel("Given name").fill("Eve");
  await page.getByLabel("Family name").fill("Example");
  await page.getByLabel("Date of birth").fill("1970-05-06");
  await page.getByLabel("Medical record number (MRN)").fill("MRN-E2E-1");
  await page.getByLabel("Product (current protocol version)").selectOption("yescarta");
  await page.getByLabel("Collection site").selectOption("TC-CITY");
  await checkA11y(page, "enroll");
  await shot(page, "enroll");
  await page.getByRole("button", { name: "Enroll and issue COI" }).click();

  await expect(page).toHaveURL(/\/cases\/\d+$/);
  caseId = Number(page.url().split("/").pop());
  const detail = await caseDetail(page, caseId);
  coi = detail.coi;
  // No PHI in the address or the title: numeric id and COI only.
  expect(page.url()).not.toContain("Example");
  await expect(page).toHaveTitle(`Case ${detail.coi}${detail.coi_check} — cartrack`);
  await expect(page.getByText("Example, Eve")).toBeVisible();

  await page.getByRole("button", { name: "Schedule collection" }).click();
  const form = page.getByRole("form", { name: "Schedule collection" });
  await form.getByLabel("Manufacturing slot").fill("MF-EAST slot 21");
  await form.getByRole("button", { name: "Schedule collection" }).click();
  await expect(page.getByText("Schedule collection: recorded.")).toBeVisible();
  await expect(page.locator(".case-head .state")).toHaveText("collection scheduled");
  wristband = wristbandOf(await payloads(page, caseId));
  await page.context().close();
});

test("collection staff record the collection, print labels and ship by scanning", async ({ browser }) => {
  const page = await signIn(browser, "collection_staff");
  await expect(page).toHaveURL(/\/scan$/);
  await expect(page.locator("#scan-input")).toBeFocused();
  await scan(page, wristband);
  await verdict(page, "Match", "Wristband of case");
  await page.getByRole("button", { name: "Record collection" }).click();
  const form = page.getByRole("form", { name: "Record collection" });
  await form.getByRole("button", { name: "Add apheresis unit" }).click();
  const volumes = form.getByLabel("Volume (mL)");
  await volumes.nth(0).fill("210");
  await volumes.nth(1).fill("190");
  await checkA11y(page, "scan station with the record collection form");
  await form.getByRole("button", { name: "Record collection" }).click();
  await expect(page.getByText("Record collection: recorded.")).toBeVisible();
  // Print each new bag's label (the PDF opens); the case sheet holds the wristband printed at
  // enrollment too, so printing it again asks why (reprints are recorded).
  const units = (await caseDetail(page, caseId)).units.filter((u) => u.kind === "apheresis");
  expect(units).toHaveLength(2);
  for (const u of units) {
    const [label] = await Promise.all([page.waitForEvent("popup"), page.getByRole("button", { name: `Print label ${u.unit_id}` }).click()]);
    await label.close();
  }
  await page.getByRole("button", { name: "Print all labels (PDF sheet)" }).click();
  const reprint = page.getByRole("dialog", { name: "Reprint a label" });
  await expect(reprint).toContainText("reprint reason");
  await reprint.getByLabel("Reason for the reprint").fill("Wristband damaged; printing the full sheet");
  const [sheet] = await Promise.all([page.waitForEvent("popup"), reprint.getByRole("button", { name: "Reprint" }).click()]);
  await sheet.close();

  const map = await payloads(page, caseId);
  for (const u of units) bags[u.unit_id] = map.get(u.unit_id)!;
  const [a1, a2] = units.map((u) => bags[u.unit_id]);

  // Ship: the first scan opens the action, the second is added to the shipment list.
  await scan(page, a1);
  await verdict(page, "Match");
  await page.getByRole("button", { name: "Ship to manufacturing" }).click();
  await scan(page, a2);
  await verdict(page, "Match", "you may ship to manufacturing");
  const ship = page.getByRole("form", { name: "Ship to manufacturing" });
  await expect(ship.getByRole("list", { name: "Scanned bags" }).getByRole("listitem")).toHaveCount(2);
  await ship.getByLabel("Shipper type").fill("2-8 °C validated shipper");
  await ship.getByLabel("Courier").fill("MedCourier");
  await ship.getByLabel("Tracking number").fill("MC-E2E-1");
  await shot(page, "scan-station-ship");
  await ship.getByRole("button", { name: "Ship to manufacturing" }).click();
  await expect(page.getByText("Ship to manufacturing: recorded.")).toBeVisible();
  await page.context().close();
});

test("lab tech receives, manufactures, makes the product bag and records QC", async ({ browser }) => {
  const page = await signIn(browser, "lab_tech");
  await expect(page).toHaveURL(/\/scan$/);
  const [a1, a2] = Object.values(bags);

  await scan(page, a1);
  await verdict(page, "Match");
  await page.getByRole("button", { name: "Receive at manufacturing" }).click();
  await scan(page, a2);
  await verdict(page, "Match");
  const recv = page.getByRole("form", { name: "Receive at manufacturing" });
  await recv.getByLabel("Shipper temperature (°C)").fill("5");
  await recv.getByLabel("Storage location").fill("Receiving fridge 2");
  await recv.getByRole("button", { name: "Receive at manufacturing" }).click();
  await expect(page.getByText("Receive at manufacturing: recorded.")).toBeVisible();

  await scan(page, a1);
  await verdict(page, "Match");
  await page.getByRole("button", { name: "Start manufacturing" }).click();
  await page.getByRole("form", { name: "Start manufacturing" }).getByRole("button", { name: "Start manufacturing" }).click();
  await expect(page.getByText("Start manufacturing: recorded.")).toBeVisible();

  // The process steps in protocol order; the apheresis unit's scan goes with each.
  await scan(page, a1);
  await verdict(page, "Match");
  await page.getByRole("button", { name: "Record process step" }).click();
  for (const [i, step] of ["activation", "transduction", "expansion", "harvest", "formulation"].entries()) {
    if (i > 0) await page.getByRole("button", { name: "Record the next process step" }).click();
    const form = page.getByRole("form", { name: "Record process step" });
    await expect(form.getByLabel("Process step")).toHaveValue(step);
    await expect(form.getByLabel("Bag scan")).toHaveValue(a1);
    await form.getByRole("button", { name: "Record process step" }).click();
    await expect(page.getByText("Record process step: recorded.")).toBeVisible();
  }

  await scan(page, a1);
  await verdict(page, "Match");
  await page.getByRole("button", { name: "Complete manufacturing" }).click();
  const done = page.getByRole("form", { name: "Complete manufacturing" });
  await done.getByLabel("Volume (mL)").fill("68");
  await done.getByRole("button", { name: "Complete manufacturing" }).click();
  await expect(page.getByText("Complete manufacturing: recorded.")).toBeVisible();
  await expect(page.getByText("Print the labels now")).toBeVisible();

  const map = await payloads(page, caseId);
  const product = (await caseDetail(page, caseId)).units.find((u) => u.kind === "product")!;
  expect(product.parent_unit_id).toBeTruthy();
  bags[product.unit_id] = map.get(product.unit_id)!;
  const p1 = bags[product.unit_id];

  const results: Array<[string, string]> = [["sterility", "No growth"], ["mycoplasma", "Not detected"], ["endotoxin", "< 0.5 EU/mL"],
    ["viability", "91 %"], ["car_expression", "47 %"], ["vcn", "1.8"]];
  await scan(page, p1);
  await verdict(page, "Match");
  await page.getByRole("button", { name: "Record QC result" }).click();
  for (const [i, [test_, value]] of results.entries()) {
    if (i > 0) await page.getByRole("button", { name: "Record another QC result" }).click();
    const form = page.getByRole("form", { name: "Record QC result" });
    await expect(form.getByRole("combobox", { name: "QC test" })).toHaveValue(test_);
    await form.getByLabel("Result value").fill(value);
    await form.getByLabel("Result meets the specification").check();
    await form.getByRole("button", { name: "Record QC result" }).click();
    await expect(page.getByText("Record QC result: recorded.")).toBeVisible();
  }
  await page.context().close();
});

test("QA reviews QC against specification and releases with an e-signature", async ({ browser }) => {
  const page = await signIn(browser, "qa");
  await expect(page).toHaveURL(/\/qa$/);
  await checkA11y(page, "release queue");
  await shot(page, "qa-release-queue");
  await page.getByRole("link", { name: new RegExp(`Review ${coi}`) }).click();
  await expect(page.getByText("All 6 required tests present and within specification.")).toBeVisible();
  // What the rules stop for now is shown disabled, with the rule and why.
  const oos = page.getByRole("button", { name: "Report out of specification" });
  await expect(oos).toBeDisabled();
  await expect(oos).toHaveAccessibleDescription(/record the failing result first/);
  await page.getByRole("button", { name: "Release (e-signature)" }).click();
  await page.getByRole("form", { name: "Release" }).getByRole("button", { name: "Release" }).click();
  const dialog = page.getByRole("dialog", { name: "Electronic signature" });
  await expect(dialog).toContainText("Approved for release");
  await expect(dialog).toContainText("Quinn Quality");
  await checkA11y(page, "e-signature dialog");
  await shot(page, "qa-esignature");
  // A wrong password signs nothing, and says so next to the field.
  await dialog.getByLabel("Your password").fill("not-the-password");
  await dialog.getByRole("button", { name: "Sign" }).click();
  await expect(dialog).toContainText("The signature password is wrong");
  await dialog.getByLabel("Your password").fill(PASSWORD);
  await dialog.getByRole("button", { name: "Sign" }).click();
  const receipt = page.getByRole("list", { name: "Signatures" }).first();
  await expect(receipt).toContainText("Signed by Quinn Quality");
  await expect(receipt).toContainText("Approved for release");
  await shot(page, "qa-released");
  await page.context().close();
});

test("lab tech ships the product to the treatment center", async ({ browser }) => {
  const page = await signIn(browser, "lab_tech");
  const product = Object.keys(bags)[2];
  await scan(page, bags[product]);
  await verdict(page, "Match");
  await page.getByRole("button", { name: "Ship to treatment center" }).click();
  const form = page.getByRole("form", { name: "Ship to treatment center" });
  await form.getByLabel("Shipper type").fill("LN2 dry shipper");
  await form.getByRole("button", { name: "Ship to treatment center" }).click();
  await expect(page.getByText("Ship to treatment center: recorded.")).toBeVisible();
  await page.context().close();
});

test("infusion staff receive, lymphodeplete, thaw, check at the bedside with a second signer, and monitor", async ({ browser }) => {
  const product = Object.keys(bags)[2];
  const page = await signIn(browser, "infusion_staff");
  await page.context().grantPermissions(["notifications"]);
  await expect(page).toHaveURL(/\/infusion$/);
  await checkA11y(page, "infusion list");
  await page.getByRole("link", { name: new RegExp(`Open ${coi}`) }).click();

  // Receive by scanning.
  await scan(page, bags[product]);
  await verdict(page, "Match");
  const recv = page.getByRole("form", { name: "Receive at treatment center" });
  await expect(recv.getByRole("list", { name: "Scanned bags" }).getByRole("listitem")).toHaveCount(1);
  await recv.getByLabel("Shipper temperature (°C)").fill("-180");
  await recv.getByLabel("Storage location").fill("LN2 tank B, rack 3");
  await recv.getByRole("button", { name: "Receive at treatment center" }).click();
  await expect(page.locator(".case-head .state")).toHaveText("received at treatment center");

  // Lymphodepletion: Yescarta infuses 3 days after the end of LD (days -5 to -3).
  const start = page.getByRole("form", { name: "Start lymphodepletion" });
  await start.getByLabel("Start date").fill(dayIn(TC_TZ, -5));
  await start.getByRole("button", { name: "Start lymphodepletion" }).click();
  const complete = page.getByRole("form", { name: "Complete lymphodepletion" });
  await complete.getByLabel("End date").fill(dayIn(TC_TZ, -3));
  await complete.getByRole("button", { name: "Complete lymphodepletion" }).click();
  await expect(page.getByText(/Completed \d/)).toBeVisible();

  // Thaw by scanning the bag, then the big countdown to the thaw limit.
  await scan(page, bags[product]);
  await verdict(page, "Match");
  await page.getByRole("form", { name: "Thaw" }).getByRole("button", { name: "Thaw" }).click();
  await expect(page.getByTestId("thaw-countdown")).toBeVisible();
  await expect(page.getByTestId("thaw-countdown")).toHaveText(/^(2 h 5\d min|3 h 00 min)$/);
  await checkA11y(page, "thawed, bedside check");
  await shot(page, "infusion-thaw-countdown", { top: true });

  // A second nurse's screen is open on the alert inbox: critical alerts arrive there live.
  const colleague = await signIn(browser, "infusion_staff2");
  await colleague.getByRole("link", { name: /Alerts/ }).click();
  await expect(colleague.getByText("Live", { exact: true })).toBeVisible();

  // Bedside: wristband, then a bag of ANOTHER patient (refused), then the right bag.
  await scan(page, wristband);
  await verdict(page, "Match", "Wristband confirmed");
  const other = await otherPatientsBag(page);
  await scan(page, other);
  const overlay = page.getByTestId("verdict");
  await expect(overlay).toHaveClass(/verdict-mismatch/);
  await expect(overlay).toContainText("another patient");
  await checkA11y(page, "mismatch verdict");
  await shot(page, "bedside-mismatch");
  await overlay.getByRole("button", { name: "Continue" }).click();
  await expect(page.getByText("Both scans must match")).toBeVisible();
  // The mismatch raised a critical alert, shown live on this page and on the colleague's.
  await expect(page.getByTestId("alert-toast").first()).toContainText(/mismatch/i);
  await page.getByTestId("alert-toast").first().getByRole("button", { name: /Dismiss/ }).click();
  const toast = colleague.getByTestId("alert-toast").filter({ hasText: /mismatch/i }).first();
  await expect(toast).toBeVisible();
  await expect(colleague.getByTestId("critical-badge")).toBeVisible();
  await checkA11y(colleague, "alert inbox with a live alert");
  await shot(colleague, "alerts-live");
  await toast.getByRole("button", { name: "Acknowledge" }).click();
  const ack = colleague.getByRole("dialog", { name: "Acknowledge alert" });
  await ack.getByLabel(/Note/).fill("Wrong bag taken back to the tank; right bag checked at the bedside.");
  await ack.getByRole("button", { name: "Acknowledge" }).click();
  await expect(ack).toBeHidden();
  await colleague.context().close();

  await scan(page, wristband);
  await verdict(page, "Match");
  await scan(page, bags[product]);
  await verdict(page, "Match", "Correct bag");
  const infuse = page.getByRole("form", { name: "Infuse" });
  await infuse.getByLabel("Username").fill("infusion_staff2");
  await infuse.getByLabel("Password").fill(PASSWORD);
  await shot(page, "bedside-two-person-check");
  await infuse.getByRole("button", { name: "Sign and record the infusion" }).click();
  const dialog = page.getByRole("dialog", { name: "Electronic signature" });
  await expect(dialog).toContainText("Verified");
  await dialog.getByLabel("Your password").fill(PASSWORD);
  await dialog.getByRole("button", { name: "Sign" }).click();
  const sigs = page.getByRole("list", { name: "Signatures" }).first();
  await expect(sigs).toContainText("Signed by Iris Infusion");
  await expect(sigs).toContainText("Signed by Ivan Infusion");

  // Monitoring day 1 is the treatment center's next calendar day: on the day of the infusion
  // no check can be recorded, and the page says, in words, from when it can.
  await expect(page.locator(".case-head .state")).toHaveText("infused");
  const mon = page.getByRole("region", { name: "Monitoring" });
  await expect(mon).toContainText("Not possible now");
  await expect(mon).toContainText(/the next monitoring check can be recorded from \d{4}-\d{2}-\d{2}/);
  await expect(page.getByRole("form", { name: "Record monitoring check" })).toHaveCount(0);
  await page.context().close();
});

test("coordinator sees the whole vein-to-vein record", async ({ browser }) => {
  const page = await signIn(browser, "coordinator");
  await page.goto(`/cases/${caseId}`);
  await expect(page.locator(".case-head .state")).toHaveText("infused");
  await expect(page.getByRole("table", { name: /Vein-to-vein/ })).toContainText("Infused");
  await expect(page.getByRole("list", { name: "Bags and their lineage" })).toContainText("final product bag");
  await expect(page.getByRole("table", { name: "Custody events of the bags" })).toContainText("match");
  await checkA11y(page, "case page");
  await shot(page, "case-page", { top: true });
  await page.getByRole("button", { name: /Show the audit trail/ }).click();
  await expect(page.getByRole("table", { name: "Audit trail" })).toContainText("enroll");
  await page.context().close();
});

async function otherPatientsBag(page: Page): Promise<string> {
  // A demo patient's product bag stored at the same treatment center.
  const res = await page.request.get("/api/cases?state=received_at_treatment_center&limit=50");
  const items = ((await res.json()) as { items: Array<{ id: number }> }).items.filter((c) => c.id !== caseId);
  const map = await payloads(page, items[0].id);
  const unit = (await caseDetail(page, items[0].id)).units.find((u) => u.kind === "product")!;
  return map.get(unit.unit_id)!;
}
