// A scan whose answer is lost on the way back (the server recorded it; the browser saw the
// connection drop): the station says the outcome is unknown, the scan is repeated, and the
// repeat carries the same Idempotency-Key, so the custody chain holds the scan once.
import { expect, test } from "@playwright/test";
import { payloads, scan, signIn, verdict, wristbandOf } from "./helpers";

test("a scan repeated after a lost answer is recorded once", async ({ browser }) => {
  const page = await signIn(browser, "collection_staff");
  await expect(page).toHaveURL(/\/scan$/);
  const cases = await (await page.request.get("/api/cases?limit=200")).json() as { items: { id: number; state: string }[] };
  const target = cases.items.find((c) => c.state === "collection_scheduled") ?? cases.items[0];
  const wristband = wristbandOf(await payloads(page, target.id));
  // Every record of the case's chain of custody is one CSV line.
  const custodyRows = async () => (await (await page.request.get(`/api/cases/${target.id}/custody.csv`)).text())
    .split("\r\n").filter((line) => line.trim()).length;
  const before = await custodyRows();

  const keys: string[] = [];
  page.on("request", (r) => {
    if (r.url().endsWith("/api/scans") && r.method() === "POST") keys.push(r.headers()["idempotency-key"] ?? "");
  });
  // The first scan reaches the server; its answer is dropped before the browser gets it.
  await page.route("**/api/scans", async (route) => {
    await route.fetch();
    await route.abort("connectionreset");
  }, { times: 1 });
  await scan(page, wristband);
  await verdict(page, "Mismatch", /not known whether this was saved.*Try the same action again/);
  await scan(page, wristband);
  await verdict(page, "Match", "Wristband of case");

  expect(keys).toHaveLength(2);
  expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
  expect(keys[1]).toBe(keys[0]);
  expect(await custodyRows()).toBe(before + 1);
  await page.context().close();
});
