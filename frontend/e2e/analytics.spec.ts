// The analytics page on the demo's year of history (charts, KPI tiles, drill-down to cases),
// under a strict Content-Security-Policy; the case page's vein-to-vein count; and enrollment
// from a FHIR R5 Patient pasted or loaded as a file.
import { expect, test, type Page } from "@playwright/test";
import { checkA11y, shot, signIn } from "./helpers";

interface Row { case_id: number; coi: string; value: number | null; status: string; product: string }

/** Serve the app's pages with `default-src 'self'` and record every CSP violation. */
async function strictCsp(page: Page): Promise<void> {
  await page.route("**/*", async (route) => {
    if (route.request().resourceType() !== "document") return route.continue();
    const response = await route.fetch();
    await route.fulfill({ response, headers: { ...response.headers(), "content-security-policy": "default-src 'self'" } });
  });
  await page.addInitScript(() => {
    const w = window as unknown as { cspViolations: string[] };
    w.cspViolations = [];
    document.addEventListener("securitypolicyviolation", (e) => w.cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
  });
}

test("coordinator reads a year of vein-to-vein numbers and drills down to a case", async ({ browser }) => {
  const page = await signIn(browser, "coordinator");
  await page.getByRole("link", { name: "Analytics" }).click();
  await expect(page).toHaveTitle("Analytics — cartrack");
  // From here on the page is loaded again, served under the strict policy.
  await strictCsp(page);
  await page.reload();
  const boxes = page.getByTestId("v2v-boxplot");
  await expect(boxes.locator(".visx-boxplot")).toHaveCount(6);
  await expect(page.getByTestId("stage-waterfall").locator("rect")).toHaveCount(4);

  // The tiles say what the API says for the same period.
  const start = await page.getByLabel("From (collection date)").inputValue();
  const end = await page.getByLabel("To", { exact: true }).inputValue();
  const overall = await (await page.request.get(`/api/analytics/intervals?metric=v2v&group_by=&start=${start}&end=${end}`)).json() as { groups: Array<{ n: number; value: { median: number } }> };
  expect(overall.groups[0].n).toBeGreaterThan(120);
  const tile = page.getByRole("list", { name: "Key figures" }).getByRole("listitem").first();
  await expect(tile).toContainText("Median vein to vein");
  await expect(tile).toContainText(`${overall.groups[0].value.median} days`);
  await expect(page.getByRole("list", { name: "Key figures" })).toContainText("Slot utilisation");
  const refs = page.getByRole("list", { name: "Published reference medians" }).getByRole("listitem");
  expect(await refs.count()).toBeGreaterThanOrEqual(4);
  await expect(refs.first().getByRole("link")).toHaveAttribute("href", /^https?:\/\//);

  const rows = page.getByTestId("drilldown").locator("tbody tr");
  await expect(rows).toHaveCount(25);
  await page.getByLabel("Cases", { exact: true }).selectOption("open");
  await expect(rows.first()).toContainText("open");
  // Checked before axe-core is injected (it is the test's script, not the page's).
  // The app shell's placeholder favicon (`<link rel="icon" href="data:,">` in index.html) is
  // the shell's, not this page's, to settle with the policy.
  const violations = (await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations))
    .filter((v) => !/^img-src data http:\/\/[^ ]+\/analytics:7$/.test(v));
  expect(violations, "the page works under default-src 'self'").toEqual([]);
  await page.getByLabel("Cases", { exact: true }).selectOption("");
  await expect(rows).toHaveCount(25);
  await checkA11y(page, "analytics");
  await shot(page, "analytics", { top: true });

  await page.getByLabel("Cases", { exact: true }).selectOption("done");
  // The list is the filtered one once its first row (latest first: today's open cases in the
  // unfiltered list) reached the end.
  await expect(rows.first().locator("td").last()).toHaveText("done");
  const link = rows.first().getByRole("link");
  const label = (await link.getAttribute("aria-label")) ?? "";
  expect(label).toMatch(/^Case CH[A-Z0-9]{13}$/);
  await link.click();
  await expect(page).toHaveURL(/\/cases\/\d+$/);
  await expect(page).toHaveTitle(new RegExp(`^${label}`));
  await page.context().close();
});

test("the case page counts real vein-to-vein days, the same as the analytics", async ({ browser }) => {
  const page = await signIn(browser, "coordinator");
  const done = await (await page.request.get("/api/analytics/cases?metric=v2v&status=done&limit=3")).json() as { items: Row[] };
  for (const c of done.items) {
    expect(c.value).toBeGreaterThan(14);
    await page.goto(`/cases/${c.case_id}`);
    await expect(page.locator(".v2v")).toHaveText(`Vein to vein: ${c.value} days (collection to infusion).`);
  }
  const open = await (await page.request.get("/api/analytics/cases?metric=v2v&status=open&limit=20")).json() as { items: Row[] };
  const waiting = open.items.find((c) => c.product === "yescarta")!;
  await page.goto(`/cases/${waiting.case_id}`);
  await expect(page.locator(".v2v")).toContainText(/Vein to vein: \d+ days? so far/);
  await page.context().close();
});

const PATIENT = {
  resourceType: "Patient",
  identifier: [{ system: "https://city-hospital.example/fhir/sid/mrn", value: "MRN-FHIR-E2E" }],
  name: [{ use: "official", family: "Fhirova", given: ["Olga"] }],
  birthDate: "1971-04-05",
};

test("coordinator enrolls from a FHIR Patient: a bad one names the field, a file enrolls", async ({ browser }) => {
  const page = await signIn(browser, "coordinator");
  await page.getByRole("link", { name: "Enroll a patient" }).click();
  await page.getByLabel("A FHIR R5 Patient from the hospital record").check();
  const resource = page.getByLabel("FHIR Patient resource (JSON)");
  await resource.fill(JSON.stringify({ ...PATIENT, birthDate: "5 April 1971" }));
  await page.getByRole("button", { name: "Enroll and issue COI" }).click();
  await expect(page.getByText(/fhir_patient\.birthDate/).first()).toBeVisible();
  await checkA11y(page, "enroll from FHIR with an error");
  await page.getByLabel("Or load a JSON file").setInputFiles({ name: "patient.json", mimeType: "application/fhir+json", buffer: Buffer.from(JSON.stringify(PATIENT)) });
  await expect(resource).toHaveValue(/MRN-FHIR-E2E/);
  await shot(page, "enroll-fhir");
  await page.getByRole("button", { name: "Enroll and issue COI" }).click();
  await expect(page).toHaveURL(/\/cases\/\d+$/);
  await expect(page.getByText("Fhirova, Olga")).toBeVisible();
  await page.context().close();
});
