// Calendar days as ISO strings (YYYY-MM-DD), computed in UTC so no time zone shifts a day.

const DAY = 86_400_000;

function toDate(iso: string): Date {
  return new Date(`${iso.slice(0, 10)}T00:00:00Z`);
}

function toIso(d: Date): string {
  return d.toISOString().slice(0, 10);
}

export function addDays(iso: string, days: number): string {
  return toIso(new Date(toDate(iso).getTime() + days * DAY));
}

/** 0 = Monday … 6 = Sunday. */
export function weekday(iso: string): number {
  return (toDate(iso).getUTCDay() + 6) % 7;
}

/** The Monday of the week holding `iso`. */
export function weekStart(iso: string): string {
  return addDays(iso, -weekday(iso));
}

export function monthStart(iso: string): string {
  return `${iso.slice(0, 7)}-01`;
}

export function addMonths(iso: string, months: number): string {
  const d = toDate(monthStart(iso));
  d.setUTCMonth(d.getUTCMonth() + months);
  return toIso(d);
}

/** Every day from start to end, both included. */
export function daysBetween(start: string, end: string): string[] {
  const out: string[] = [];
  for (let d = start; d <= end; d = addDays(d, 1)) out.push(d);
  return out;
}

export type View = "week" | "month";

/** The days a view shows around `anchor`: one week, or the whole weeks covering its month. */
export function viewRange(view: View, anchor: string): { start: string; end: string; month?: string } {
  if (view === "week") {
    const start = weekStart(anchor);
    return { start, end: addDays(start, 6) };
  }
  const first = monthStart(anchor);
  const last = addDays(addMonths(first, 1), -1);
  return { start: weekStart(first), end: addDays(weekStart(last), 6), month: first.slice(0, 7) };
}

/** "Mon 7 Dec", "December 2026", "7 – 13 Dec 2026". */
export function dayLabel(iso: string, opts: Intl.DateTimeFormatOptions = { weekday: "short", day: "numeric", month: "short" }): string {
  return toDate(iso).toLocaleDateString("en-GB", { ...opts, timeZone: "UTC" });
}

export function rangeLabel(view: View, anchor: string): string {
  if (view === "month") return dayLabel(anchor, { month: "long", year: "numeric" });
  const { start, end } = viewRange("week", anchor);
  return `${dayLabel(start, { day: "numeric", month: "short" })} – ${dayLabel(end, { day: "numeric", month: "short", year: "numeric" })}`;
}

export const WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
