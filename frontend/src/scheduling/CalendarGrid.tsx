import { Link } from "react-router";
import type { CalendarEntry } from "./api";
import { KIND_LABELS } from "./api";
import { WEEKDAYS, dayLabel, daysBetween } from "./dates";

/** Planned and actual milestones per day, Monday to Sunday; each entry opens its case (COI only). */
export function CalendarGrid({ start, end, month, today, entries, caption }: {
  start: string;
  end: string;
  /** YYYY-MM of the month shown; other days are dimmed. */
  month?: string;
  today: string;
  entries: CalendarEntry[];
  caption: string;
}) {
  const days = daysBetween(start, end);
  const byDay = new Map<string, CalendarEntry[]>();
  for (const e of entries) byDay.set(e.day, [...(byDay.get(e.day) ?? []), e]);
  const weeks: string[][] = [];
  for (let i = 0; i < days.length; i += 7) weeks.push(days.slice(i, i + 7));
  return (
    <table className={`calendar ${month ? "calendar-month" : "calendar-week"}`} data-testid="calendar">
      <caption className="sr-only">{caption}</caption>
      <thead>
        <tr>{WEEKDAYS.map((d) => <th key={d} scope="col">{d}</th>)}</tr>
      </thead>
      <tbody>
        {weeks.map((week) => (
          <tr key={week[0]}>
            {week.map((day) => {
              const list = byDay.get(day) ?? [];
              const classes = ["cal-day", day === today ? "today" : "", month && !day.startsWith(month) ? "other-month" : ""];
              return (
                <td key={day} className={classes.join(" ").trim()} data-day={day} aria-current={day === today ? "date" : undefined}>
                  <time dateTime={day} className="cal-date">{dayLabel(day, month ? { day: "numeric" } : undefined)}</time>
                  {list.length ? (
                    <ul className="cal-entries" aria-label={`${dayLabel(day, { weekday: "long", day: "numeric", month: "long" })}: ${list.length} entr${list.length === 1 ? "y" : "ies"}`}>
                      {list.map((e) => <Entry key={`${e.case_id}-${e.kind}-${e.planned}`} entry={e} />)}
                    </ul>
                  ) : null}
                </td>
              );
            })}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Entry({ entry: e }: { entry: CalendarEntry }) {
  const kind = KIND_LABELS[e.kind] ?? e.kind;
  const when = e.planned ? "planned" : "done";
  return (
    <li className={`cal-entry kind-${e.kind} ${e.planned ? "planned" : "actual"}`}>
      <Link to={`/cases/${e.case_id}`} aria-label={`${kind} ${when}: case ${e.coi} at ${e.site}`}>
        <span className="cal-kind">{kind}</span>
        {e.planned ? <span className="tag">planned</span> : <span className="tag done">done</span>}
        <span className="ident">{e.coi}</span>
        <span className="muted cal-meta">{e.product} · {e.site}{e.slot_status ? ` · slot ${e.slot_status}` : ""}</span>
      </Link>
    </li>
  );
}
