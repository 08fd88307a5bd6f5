import type { CaseDetail } from "../../journey/api";
import { useReference } from "../../journey/JourneyContext";
import { calendarDays, formatDate, formatDateTime } from "../../lib/time";

interface Step {
  label: string;
  planned?: string | null;
  plannedIsDate?: boolean;
  actual?: string | null;
  actualIsDate?: boolean;
  /** Deadline status (met, met_late, breached, open). */
  status?: string;
}

/** Planned vs actual per step of the journey, from the milestones, the schedule and the deadlines. */
export function VeinToVein({ detail }: { detail: CaseDetail }) {
  const { siteTz } = useReference();
  const m = (detail.milestones ?? {}) as Record<string, string | undefined>;
  const deadline = (kind: string) => {
    const rows = detail.deadlines.filter((d) => d.kind === kind);
    return rows.find((d) => d.status === "open") ?? rows[rows.length - 1];
  };
  const dl = (kind: string) => deadline(kind);
  const steps: Step[] = [
    { label: "Enrolled", actual: m.enrolled_at },
    { label: "Apheresis collection", planned: detail.collection_date, plannedIsDate: true, actual: m.collected_at, status: dl("collection_due")?.status },
    { label: "Shipped to manufacturing", actual: m.shipped_to_manufacturing_at },
    { label: "Received at manufacturing", planned: dl("apheresis_transit")?.due_at, actual: m.received_at_manufacturing_at, status: dl("apheresis_transit")?.status },
    { label: "Manufacturing started", planned: dl("manufacturing_start")?.due_at, actual: m.manufacturing_started_at, status: dl("manufacturing_start")?.status },
    { label: "Manufacturing complete, cryopreserved", actual: m.manufactured_at },
    { label: "Released by QA", planned: dl("qc_release_target")?.due_at, actual: m.released_at, status: dl("qc_release_target")?.status },
    { label: "Shipped to treatment center", actual: m.shipped_to_treatment_center_at },
    { label: "Received at treatment center", planned: dl("shipment_arrival")?.due_at, actual: m.received_at_treatment_center_at, status: dl("shipment_arrival")?.status },
    { label: "Lymphodepletion started", actual: detail.ld_started_on, actualIsDate: true },
    { label: "Lymphodepletion complete", actual: detail.ld_completed_on, actualIsDate: true },
    { label: "Thawed", actual: m.thawed_at },
    { label: "Infused", planned: detail.planned_infusion_date ?? dl("infusion_window")?.due_at, plannedIsDate: !!detail.planned_infusion_date, actual: m.infused_at, status: dl("thaw_to_infusion")?.status },
    { label: "Completed", planned: dl("proximity_period")?.due_at, actual: m.completed_at },
  ];
  // Site-local calendar days, as the analytics count them (and as vein to vein is published).
  const days = calendarDays(m.collected_at, siteTz(detail.collection_site), m.infused_at, siteTz(detail.treatment_site));
  const next = steps.findIndex((s) => !s.actual);
  return (
    <div>
      {days !== null ? (
        <p className="v2v">Vein to vein: <strong>{days} day{days === 1 ? "" : "s"}</strong>{m.infused_at ? "" : " so far"} (collection to infusion).</p>
      ) : null}
      <table className="v2v-table">
        <caption className="sr-only">Vein-to-vein timeline: planned and actual per step</caption>
        <thead>
          <tr><th scope="col">Step</th><th scope="col">Planned / due</th><th scope="col">Actual</th><th scope="col">Status</th></tr>
        </thead>
        <tbody>
          {steps.map((s, i) => {
            const state = s.actual ? "done" : i === next ? "current" : "todo";
            const late = s.status === "met_late" || s.status === "breached";
            return (
              <tr key={s.label} className={`step-${state} ${late ? "late" : ""}`} aria-current={state === "current" ? "step" : undefined}>
                <th scope="row">{s.label}</th>
                <td>{s.planned ? (s.plannedIsDate ? formatDate(s.planned) : formatDateTime(s.planned)) : "—"}</td>
                <td>{s.actual ? (s.actualIsDate ? formatDate(s.actual) : formatDateTime(s.actual)) : "—"}</td>
                <td>{state === "done" ? (late ? "done late" : "done") : state === "current" ? "next" : ""}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
