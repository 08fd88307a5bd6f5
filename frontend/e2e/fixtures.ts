// Every e2e test runs under the server's Content-Security-Policy, and any violation the browser
// reports fails the test: each browser context a test opens (and each page and popup in it)
// is watched, through the `securitypolicyviolation` event and the console.
import { test as base, expect, type BrowserContext } from "@playwright/test";

export { expect };

const MARK = "CSP violation:";

/** Collects CSP violations of every page of `context` into `into`. */
export async function watchCsp(context: BrowserContext, into: string[]): Promise<void> {
  // Init scripts are injected by the browser's debugging protocol, outside the page's policy.
  await context.addInitScript((mark: string) => {
    document.addEventListener("securitypolicyviolation", (e) => {
      console.error(`${mark} ${e.effectiveDirective} blocked ${e.blockedURI || "inline code"} in ${e.documentURI}${e.sourceFile ? ` (${e.sourceFile}:${e.lineNumber})` : ""}`);
    });
  }, MARK);
  context.on("console", (msg) => {
    const text = msg.text();
    if (text.startsWith(MARK) || /Content Security Policy/i.test(text)) into.push(text);
  });
}

export const test = base.extend<{ csp: { violations: string[] } }>({
  csp: [async ({ browser }, use) => {
    const violations: string[] = [];
    const newContext = browser.newContext.bind(browser);
    browser.newContext = async (...args: Parameters<typeof newContext>) => {
      const context = await newContext(...args);
      await watchCsp(context, violations);
      return context;
    };
    await use({ violations });
    browser.newContext = newContext;
    expect(violations, "the browser reported Content-Security-Policy violations").toEqual([]);
  }, { auto: true }],
});
