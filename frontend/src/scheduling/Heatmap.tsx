import type { AvailabilityDay } from "./api";
import { WEEKDAYS, dayLabel, daysBetween } from "./dates";

export type Heat = "open" | "last" | "full" | "closed" | "past";

/** How a day looks on the map: open (room left), last (one place left), full, closed, past. */
export function heatOf(day: AvailabilityDay | undefined, iso: string, today: string): Heat {
  if (iso <= today) return "past";
  if (!day || day.capacity === 0) return "closed";
  if (day.open <= 0) return "full";
  return day.open === 1 ? "last" : "open";
}

const WORDS: Record<Heat, (d: AvailabilityDay | undefined) => string> = {
  open: (d) => `${d?.open} of ${d?.capacity} open`,
  last: (d) => `1 of ${d?.capacity} open`,
  full: (d) => `full (${d?.booked} of ${d?.capacity})`,
  closed: () => "closed",
  past: () => "past",
};

/** Open and full days as a heat map, Monday to Sunday; an open day can be picked. */
export function Heatmap({ start, end, today, days, selected, onPick }: {
  start: string;
  end: string;
  today: string;
  days: AvailabilityDay[];
  selected?: string;
  onPick: (day: string) => void;
}) {
  const byDay = new Map(days.map((d) => [d.day, d]));
  const all = daysBetween(start, end);
  const weeks: string[][] = [];
  for (let i = 0; i < all.length; i += 7) weeks.push(all.slice(i, i + 7));
  return (
    <table className="heatmap" data-testid="heatmap">
      <caption className="sr-only">Manufacturing start availability per day</caption>
      <thead>
        <tr>{WEEKDAYS.map((d) => <th key={d} scope="col">{d}</th>)}</tr>
      </thead>
      <tbody>
        {weeks.map((week) => (
          <tr key={week[0]}>
            {week.map((iso) => {
              const day = byDay.get(iso);
              const heat = heatOf(day, iso, today);
              const words = WORDS[heat](day);
              const pickable = heat === "open" || heat === "last";
              return (
                <td key={iso} className={`heat heat-${heat}`} data-day={iso}>
                  <button type="button" disabled={!pickable} aria-pressed={selected === iso}
                    aria-label={`${dayLabel(iso, { weekday: "long", day: "numeric", month: "long" })}: ${words}`}
                    onClick={() => onPick(iso)}>
                    <span className="heat-date">{dayLabel(iso, { day: "numeric", month: "short" })}</span>
                    <span className="heat-words">{words}</span>
                  </button>
                </td>
              );
            })}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
