// A coordinator books a manufacturing slot from the calendar's availability heat-map: a closed
// day is refused with the next open days, one of them is held and confirmed with the
// e-signature; the calendar shows the planned milestones, and the case page the plan.
import { expect, test } from "./fixtures";
import { checkA11y, csrfToken, dayIn, shot, signIn } from "./helpers";

const MF_TZ = "America/New_York";

/** The first day at least `from` days ahead (facility-local) falling on `weekday` (0 = Sunday). */
function nextWeekday(weekday: number, from: number): string {
  for (let n = from; ; n++) {
    const day = dayIn(MF_TZ, n);
    if (new Date(`${day}T00:00:00Z`).getUTCDay() === weekday) return day;
  }
}

test("coordinator books a slot from the calendar, confirms it with a signature and sees the plan", async ({ browser }) => {
  // The planner's capacity: two starts a weekday for yescarta at MF-EAST, weekends closed.
  const admin = await signIn(browser, "admin");
  const pattern = await admin.request.put("/api/slots/capacity/MF-EAST/yescarta", {
    data: { start: dayIn(MF_TZ, 0), end: dayIn(MF_TZ, 70), weekdays: [2, 2, 2, 2, 2, 0, 0], note: "e2e pattern" },
    headers: { "X-CSRF-Token": await csrfToken(admin) },
  });
  expect(pattern.status(), await pattern.text()).toBe(200);
  await admin.context().close();

  const page = await signIn(browser, "coordinator");
  const enrolled = await page.request.post("/api/cases", {
    data: {
      patient: { given_name: "Elena", family_name: "Booker", date_of_birth: "1971-04-12", mrn: "MRN-E2E-SLOT" },
      product: "yescarta", collection_site: "TC-CITY", manufacturing_site: "MF-EAST", treatment_site: "TC-CITY",
    },
    headers: { "X-CSRF-Token": await csrfToken(page) },
  });
  expect(enrolled.status(), await enrolled.text()).toBe(201);
  const kase = (await enrolled.json()) as { id: number; coi: string; coi_check: string };

  await page.getByRole("link", { name: "Calendar" }).click();
  await expect(page).toHaveTitle(/^Calendar/);
  await expect(page.getByTestId("calendar").locator("td")).toHaveCount(7);
  await page.getByRole("button", { name: "Month", exact: true }).click();
  expect(await page.getByTestId("calendar").locator("td").count()).toBeGreaterThanOrEqual(28);

  const saturday = nextWeekday(6, 10);
  const monday = nextWeekday(1, 10);
  const book = page.locator("#book");
  await book.getByLabel("Manufacturing facility").selectOption("MF-EAST");
  await book.getByLabel("Product").selectOption("yescarta");
  const map = page.getByTestId("heatmap");
  await expect(map.locator(`td[data-day="${saturday}"]`)).toHaveClass(/heat-closed/);
  await expect(map.locator(`td[data-day="${saturday}"] button`)).toBeDisabled();
  const mondayCell = map.locator(`td[data-day="${monday}"]`);
  await expect(mondayCell).toHaveClass(/heat-open/);
  await expect(mondayCell).toContainText("2 of 2 open");
  await mondayCell.getByRole("button").click();
  await expect(page.getByLabel("Manufacturing start day")).toHaveValue(monday);
  await page.getByLabel("Case (COI)").selectOption(String(kase.id));

  // A closed day typed in: refused, with the next open days to pick from.
  await page.getByLabel("Manufacturing start day").fill(saturday);
  await page.getByRole("button", { name: /^Hold / }).click();
  await expect(page.getByRole("alert")).toContainText(`${saturday} at MF-EAST is closed`);
  const offered = page.locator(".next-open").getByRole("button");
  await expect(offered.first()).toBeVisible();
  await offered.first().click();
  await expect(page.getByLabel("Manufacturing start day")).toHaveValue(monday);
  await page.getByRole("button", { name: /^Hold / }).click();
  const booked = page.locator(".booked");
  await expect(booked).toContainText("Held (not yet confirmed)");
  await expect(booked).toContainText(kase.coi);
  await expect(mondayCell).toContainText("1 of 2 open");

  await booked.getByRole("button", { name: "Confirm with e-signature" }).click();
  const dialog = page.getByRole("dialog", { name: "Electronic signature" });
  await expect(dialog).toContainText("Approved: manufacturing slot");
  await dialog.getByLabel("Your password").fill("cartrack-demo");
  await dialog.getByRole("button", { name: "Sign" }).click();
  await expect(dialog).toBeHidden();
  await expect(booked).toContainText("Confirmed:");
  await expect(booked).toContainText("Confirmed by Cora Coordinator");

  // The calendar shows the case's planned manufacturing start, by COI, linking to the case.
  if (!(await page.getByTestId("calendar").locator(`td[data-day="${monday}"]`).count())) {
    await page.getByRole("button", { name: "Next month" }).click();
  }
  await page.getByLabel("Product").first().selectOption("yescarta");
  await expect(page.getByLabel("Product").first()).toHaveValue("yescarta");
  const entry = page.getByTestId("calendar").locator(`td[data-day="${monday}"]`)
    .getByRole("link", { name: `Manufacturing start planned: case ${kase.coi} at MF-EAST` });
  await expect(entry).toBeVisible();
  await checkA11y(page, "calendar and slot booking");
  await book.scrollIntoViewIfNeeded();
  await shot(page, "calendar-slot-booking");
  await page.evaluate(() => window.scrollTo(0, 0));
  await shot(page, "calendar-month");

  await entry.click();
  await expect(page).toHaveURL(new RegExp(`/cases/${kase.id}$`));
  const slot = page.getByTestId("case-slot");
  await expect(slot).toContainText("Confirmed");
  await expect(slot).toContainText("by Cora Coordinator");
  const plan = slot.getByRole("table", { name: /Derived plan/ });
  await expect(plan).toContainText("days vein to vein planned");
  const start = new Date(`${monday}T00:00:00Z`).toLocaleDateString("en-GB", { year: "numeric", month: "short", day: "2-digit", timeZone: "UTC" });
  await expect(plan.getByRole("row", { name: /Manufacturing start/ })).toContainText(start);
  await expect(slot.getByRole("button", { name: "Reschedule…" })).toBeVisible();
  await checkA11y(page, "case page with its slot");
  await page.locator("#slot").scrollIntoViewIfNeeded();
  await shot(page, "case-slot-plan");

  // Reschedule: a closed day changes nothing; the next day moves the slot (a new hold) with a reason.
  await slot.getByRole("button", { name: "Reschedule…" }).click();
  const move = page.getByRole("form", { name: "Reschedule the manufacturing slot" });
  await move.getByLabel("New manufacturing start day").fill(saturday);
  await move.getByLabel("Reason code").selectOption("mfg_capacity");
  await move.getByLabel("Reason", { exact: true }).fill("Facility asked to move the start by a day");
  await move.getByRole("button", { name: "Reschedule" }).click();
  await expect(move.getByRole("alert")).toContainText(`${saturday} at MF-EAST is closed`);
  const tuesday = new Date(Date.parse(`${monday}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
  await move.getByLabel("New manufacturing start day").fill(tuesday);
  await move.getByRole("button", { name: "Reschedule" }).click();
  await expect(move).toBeHidden();
  await expect(slot.getByRole("status")).toContainText("The slot moved to");
  await expect(slot).toContainText("Held (not yet confirmed)");
  const moved = new Date(`${tuesday}T00:00:00Z`).toLocaleDateString("en-GB", { year: "numeric", month: "short", day: "2-digit", timeZone: "UTC" });
  await expect(plan.getByRole("row", { name: /Manufacturing start/ })).toContainText(moved);
  await page.context().close();
});
