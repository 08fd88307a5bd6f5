import { expect, test } from "vitest";
import { addDays, addMonths, daysBetween, rangeLabel, viewRange, weekStart } from "./dates";

test("weeks start on Monday, across month and year ends", () => {
  expect(weekStart("2026-12-03")).toBe("2026-11-30");
  expect(weekStart("2026-11-30")).toBe("2026-11-30");
  expect(weekStart("2027-01-03")).toBe("2026-12-28");
  expect(addDays("2026-12-31", 1)).toBe("2027-01-01");
  expect(addMonths("2026-12-15", 1)).toBe("2027-01-01");
});

test("a month view covers whole weeks around the month", () => {
  const r = viewRange("month", "2026-12-15");
  expect(r).toEqual({ start: "2026-11-30", end: "2027-01-03", month: "2026-12" });
  expect(daysBetween(r.start, r.end)).toHaveLength(35);
  expect(viewRange("week", "2026-12-15")).toEqual({ start: "2026-12-14", end: "2026-12-20" });
  expect(rangeLabel("week", "2026-12-15")).toBe("14 Dec – 20 Dec 2026");
});
