import AxeBuilder from "@axe-core/playwright";
import { expect, type Browser, type BrowserContext, type Page } from "@playwright/test";
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const PASSWORD = process.env.CARTRACK_DEMO_PASSWORD || "cartrack-demo";
const here = dirname(fileURLToPath(import.meta.url));
export const SHOTS = join(here, "..", "..", "docs", "screenshots");
export const TMP = process.env.E2E_TMP || join(here, ".tmp");

/** A new browser context signed in as `username` (one per person, as at separate workstations). */
export async function signIn(browser: Browser, username: string, opts: { context?: BrowserContext } = {}): Promise<Page> {
  const context = opts.context ?? (await browser.newContext({ viewport: { width: 1280, height: 800 } }));
  const page = await context.newPage();
  await page.goto("/");
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("button", { name: "Sign out" })).toBeVisible();
  return page;
}

/** Fails on any serious or critical axe-core violation of the page as it is now. */
export async function checkA11y(page: Page, what: string): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  const text = bad.map((v) => `${v.impact} ${v.id}: ${v.help}\n  ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join("\n  ")}`).join("\n");
  expect(bad, `axe on ${what}:\n${text}`).toEqual([]);
}

export async function shot(page: Page, name: string, opts: { top?: boolean } = {}): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  if (opts.top) await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(SHOTS, `${name}.png`) });
}

/** The signed-in page's CSRF token, which every POST of a browser session carries. */
export async function csrfToken(page: Page): Promise<string> {
  const me = await page.request.get("/api/auth/me");
  expect(me.ok()).toBeTruthy();
  return ((await me.json()) as { csrf_token: string }).csrf_token;
}

/** Label payloads of a case (wristband and bags), read from its ZPL sheet: ident → payload.
 * Printing is recorded, so the sheet is a POST with the CSRF token and a reprint reason. */
export async function payloads(page: Page, caseId: number): Promise<Map<string, string>> {
  const res = await page.request.post(`/api/cases/${caseId}/labels.zpl`, {
    data: { reprint_reason: "e2e: read the payloads" },
    headers: { "X-CSRF-Token": await csrfToken(page) },
  });
  expect(res.status(), await res.text()).toBe(200);
  expect(res.headers()["cache-control"]).toBe("no-store");
  const zpl = await res.text();
  const out = new Map<string, string>();
  for (const m of zpl.matchAll(/\^FDMA,(CT1\.[A-Z0-9]+\.([UW])\.([A-Z0-9]+)\.[A-Z0-9]+\.[A-Z2-7]+)\^FS/g)) {
    out.set(m[3], m[1]);
  }
  return out;
}

export function wristbandOf(map: Map<string, string>): string {
  const entry = [...map.entries()].find(([, p]) => p.split(".")[2] === "W");
  if (!entry) throw new Error("no wristband payload");
  return entry[1];
}

export async function caseDetail(page: Page, caseId: number): Promise<CaseJson> {
  const res = await page.request.get(`/api/cases/${caseId}`);
  expect(res.ok()).toBeTruthy();
  return (await res.json()) as CaseJson;
}

export interface CaseJson {
  id: number;
  coi: string;
  coi_check: string;
  state: string;
  units: Array<{ unit_id: string; kind: string; status: string; parent_unit_id: string | null }>;
}

/** Types a scan into the focused keyboard-wedge field, as a scanner does (text + Enter). */
export async function scan(page: Page, payload: string): Promise<void> {
  // No click first: the station keeps (or takes back) the focus for the scanner.
  await expect(page.locator(".scan-input input").first()).toBeVisible();
  // Once the station is ready it holds the focus (on its field, or a button it takes keys from).
  await expect.poll(() => page.evaluate(() => document.activeElement?.tagName ?? "BODY")).not.toBe("BODY");
  await page.keyboard.type(payload, { delay: 0 });
  await page.keyboard.press("Enter");
}

/** Waits for the full-screen verdict, checks it, and closes it with Continue. */
export async function verdict(page: Page, expected: "Match" | "Mismatch", text?: string | RegExp): Promise<void> {
  const overlay = page.getByTestId("verdict");
  await expect(overlay).toBeVisible();
  await expect(overlay.getByRole("heading", { level: 2 })).toContainText(expected);
  if (text) await expect(overlay).toContainText(text);
  // A match also closes by itself after a moment; a mismatch waits for Continue.
  await overlay.getByRole("button", { name: "Continue" }).click({ timeout: expected === "Match" ? 2_000 : undefined })
    .catch((err: unknown) => { if (expected !== "Match") throw err; });
  await expect(overlay).toBeHidden();
}

/** YYYY-MM-DD in a time zone, `days` from today. */
export function dayIn(timeZone: string, days = 0): string {
  const d = new Date(Date.now() + days * 86_400_000);
  return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(d);
}

export const TC_TZ = "America/New_York";
