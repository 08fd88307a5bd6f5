import { useState } from "react";
import { api, unwrap } from "../api/client";
import { ESignDialog } from "../components/ESignDialog";
import { Field } from "../components/Field";
import type { Shipment } from "./api";

/** The meaning the server binds to each outcome's signature. */
const MEANING = {
  accepted: "Receipt check: accepted",
  rejected: "Receipt check: rejected",
  deviation: "Approval: accepted with deviation",
} as const;

const ITEM_WORDS: Record<string, string> = {
  package_intact: "package intact",
  seal_intact: "seal intact",
  seal_id_matches: "seal matches",
  shipper_serial_matches: "shipper serial matches",
  logger_serial_matches: "logger serial matches",
  logger_stopped: "logger stopped",
  within_transit_limit: "within the transit limit",
  units_scanned_match: "every expected unit scanned, no other",
};

export async function signReceipt(id: number, body: ReceiptBody, password: string): Promise<Shipment> {
  return unwrap(await api.POST("/api/shipments/{shipment_id}/receipt", {
    params: { path: { shipment_id: id } }, body: { ...body, signature: { password } },
  }));
}

interface ReceiptBody {
  package_intact: boolean;
  seal_intact: boolean;
  seal_id: string | null;
  shipper_serial: string | null;
  logger_serial: string | null;
  logger_stopped: boolean;
  notes: string | null;
  accept_deviation: boolean;
}

/** Which items would fail, as the server will judge them (it decides; this only warns). */
export function failingItems(s: Shipment, b: ReceiptBody): string[] {
  const items: Record<string, boolean> = {
    package_intact: b.package_intact,
    seal_intact: s.seal_id ? b.seal_intact : true,
    seal_id_matches: !s.seal_id || b.seal_id === s.seal_id,
    shipper_serial_matches: !s.shipper_serial || b.shipper_serial === s.shipper_serial,
    logger_serial_matches: !s.logger_serial || b.logger_serial === s.logger_serial,
    logger_stopped: s.logger_serial ? b.logger_stopped : true,
    within_transit_limit: s.within_transit_limit !== false,
  };
  return Object.entries(items).filter(([, ok]) => !ok).map(([k]) => k);
}

/** The signed receipt checklist of a received shipment; QA may accept a failed item as a deviation. */
export function ReceiptCheck({ shipment: s, coi, isQa, onDone }: { shipment: Shipment; coi: string; isQa: boolean; onDone: (s: Shipment) => void }) {
  const [body, setBody] = useState<ReceiptBody>({
    package_intact: false, seal_intact: false, seal_id: null, shipper_serial: null, logger_serial: null,
    logger_stopped: false, notes: null, accept_deviation: false,
  });
  const [signing, setSigning] = useState(false);
  const set = (patch: Partial<ReceiptBody>) => setBody((b) => ({ ...b, ...patch }));
  const text = (v: string) => (v.trim() ? v.trim() : null);
  const failing = failingItems(s, body);
  const outcome = failing.length === 0 ? "accepted" : body.accept_deviation ? "deviation" : "rejected";
  return (
    <form className="action-panel receipt-check" aria-label={`Receipt check of shipment ${s.id}`}
      onSubmit={(e) => { e.preventDefault(); setSigning(true); }}>
      <label className="field checkbox">
        <input type="checkbox" checked={body.package_intact} onChange={(e) => set({ package_intact: e.target.checked })} /> Package intact
      </label>
      {s.seal_id ? (
        <>
          <label className="field checkbox">
            <input type="checkbox" checked={body.seal_intact} onChange={(e) => set({ seal_intact: e.target.checked })} /> Seal intact
          </label>
          <Field label="Seal scanned on arrival">
            <input value={body.seal_id ?? ""} onChange={(e) => set({ seal_id: text(e.target.value) })} />
          </Field>
        </>
      ) : null}
      {s.shipper_serial ? (
        <Field label="Shipper serial scanned on arrival">
          <input value={body.shipper_serial ?? ""} onChange={(e) => set({ shipper_serial: text(e.target.value) })} />
        </Field>
      ) : null}
      {s.logger_serial ? (
        <>
          <Field label="Logger serial scanned on arrival">
            <input value={body.logger_serial ?? ""} onChange={(e) => set({ logger_serial: text(e.target.value) })} />
          </Field>
          <label className="field checkbox">
            <input type="checkbox" checked={body.logger_stopped} onChange={(e) => set({ logger_stopped: e.target.checked })} /> Logger stopped
          </label>
        </>
      ) : null}
      <Field label="Notes">
        <textarea maxLength={1000} value={body.notes ?? ""} onChange={(e) => set({ notes: text(e.target.value) })} />
      </Field>
      {failing.length ? (
        <p className="error" role="note">
          Failing: {failing.map((k) => ITEM_WORDS[k] ?? k).join(", ")}. Signed as it is, the shipment is rejected and QA is alerted.
        </p>
      ) : null}
      {failing.length && isQa ? (
        <label className="field checkbox">
          <input type="checkbox" checked={body.accept_deviation} onChange={(e) => set({ accept_deviation: e.target.checked })} /> Accept with deviation (QA)
        </label>
      ) : null}
      <div className="buttons">
        <button type="submit" className={outcome === "rejected" ? "danger" : "primary"}>
          {outcome === "accepted" ? "Sign: accepted…" : outcome === "deviation" ? "Sign: accepted with deviation…" : "Sign: rejected…"}
        </button>
      </div>
      {signing ? (
        <ESignDialog meaning={MEANING[outcome]} action={`Receipt check of shipment ${s.id} for case ${coi}`}
          onSign={async (pw) => { const out = await signReceipt(s.id, body, pw); setSigning(false); onDone(out); }}
          onClose={() => setSigning(false)} />
      ) : null}
    </form>
  );
}

/** A signed receipt check, item by item. */
export function ReceiptRecord({ shipment: s }: { shipment: Shipment }) {
  const items = (s.receipt_checklist?.checklist ?? {}) as Record<string, boolean>;
  return (
    <div>
      <p>Receipt check: <strong>{(s.receipt ?? "").replace(/_/g, " ")}</strong></p>
      <ul aria-label="Receipt checklist">
        {Object.entries(items).map(([k, ok]) => <li key={k} className={ok ? undefined : "field-error"}>{ok ? "✓" : "✗"} {ITEM_WORDS[k] ?? k}</li>)}
      </ul>
    </div>
  );
}
