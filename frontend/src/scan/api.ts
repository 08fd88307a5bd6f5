import { api, sendOnce, unwrap } from "../api/client";
import type { paths } from "../api/schema";

export type ScanIn = paths["/api/scans"]["post"]["requestBody"]["content"]["application/json"];
export type ScanResult = paths["/api/scans"]["post"]["responses"][200]["content"]["application/json"];

const LOCATION_KEY = "cartrack.station.location";

export function stationLocation(): string {
  try {
    return window.localStorage.getItem(LOCATION_KEY) ?? "";
  } catch {
    return "";
  }
}

export function setStationLocation(value: string): void {
  try {
    window.localStorage.setItem(LOCATION_KEY, value);
  } catch {
    /* private mode */
  }
}

/** Every scan, passed or failed, is recorded by the server as a custody event. */
export async function postScan(payload: string, action?: string): Promise<ScanResult> {
  const location = stationLocation().trim() || undefined;
  const body = { payload, action: action ?? null, location: location ?? null } as ScanIn;
  // The same scan sent again after an unknown outcome reuses its key: recorded once.
  return unwrap(await sendOnce(`POST /api/scans ${JSON.stringify(body)}`, (key) =>
    api.POST("/api/scans", { body, params: { header: { "Idempotency-Key": key } } })));
}
