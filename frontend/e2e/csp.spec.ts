// The UI is served under a strict Content-Security-Policy, the browser enforces it, and the
// suite's guard (fixtures.ts) hears every violation: the other specs pass only without any.
import { BASE_URL } from "../playwright.config";
import { expect, test } from "./fixtures";
import { signIn } from "./helpers";

test("the browser enforces the policy: no inline script, no framing, and the guard hears it", async ({ browser, csp }) => {
  const page = await signIn(browser, "coordinator");
  const served = await page.request.get("/cases");
  const policy = served.headers()["content-security-policy"] ?? "";
  for (const directive of ["default-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"]) {
    expect(policy).toContain(directive);
  }
  expect(policy).not.toContain("unsafe");
  expect(served.headers()["x-content-type-options"]).toBe("nosniff");
  expect(served.headers()["referrer-policy"]).toBe("no-referrer");

  // An injected inline script does not run, and the refusal is reported.
  const ran = await page.evaluate(() => {
    const script = document.createElement("script");
    script.textContent = "window.__inlineRan = true";
    document.body.append(script);
    return (window as unknown as { __inlineRan?: boolean }).__inlineRan === true;
  });
  expect(ran).toBe(false);
  // Heard twice: the browser's own console report, and the securitypolicyviolation event.
  await expect.poll(() => csp.violations.filter((v) => v.includes("script-src")).length).toBe(2);
  csp.violations.length = 0; // expected here; any other violation fails this test too

  // Another page cannot frame cartrack (the e-signature screens included).
  const other = await page.context().newPage();
  await other.setContent(`<iframe title="framed" src="${BASE_URL}/cases"></iframe>`);
  await expect.poll(() => other.frames().length).toBe(2);
  await other.waitForTimeout(500);
  // Not even the sign-in page shows inside the frame.
  expect(await other.frames()[1].locator("body").innerText().catch(() => "")).not.toContain("cartrack");
  await other.close();
  csp.violations.splice(0, csp.violations.length, ...csp.violations.filter((v) => !v.includes("frame-ancestors")));
  await page.context().close();
});
