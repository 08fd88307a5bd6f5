// The camera path of the scan station: Chromium's fake camera plays a clip made from a real
// label PNG (POST /api/units/{unit_id}/label.png); the station reads the QR code and judges it.
import { chromium, request } from "@playwright/test";
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { BASE_URL, CHROMIUM, CHROMIUM_ARGS } from "../playwright.config";
import { expect, test, watchCsp } from "./fixtures";
import { PASSWORD, TMP, checkA11y, shot } from "./helpers";

const here = dirname(fileURLToPath(import.meta.url));
const PYTHON = join(here, "..", "..", ".venv", "bin", "python");

test("the scan station reads a label's QR code from the camera", async ({ csp }) => {
  // A product bag of a demo case waiting for QC, and its label as printed.
  const api = await request.newContext({ baseURL: BASE_URL });
  const login = await api.post("/api/auth/login", { data: { username: "lab_tech", password: PASSWORD } });
  expect(login.ok()).toBeTruthy();
  const cases = await (await api.get("/api/cases?state=qc_pending&limit=10")).json() as { items: Array<{ id: number }> };
  const detail = await (await api.get(`/api/cases/${cases.items[0].id}`)).json() as { units: Array<{ unit_id: string; kind: string }> };
  const unit = detail.units.find((u) => u.kind === "product")!.unit_id;
  const csrf = ((await login.json()) as { csrf_token: string }).csrf_token;
  const png = await api.post(`/api/units/${unit}/label.png`, {
    data: { reprint_reason: "e2e camera test" }, headers: { "X-CSRF-Token": csrf },
  });
  expect(png.status(), await png.text()).toBe(200);
  mkdirSync(TMP, { recursive: true });
  const pngPath = join(TMP, "label.png");
  const clip = join(TMP, "label.y4m");
  writeFileSync(pngPath, await png.body());
  execFileSync(PYTHON, [join(here, "y4m.py"), pngPath, clip]);
  await api.dispose();

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [...CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", `--use-file-for-fake-video-capture=${clip}`],
  });
  try {
    const context = await browser.newContext({ baseURL: BASE_URL, viewport: { width: 1280, height: 800 } });
    await watchCsp(context, csp.violations);  // a browser of its own, with a fake camera
    await context.grantPermissions(["camera"]);
    const page = await context.newPage();
    await page.goto("/");
    await page.getByLabel("Username").fill("lab_tech");
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("heading", { name: "Scan station" })).toBeVisible();
    await page.getByRole("button", { name: "Scan with the camera" }).click();
    const overlay = page.getByTestId("verdict");
    await expect(overlay).toBeVisible({ timeout: 20_000 });
    await expect(overlay.getByRole("heading", { level: 2 })).toHaveText("Match");
    await expect(overlay).toContainText(`Unit ${unit}`);
    await shot(page, "scan-station-camera-match");
    // A match closes by itself; the label still in view is not read twice.
    await expect(overlay).toBeHidden();
    await page.waitForTimeout(1000);
    await expect(page.getByRole("list", { name: "Recent scans" }).getByRole("listitem")).toHaveCount(1);
    await page.getByRole("button", { name: "Stop camera" }).click();
    await expect(page.getByRole("button", { name: "Record QC result" })).toBeVisible();
    await checkA11y(page, "scan station");
    await shot(page, "scan-station");
  } finally {
    await browser.close();
  }
});
