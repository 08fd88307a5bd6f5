import type { Schemas } from "../api/client";
import { $api } from "../api/queries";
import { formatDate } from "../lib/time";

export type PackStep = "shipper" | "logger" | "seal";
export interface Packing {
  started: boolean;
  shipper?: string;
  logger?: string;
  seal?: string;
}

export const SHIP_EVENTS = new Set(["ship_to_manufacturing", "ship_to_treatment_center"]);
const ORDER: PackStep[] = ["shipper", "logger", "seal"];
const WORDS: Record<PackStep, string> = { shipper: "shipper", logger: "data logger", seal: "tamper-evident seal" };

/** The next thing to scan while packing, or null when the shipper, logger and seal are in. */
export function nextPackStep(p: Packing | null | undefined): PackStep | null {
  if (!p?.started) return null;
  return ORDER.find((s) => !p[s]) ?? null;
}

export function packStepWords(step: PackStep): string {
  return WORDS[step];
}

/** The ship form's cold-chain fields from a finished packing. */
export function packedFields(p: Packing, shipper?: Schemas["ShipperOut"]): Record<string, string> {
  if (!p.started || nextPackStep(p)) return {};
  return {
    shipper_serial: p.shipper ?? "", logger_serial: p.logger ?? "", seal_id: p.seal ?? "",
    shipper_type: shipper ? `${shipper.model} (${shipper.serial})` : `Shipper ${p.shipper}`,
  };
}

/** A serial as scanned: the keyboard wedge's text without spaces around it. */
export function serialOf(payload: string): string {
  return payload.trim();
}

/**
 * Packing at the scan station: scan the shipper, the data logger and the seal (each checked
 * against the catalog as it comes in), then each bag. Dispatch itself re-checks every rule.
 */
export function PackingPanel({ packing, onStart, onReset }: { packing: Packing; onStart: () => void; onReset: () => void }) {
  // The catalog is read when packing starts (and again when it went stale meanwhile).
  const shippers = $api.useQuery("get", "/api/shippers", undefined, { enabled: packing.started });
  const loggers = $api.useQuery("get", "/api/loggers", undefined, { enabled: packing.started });
  const today = new Date().toISOString().slice(0, 10);
  const next = nextPackStep(packing);
  if (!packing.started) {
    return (
      <div className="action-panel packing">
        <p>Packing a tracked shipper? Scan the shipper, its data logger and the seal first, then each bag.</p>
        <button type="button" onClick={onStart}>Pack a tracked shipper (scan shipper, logger, seal)</button>
      </div>
    );
  }
  const shipper = shippers.data?.find((s) => s.serial === packing.shipper);
  const logger = loggers.data?.find((l) => l.serial === packing.logger);
  const shipperNote = !packing.shipper ? null : !shipper ? { bad: true, text: "not in the catalog" }
    : shipper.status !== "available" ? { bad: true, text: `${shipper.status.replace(/_/g, " ")}` }
      : shipper.qualified_until < today ? { bad: true, text: `qualified until ${formatDate(shipper.qualified_until)} — expired` }
        : { bad: false, text: `${shipper.model}, ${shipper.profile_code}, qualified until ${formatDate(shipper.qualified_until)}` };
  const loggerNote = !packing.logger ? null : !logger ? { bad: true, text: "not in the catalog" }
    : logger.calibrated_until < today ? { bad: true, text: `calibrated until ${formatDate(logger.calibrated_until)} — expired` }
      : { bad: false, text: `${logger.model}, reads ${logger.sensor_min_c} to ${logger.sensor_max_c} °C, calibrated until ${formatDate(logger.calibrated_until)}` };
  const rows: Array<[PackStep, string | undefined, { bad: boolean; text: string } | null]> = [
    ["shipper", packing.shipper, shipperNote], ["logger", packing.logger, loggerNote], ["seal", packing.seal, null],
  ];
  return (
    <div className="action-panel packing" data-testid="packing">
      <h3>Packing</h3>
      <ol className="pack-steps" aria-label="Packing steps">
        {rows.map(([step, value, note]) => (
          <li key={step} className={value ? (note?.bad ? "bad" : "done") : step === next ? "current" : "todo"} aria-current={step === next ? "step" : undefined}>
            <strong>{packStepWords(step)[0].toUpperCase() + packStepWords(step).slice(1)}</strong>:{" "}
            {value ? <><span className="ident">{value}</span>{note ? <span className={note.bad ? "field-error" : "muted"}> — {note.text}</span> : null}</> : step === next ? "scan it now" : "—"}
          </li>
        ))}
        <li className={next ? "todo" : "current"} aria-current={next ? undefined : "step"}><strong>Bags</strong>: {next ? "after the seal" : "scan each bag; they are added to the form below"}</li>
      </ol>
      <button type="button" className="small" onClick={onReset}>Start packing again</button>
    </div>
  );
}

export function usePackedShipper(serial: string | undefined) {
  const shippers = $api.useQuery("get", "/api/shippers", undefined, { enabled: !!serial });
  if (!serial) return undefined;
  return shippers.data?.find((s) => s.serial === serial);
}
