import { describe, expect, test } from "vitest";
import { calendarDays, formatLeft, isoDateIn, riskOf, spokenLeft } from "./time";

const H = 3_600_000;

describe("riskOf", () => {
  const now = Date.parse("2026-01-01T12:00:00Z");
  const at = (ms: number) => new Date(now + ms).toISOString();
  test("red under 2 h, amber under 24 h, overdue past due", () => {
    expect(riskOf(at(-1000), now)).toBe("overdue");
    expect(riskOf(at(1.5 * H), now)).toBe("red");
    expect(riskOf(at(2 * H + 1000), now)).toBe("amber");
    expect(riskOf(at(23 * H), now)).toBe("amber");
    expect(riskOf(at(25 * H), now)).toBe("ok");
    expect(riskOf(null, now)).toBe("ok");
  });
});

test("formatLeft and spokenLeft", () => {
  expect(formatLeft(90_000)).toBe("1:30");
  expect(formatLeft(3 * H + 5 * 60_000)).toBe("3 h 05 min");
  expect(formatLeft(50 * H)).toBe("2 d 2 h");
  expect(formatLeft(-5 * 60_000)).toBe("overdue by 5:00");
  expect(spokenLeft(2 * H + 60_000)).toBe("2 hours 1 minute left");
});

test("isoDateIn gives the calendar day of a time zone", () => {
  const when = new Date("2026-03-01T03:00:00Z");
  expect(isoDateIn("UTC", when)).toBe("2026-03-01");
  expect(isoDateIn("America/New_York", when)).toBe("2026-02-28");
});

test("calendarDays counts site-local dates across a daylight-saving change", () => {
  // Berlin left summer time on 2026-10-25: 23:15 CEST on the 20th to 00:30 CET on the 27th
  // is 146.25 hours, but seven calendar days at the site (UTC dates say six).
  expect(calendarDays("2026-10-20T21:15:00Z", "Europe/Berlin", "2026-10-26T23:30:00Z", "Europe/Berlin")).toBe(7);
  expect(calendarDays("2026-10-20T21:15:00Z", "UTC", "2026-10-26T23:30:00Z", "UTC")).toBe(6);
  // Collected in Chicago in the evening, infused in New York: each date at its own site.
  expect(calendarDays("2026-03-02T05:30:00Z", "America/Chicago", "2026-03-29T14:00:00Z", "America/New_York")).toBe(28);
  expect(calendarDays(null, "UTC", "2026-03-29T14:00:00Z", "UTC")).toBeNull();
});
