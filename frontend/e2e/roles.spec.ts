// Refusals a user would hit (wrong role, thaw outside the window), the coordinator's exception
// handling (hold, resume, cancel with e-signature) and the admin pages.
import { expect, test } from "./fixtures";
import { PASSWORD, caseDetail, checkA11y, csrfToken, payloads, scan, shot, signIn, verdict } from "./helpers";
import type { Page } from "@playwright/test";

test("a page for another role says so; the scan station offers only what the role may do", async ({ browser }) => {
  const page = await signIn(browser, "lab_tech");
  await page.goto("/qa");
  await expect(page.getByRole("heading", { name: "Not for your role" })).toBeVisible();
  await expect(page.getByRole("alert")).toContainText("This page is for qa");
  await expect(page).toHaveTitle(/cartrack/);
  await page.context().close();

  const staff = await signIn(browser, "collection_staff");
  const cases = await (await staff.request.get("/api/cases?state=qc_pending&limit=5")).json() as { items: Array<{ id: number }> };
  const bag = await productBag(staff, cases.items[0].id);
  await scan(staff, bag);
  await verdict(staff, "Match");
  await expect(staff.getByText("Nothing for your role at this step. The case is qc pending.")).toBeVisible();
  await staff.context().close();
});

test("thawing outside the infusion window is refused, then done with an override and e-signature", async ({ browser }) => {
  const page = await signIn(browser, "infusion_staff");
  // The demo's Carvykti patient: lymphodepletion ended yesterday, infusion from day 2.
  const list = await (await page.request.get("/api/cases?state=received_at_treatment_center&limit=20")).json() as { items: Array<{ id: number; product: string }> };
  const target = list.items.find((c) => c.product === "carvykti")!;
  const bag = await productBag(page, target.id);
  await page.goto(`/infusion/${target.id}`);
  await scan(page, bag);
  await verdict(page, "Match");
  const thaw = page.getByRole("form", { name: "Thaw" });
  await thaw.getByRole("button", { name: "Thaw" }).click();
  const error = thaw.getByRole("alert");
  await expect(error).toContainText("outside the infusion window");
  await expect(error).toContainText("needs an override with a reason and your e-signature");
  await checkA11y(page, "thaw refused");
  await shot(page, "thaw-refused-outside-window");

  await thaw.getByLabel(/Override reason/).fill("Patient must travel; treating physician approved an early infusion.");
  await thaw.getByRole("button", { name: "Thaw" }).click();
  const dialog = page.getByRole("dialog", { name: "Electronic signature" });
  await expect(dialog).toContainText("Override: thaw outside the infusion window");
  await dialog.getByLabel("Your password").fill(PASSWORD);
  await dialog.getByRole("button", { name: "Sign" }).click();
  await expect(page.getByRole("list", { name: "Signatures" }).first()).toContainText("Override: thaw outside the infusion window");
  await expect(page.getByTestId("thaw-countdown")).toBeVisible();
  await page.context().close();
});

test("coordinator holds, resumes and cancels a case (cancel needs an e-signature)", async ({ browser }) => {
  const page = await signIn(browser, "coordinator");
  const list = await (await page.request.get("/api/cases?state=enrolled&limit=5")).json() as { items: Array<{ id: number }> };
  await page.goto(`/cases/${list.items[0].id}`);
  await page.getByRole("button", { name: "Hold" }).click();
  await page.getByRole("form", { name: "Hold" }).getByLabel("Reason").fill("Patient admitted with an infection");
  await page.getByRole("form", { name: "Hold" }).getByRole("button", { name: "Hold" }).click();
  await expect(page.locator(".case-head .state")).toHaveText("on hold");
  await page.getByRole("button", { name: "Resume" }).click();
  await page.getByRole("form", { name: "Resume" }).getByLabel("Reason").fill("Infection resolved");
  await page.getByRole("form", { name: "Resume" }).getByRole("button", { name: "Resume" }).click();
  await expect(page.locator(".case-head .state")).toHaveText("enrolled");

  await page.getByRole("button", { name: "Cancel (e-signature)" }).click();
  const form = page.getByRole("form", { name: "Cancel" });
  await form.getByLabel("Reason").fill("Patient withdrew consent");
  await form.getByRole("button", { name: "Cancel" }).first().click();
  const dialog = page.getByRole("dialog", { name: "Electronic signature" });
  await expect(dialog).toContainText("Cancellation");
  await dialog.getByLabel("Your password").fill(PASSWORD);
  await dialog.getByRole("button", { name: "Sign" }).click();
  await expect(page.locator(".case-head .state")).toHaveText("cancelled");
  await expect(page.getByRole("list", { name: "Signatures" }).first()).toContainText("Signed by Cora Coordinator");
  await page.context().close();
});

test("admin: users, sites and the protocol catalog", async ({ browser }) => {
  const page = await signIn(browser, "admin");
  await expect(page).toHaveURL(/\/admin\/users$/);
  await expect(page.getByRole("table", { name: /Users/ })).toContainText("Iris Infusion");
  await checkA11y(page, "users");
  await shot(page, "admin-users");

  await page.getByRole("link", { name: "Sites" }).click();
  await page.getByLabel("Code").fill("TC-WEST");
  await page.getByLabel("Name").fill("West Cancer Center");
  await page.getByLabel(/Time zone/).fill("America/Los_Angeles");
  await page.getByRole("button", { name: "Add site" }).click();
  await expect(page.getByRole("status")).toContainText("Site TC-WEST created.");
  await page.getByLabel(/Time zone/).fill("Mars/Olympus");
  await page.getByLabel("Code").fill("TC-MARS");
  await page.getByLabel("Name").fill("Nowhere");
  await page.getByRole("button", { name: "Add site" }).click();
  await expect(page.getByText(/not a time zone this server knows/).first()).toBeVisible();
  await checkA11y(page, "sites");

  await page.getByRole("link", { name: "Protocols" }).click();
  await expect(page.getByText("unconfirmed").first()).toBeVisible();
  await checkA11y(page, "protocols");
  await shot(page, "admin-protocols");
  await page.context().close();
});

test("label templates: a proposed version is approved by QA's e-signature", async ({ browser }) => {
  type Template = { id: number; version: number; in_effect: boolean; spec: { lines: Array<{ field: string }> } };
  const admin = await signIn(browser, "admin");
  const versions = await (await admin.request.get("/api/label-templates?kind=wristband")).json() as Template[];
  const current = versions.find((t) => t.in_effect)!;
  const lines = [...current.spec.lines];
  lines.splice(lines.findIndex((l) => l.field === "template"), 0, { field: "statement", text: "Verify identity" } as { field: string });
  const proposed = await admin.request.post("/api/label-templates", {
    data: { kind: "wristband", spec: { ...current.spec, lines }, note: "Identity check reminder on the wristband" },
    headers: { "X-CSRF-Token": await csrfToken(admin) },
  });
  expect(proposed.status(), await proposed.text()).toBe(201);
  await admin.context().close();

  const qa = await signIn(browser, "qa");
  await qa.getByRole("link", { name: "Label templates" }).click();
  const table = qa.getByRole("table", { name: "Versions of the wristband label template" });
  await expect(table.getByRole("row", { name: new RegExp(`^v${current.version} `) })).toContainText("in effect");
  await expect(table.getByRole("row", { name: new RegExp(`^v${current.version + 1} `) })).toContainText("proposed");
  await checkA11y(qa, "label templates");
  await qa.getByRole("button", { name: `Approve wristband v${current.version + 1}` }).click();
  const dialog = qa.getByRole("dialog", { name: "Electronic signature" });
  await expect(dialog).toContainText("Approved for use");
  await dialog.getByLabel("Your password").fill(PASSWORD);
  await dialog.getByRole("button", { name: "Sign" }).click();
  await expect(dialog).toBeHidden();
  await expect(table.getByRole("row", { name: new RegExp(`^v${current.version + 1} `) })).toContainText("in effect");
  await expect(table.getByRole("row", { name: new RegExp(`^v${current.version} `) })).toContainText("superseded");
  await shot(qa, "admin-label-templates");
  await qa.context().close();
});

async function productBag(page: Page, caseId: number): Promise<string> {
  const map = await payloads(page, caseId);
  const unit = (await caseDetail(page, caseId)).units.find((u) => u.kind === "product")!;
  return map.get(unit.unit_id)!;
}
