import { keepPreviousData, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { asApiError, type ApiError } from "../api/client";
import { $api, apiError, invalidatePaths } from "../api/queries";
import { ESignDialog } from "../components/ESignDialog";
import { ErrorText } from "../components/ErrorText";
import { useReference } from "../journey/JourneyContext";
import { formatDate, formatDateTime, isoDateIn } from "../lib/time";
import { CONFIRM_MEANING, confirmSlot, holdSlot, nextOpenDays, SLOT_STATUS, type Slot } from "./api";
import { addDays, weekStart } from "./dates";
import { Heatmap } from "./Heatmap";

const WEEKS = 6;
/** Before manufacturing starts: where a booking can still be made (the server decides per product). */
const BOOKABLE = ["enrolled", "collection_scheduled", "collected", "shipped_to_manufacturing", "received_at_manufacturing"] as const;

/** Pick facility and product, see open days, hold one for a case, confirm it with a signature. */
export function SlotBooking({ products, onChanged }: { products: string[]; onChanged: () => void }) {
  const { sites } = useReference();
  const [params] = useSearchParams();
  const facilities = sites.filter((s) => s.kinds.includes("manufacturing_facility"));
  const [facility, setFacility] = useState("");
  const [product, setProduct] = useState("");
  const [caseId, setCaseId] = useState(params.get("case") ?? "");
  const [day, setDay] = useState("");
  const [buffer, setBuffer] = useState(0);
  const [offset, setOffset] = useState(0);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  const [slot, setSlot] = useState<Slot>();
  const [signing, setSigning] = useState(false);
  const fac = facility || facilities[0]?.code || "";
  const prod = product || products[0] || "";
  const today = isoDateIn(sites.find((s) => s.code === fac)?.timezone);
  const start = addDays(weekStart(today), offset * 7);
  const end = addDays(start, WEEKS * 7 - 1);
  const queryClient = useQueryClient();
  const availability = $api.useQuery("get", "/api/slots/availability", {
    params: { query: { facility: fac, product: prod, start, end } },
  }, { enabled: !!(fac && prod), placeholderData: keepPreviousData });
  // Without a facility and a product there is nothing to read: no day to show.
  const days = fac && prod ? availability.data : [];
  const cases = $api.useQuery("get", "/api/cases", { params: { query: { state: [...BOOKABLE], limit: 200 } } });
  const candidates = (cases.data?.items ?? []).filter((c) => c.manufacturing_site === fac && c.product === prod);

  // A case handed over from its page (?case=ID): its facility and product (once per case asked
  // for, so a later read of the list does not undo what the user chose since).
  const handedOver = useRef<string | null>(null);
  useEffect(() => {
    const asked = params.get("case");
    const wanted = cases.data?.items.find((c) => String(c.id) === asked);
    if (wanted && handedOver.current !== asked) {
      handedOver.current = asked;
      setFacility(wanted.manufacturing_site);
      setProduct(wanted.product);
      setCaseId(String(wanted.id));
    }
  }, [cases.data, params]);

  const chosen = candidates.find((c) => String(c.id) === caseId);
  const nextOpen = error?.body.code === "slot_full" ? nextOpenDays(error.body.context) : [];

  const hold = async (e: FormEvent) => {
    e.preventDefault();
    if (!chosen || !day) return;
    setBusy(true);
    setError(undefined);
    setSlot(undefined);
    try {
      setSlot(await holdSlot(chosen.id, day, buffer));
      onChanged();
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setBusy(false);
      void invalidatePaths(queryClient, "/api/slots/availability");
    }
  };
  const sign = async (password: string) => {
    if (!slot) return;
    setSlot(await confirmSlot(slot.case_id, password));
    setSigning(false);
    onChanged();
  };
  return (
    <div className="slot-booking">
      <div className="toolbar">
        <div className="field">
          <label htmlFor="book-facility">Manufacturing facility</label>
          <select id="book-facility" value={fac} onChange={(e) => { setFacility(e.target.value); setDay(""); }}>
            {facilities.map((s) => <option key={s.code} value={s.code}>{s.code} — {s.name}</option>)}
          </select>
        </div>
        <div className="field">
          <label htmlFor="book-product">Product</label>
          <select id="book-product" value={prod} onChange={(e) => { setProduct(e.target.value); setDay(""); setCaseId(""); }}>
            {products.map((p) => <option key={p} value={p}>{p}</option>)}
          </select>
        </div>
        <div className="cal-nav">
          <button type="button" disabled={offset <= 0} onClick={() => setOffset(Math.max(0, offset - WEEKS))}>Earlier weeks</button>
          <button type="button" onClick={() => setOffset(offset + WEEKS)}>Later weeks</button>
        </div>
      </div>
      <p className="legend">
        <span className="swatch heat-open" aria-hidden="true" /> open
        <span className="swatch heat-last" aria-hidden="true" /> one place left
        <span className="swatch heat-full" aria-hidden="true" /> full
        <span className="swatch heat-closed" aria-hidden="true" /> closed
        <span className="muted"> · {formatDate(start)} to {formatDate(end)}, days at {fac}</span>
      </p>
      <ErrorText error={apiError(availability.error)} />
      {days ? (
        <Heatmap start={start} end={end} today={today} days={days} selected={day} onPick={(d) => { setDay(d); setError(undefined); }} />
      ) : <p aria-busy="true">Loading availability…</p>}
      <form onSubmit={hold} className="inline book-form" aria-label="Hold a slot">
        <div className="field">
          <label htmlFor="book-case">Case (COI)</label>
          <select id="book-case" value={caseId} onChange={(e) => setCaseId(e.target.value)} required>
            <option value="">{candidates.length ? "Choose a case" : `No ${prod} case at ${fac} before manufacturing`}</option>
            {candidates.map((c) => <option key={c.id} value={c.id}>{c.coi}{c.coi_check} — {c.state.replace(/_/g, " ")}</option>)}
          </select>
        </div>
        <div className="field">
          <label htmlFor="book-day">Manufacturing start day</label>
          <input id="book-day" type="date" value={day} min={addDays(today, 1)} onChange={(e) => setDay(e.target.value)} required />
        </div>
        <div className="field">
          <label htmlFor="book-buffer">Buffer days (delivery to infusion)</label>
          <input id="book-buffer" type="number" min={0} max={60} value={buffer} onChange={(e) => setBuffer(Number(e.target.value))} />
        </div>
        <button type="submit" className="primary" disabled={busy || !chosen || !day}>
          {busy ? "Holding…" : day ? `Hold ${formatDate(day)}` : "Hold the day"}
        </button>
      </form>
      {error ? (
        <div>
          <ErrorText error={error} />
          {nextOpen.length ? (
            <div className="next-open">
              <p>Next open days — pick one and hold again:</p>
              <ul className="row-actions">
                {nextOpen.map((d) => (
                  <li key={d}><button type="button" className="small" onClick={() => { setDay(d); setError(undefined); }}>{formatDate(d)}</button></li>
                ))}
              </ul>
            </div>
          ) : null}
        </div>
      ) : null}
      {slot ? <Booked slot={slot} onConfirm={() => setSigning(true)} /> : null}
      {signing && slot ? (
        <ESignDialog meaning={CONFIRM_MEANING} action={`Confirm the manufacturing slot of ${formatDate(slot.day)} at ${slot.facility} for case ${slot.coi}`}
          onSign={sign} onClose={() => setSigning(false)} />
      ) : null}
    </div>
  );
}

function Booked({ slot, onConfirm }: { slot: Slot; onConfirm: () => void }) {
  const held = slot.status === "held";
  return (
    <div className={held ? "notice booked" : "event-done booked"} role="status">
      <p>
        <strong>{SLOT_STATUS[slot.status] ?? slot.status}:</strong> manufacturing start {formatDate(slot.day)} at {slot.facility} for case{" "}
        <span className="ident">{slot.coi}</span>. Planned infusion {formatDate(slot.plan.infusion)} ({slot.plan.vein_to_vein_days} days vein to vein).
      </p>
      {held ? <p>The hold expires {formatDateTime(slot.hold_expires_at)} unless confirmed.</p> : null}
      {slot.confirmed_by ? <p>Confirmed by {slot.confirmed_by} — “{slot.signature_meaning}” — {formatDateTime(slot.confirmed_at)}.</p> : null}
      <div className="buttons">
        {held ? <button type="button" className="primary" onClick={onConfirm}>Confirm with e-signature</button> : null}
        <Link className="button" to={`/cases/${slot.case_id}#slot`}>Open case {slot.coi} and its plan</Link>
      </div>
    </div>
  );
}
