// An account's life cycle through the UI: the admin adds a user under the password rules,
// resets the password (the user must choose a new one at the next sign-in), edits the roles and
// disables the account; the user's open page goes back to sign-in each time its session ends.
import type { Browser, Page } from "@playwright/test";
import { expect, test } from "./fixtures";
import { checkA11y, shot, signIn } from "./helpers";

const USERNAME = "nurse_e2e";
const FIRST = "harbour-lantern-violet-27";
const SECOND = "quiet-meadow-compass-81";

async function signInAs(browser: Browser, username: string, password: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto("/");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  return page;
}

async function userRow(admin: Page) {
  return admin.getByRole("table", { name: /Users/ }).getByRole("row", { name: new RegExp(USERNAME) });
}

test.describe.configure({ mode: "serial" });

test("an admin adds a user; the password rules are named when one is refused", async ({ browser }) => {
  const admin = await signIn(browser, "admin");
  const form = admin.getByRole("form", { name: "Add a user" });
  await form.getByLabel("Username").fill(USERNAME);
  await form.getByLabel(/Printed name/).fill("Nadia Nightshift");
  await form.getByLabel("Initial password").fill("password1234");
  await form.getByLabel("Role 1", { exact: true }).selectOption("infusion_staff");
  await form.getByLabel("Site of role 1").selectOption("TC-CITY");
  await form.getByRole("button", { name: "Add user" }).click();
  await expect(form.getByRole("alert")).toContainText("too easy to guess");
  await expect(form.getByLabel("Initial password")).toHaveAttribute("aria-invalid", "true");
  await checkA11y(admin, "add a user, password refused");
  await form.getByLabel("Initial password").fill(FIRST);
  await form.getByRole("button", { name: "Add user" }).click();
  await expect(form.getByRole("status")).toContainText(`User ${USERNAME} created.`);
  await expect(await userRow(admin)).toContainText("infusion staff @ TC-CITY");
  await admin.context().close();
});

test("a reset ends the user's session; the temporary password must be replaced at sign-in", async ({ browser }) => {
  const nurse = await signInAs(browser, USERNAME, FIRST);
  await expect(nurse.getByRole("heading", { name: "Infusion" }).first()).toBeVisible();

  const admin = await signIn(browser, "admin");
  await (await userRow(admin)).getByRole("button", { name: `Reset password of ${USERNAME}` }).click();
  const confirm = admin.getByRole("alertdialog", { name: `Reset the password of ${USERNAME}?` });
  await checkA11y(admin, "reset confirmation");
  await confirm.getByRole("button", { name: "Reset password" }).click();
  const shown = admin.getByRole("dialog", { name: `Temporary password for ${USERNAME}` });
  const temporary = (await shown.getByTestId("temporary-password").innerText()).trim();
  expect(temporary).toMatch(/^[a-z2-9]{5}(-[a-z2-9]{5}){3}$/);
  await checkA11y(admin, "temporary password");
  await shot(admin, "admin-password-reset");
  await shown.getByRole("button", { name: "Done" }).click();
  await expect(await userRow(admin)).toContainText("must change password");

  // Her open page: the live alerts stream closes, and the page goes back to sign-in.
  await expect(nurse.getByRole("button", { name: "Sign in" })).toBeVisible({ timeout: 15_000 });
  await nurse.context().close();

  const again = await signInAs(browser, USERNAME, temporary);
  await expect(again.getByRole("heading", { name: "Choose a new password" })).toBeVisible();
  await checkA11y(again, "forced password change");
  await shot(again, "change-password-forced");
  await again.getByLabel("Temporary password").fill(temporary);
  await again.getByLabel("New password", { exact: true }).fill("nadia-nightshift-2026");
  await again.getByLabel("New password again").fill("nadia-nightshift-2026");
  await again.getByRole("button", { name: "Change password" }).click();
  await expect(again.getByRole("alert")).toContainText("may not contain your username or your printed name");
  await again.getByLabel("New password", { exact: true }).fill(SECOND);
  await again.getByLabel("New password again").fill(SECOND);
  await again.getByRole("button", { name: "Change password" }).click();
  await expect(again.getByRole("heading", { name: "Infusion" }).first()).toBeVisible();

  await again.getByRole("link", { name: "Change password" }).click();
  await expect(again.getByRole("heading", { name: "Change password" })).toBeVisible();
  await checkA11y(again, "change password");
  await again.context().close();
  await admin.context().close();
});

test("editing roles is saved; disabling signs the user out everywhere", async ({ browser }) => {
  const nurse = await signInAs(browser, USERNAME, SECOND);
  await expect(nurse.getByRole("heading", { name: "Infusion" }).first()).toBeVisible();

  const admin = await signIn(browser, "admin");
  await (await userRow(admin)).getByRole("button", { name: `Edit roles of ${USERNAME}` }).click();
  const roles = admin.getByRole("dialog", { name: `Roles of ${USERNAME}` });
  await roles.getByRole("button", { name: "Add a role" }).click();
  await roles.getByLabel("Role 2", { exact: true }).selectOption("coordinator");
  await roles.getByLabel("Site of role 2").selectOption("TC-CITY");
  await checkA11y(admin, "edit roles");
  await roles.getByRole("button", { name: "Save roles" }).click();
  await expect(admin.getByRole("status").filter({ hasText: `${USERNAME}'s roles are saved.` })).toBeVisible();
  await expect(await userRow(admin)).toContainText("coordinator @ TC-CITY");

  await (await userRow(admin)).getByRole("button", { name: `Disable ${USERNAME}` }).click();
  await admin.getByRole("alertdialog", { name: `Disable ${USERNAME}?` }).getByRole("button", { name: "Disable" }).click();
  await expect(admin.getByRole("status").filter({ hasText: `${USERNAME} is disabled` })).toBeVisible();
  await expect(await userRow(admin)).toContainText("disabled");

  await expect(nurse.getByRole("button", { name: "Sign in" })).toBeVisible({ timeout: 15_000 });
  await nurse.getByLabel("Username").fill(USERNAME);
  await nurse.getByLabel("Password").fill(SECOND);
  await nurse.getByRole("button", { name: "Sign in" }).click();
  await expect(nurse.getByRole("alert")).toContainText("This account is disabled; ask an admin.");

  await (await userRow(admin)).getByRole("button", { name: `Enable ${USERNAME}` }).click();
  await admin.getByRole("alertdialog", { name: `Enable ${USERNAME}?` }).getByRole("button", { name: "Enable" }).click();
  await expect(await userRow(admin)).toContainText("active");
  await nurse.getByLabel("Password").fill(SECOND);
  await nurse.getByRole("button", { name: "Sign in" }).click();
  await expect(nurse.getByRole("button", { name: "Sign out" })).toBeVisible();
  await nurse.context().close();
  await admin.context().close();
});
