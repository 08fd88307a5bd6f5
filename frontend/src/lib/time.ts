import { useEffect, useState } from "react";

/** The current time, ticking every `ms` milliseconds. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = window.setInterval(() => setNow(Date.now()), ms);
    return () => window.clearInterval(t);
  }, [ms]);
  return now;
}

export type Risk = "overdue" | "red" | "amber" | "ok";

const HOUR = 3_600_000;

/** Red if due within 2 h or overdue, amber within 24 h. */
export function riskOf(dueAt: string | null | undefined, now: number): Risk {
  if (!dueAt) return "ok";
  const left = Date.parse(dueAt) - now;
  if (left <= 0) return "overdue";
  if (left < 2 * HOUR) return "red";
  if (left < 24 * HOUR) return "amber";
  return "ok";
}

/** "2 d 4 h", "3 h 05 min", "12:04" (under an hour: minutes:seconds), "overdue by 5 min". */
export function formatLeft(ms: number): string {
  const past = ms < 0;
  const abs = Math.abs(ms);
  const s = Math.floor(abs / 1000);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  let text: string;
  if (d > 0) text = `${d} d ${h} h`;
  else if (h > 0) text = `${h} h ${String(m).padStart(2, "0")} min`;
  else text = `${m}:${String(sec).padStart(2, "0")}`;
  return past ? `overdue by ${text}` : text;
}

/** A screen-reader-friendly version of formatLeft. */
export function spokenLeft(ms: number): string {
  const past = ms < 0;
  const abs = Math.abs(ms);
  const minutes = Math.floor(abs / 60000);
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  const parts = [h ? `${h} hour${h === 1 ? "" : "s"}` : "", `${m} minute${m === 1 ? "" : "s"}`].filter(Boolean);
  return past ? `overdue by ${parts.join(" ")}` : `${parts.join(" ")} left`;
}

export function formatDateTime(iso: string | null | undefined, timeZone?: string): string {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString("en-GB", {
    year: "numeric", month: "short", day: "2-digit", hour: "2-digit", minute: "2-digit",
    timeZone, timeZoneName: timeZone ? "short" : undefined,
  });
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(`${iso.slice(0, 10)}T00:00:00Z`);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleDateString("en-GB", { year: "numeric", month: "short", day: "2-digit", timeZone: "UTC" });
}

/** YYYY-MM-DD of `when` in a time zone (the site's), for date inputs. */
export function isoDateIn(timeZone: string | undefined, when: Date = new Date(), addDays = 0): string {
  const shifted = new Date(when.getTime() + addDays * 86_400_000);
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(shifted);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "";
  return `${get("year")}-${get("month")}-${get("day")}`;
}

/** Calendar days between two moments, each taken as a date at its own site (null without a
 * start; an open end is now). */
export function calendarDays(startIso: string | null | undefined, startTz: string | undefined,
  endIso: string | null | undefined, endTz: string | undefined): number | null {
  if (!startIso) return null;
  const start = isoDateIn(startTz, new Date(startIso));
  const end = isoDateIn(endTz, endIso ? new Date(endIso) : new Date());
  return Math.round((Date.parse(`${end}T00:00:00Z`) - Date.parse(`${start}T00:00:00Z`)) / 86_400_000);
}

/** A datetime-local input value for `when` (browser-local). */
export function toLocalInput(when: Date = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${when.getFullYear()}-${pad(when.getMonth() + 1)}-${pad(when.getDate())}T${pad(when.getHours())}:${pad(when.getMinutes())}`;
}

/** A datetime-local value as an ISO string with the browser's offset (the API wants aware times). */
export function localInputToIso(value: string): string {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return value;
  return d.toISOString();
}

export function humanize(text: string): string {
  const s = text.replace(/_/g, " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}
