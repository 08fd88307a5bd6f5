import { useCallback, useRef, useState } from "react";
import { Link } from "react-router";
import { asApiError } from "../api/client";
import { ErrorText } from "../components/ErrorText";
import { Field } from "../components/Field";
import { Ident, StateBadge } from "../components/Ident";
import { actionOf, eventLabel, type Action } from "../journey/JourneyContext";
import { getCase, type CaseDetail } from "../journey/api";
import type { IncomingScan } from "../journey/EventAction";
import { useTitle } from "../lib/useTitle";
import { ActionButtons, ActionForm } from "../pages/case/CaseActions";
import { LabelLinks } from "../pages/case/Units";
import { CameraReader } from "./CameraReader";
import { ScanInput } from "./ScanInput";
import { VerdictOverlay, type Verdict } from "./VerdictOverlay";
import { postScan, setStationLocation, stationLocation, type ScanResult } from "./api";
import { shortScan, type FormObject } from "../journey/SchemaForm";
import { RECEIVED_BY, ReceivingPanel } from "../shipments/Receiving";
import { nextPackStep, packedFields, PackingPanel, packStepWords, serialOf, SHIP_EVENTS, usePackedShipper, type Packing } from "./Packing";

interface HistoryEntry {
  id: number;
  at: Date;
  ok: boolean;
  text: string;
}

/** The action takes scanned bags in its data (not the bedside pair, which the scan station checks). */
function collects(action: Action): boolean {
  return !!action.expects?.field;
}

/**
 * The scan station (tablet): a keyboard-wedge field that keeps the focus, an optional camera; every
 * scan gets a full-screen verdict, then only the actions the journey allows for that bag's case.
 */
export function ScanStation() {
  useTitle("Scan station");
  const [verdict, setVerdict] = useState<Verdict | null>(null);
  const [scanned, setScanned] = useState<{ result: ScanResult; payload: string } | null>(null);
  const [detail, setDetail] = useState<CaseDetail | null>(null);
  // The opened action, kept as it was opened: after it is done its receipt stays.
  const [opened, setOpened] = useState<Action | null>(null);
  const action = opened?.event ?? null;
  const [incoming, setIncoming] = useState<IncomingScan>();
  const [history, setHistory] = useState<HistoryEntry[]>([]);
  const [busy, setBusy] = useState(false);
  const [location, setLocation] = useState(stationLocation);
  const [loadError, setLoadError] = useState<ReturnType<typeof asApiError>>();
  const seq = useRef(0);
  const historyId = useRef(0);
  const [actionDone, setActionDone] = useState(false);
  // Scans feed the open action's form until it is submitted; after that a scan starts afresh.
  const actionRef = useRef<Action | null>(null);
  actionRef.current = actionDone ? null : opened;
  // Packing a tracked shipper: its first scans are the shipper, the logger and the seal.
  const [packing, setPacking] = useState<Packing>({ started: false });
  const packingRef = useRef(packing);
  packingRef.current = packing;
  const packedShipper = usePackedShipper(packing.shipper);

  const onScan = useCallback(async (payload: string) => {
    const current = actionRef.current;
    const packStep = current && SHIP_EVENTS.has(current.event) ? nextPackStep(packingRef.current) : null;
    if (packStep) {
      const serial = serialOf(payload);
      setPacking((p) => ({ ...p, [packStep]: serial }));
      setHistory((h) => [{ id: ++historyId.current, at: new Date(), ok: true, text: `Packing: ${packStepWords(packStep)} ${serial}` }, ...h].slice(0, 8));
      return;
    }
    const feeding = current && collects(current) ? current.event : undefined;
    setBusy(true);
    try {
      const result = await postScan(payload, feeding);
      const ok = result.verdict === "match";
      setVerdict({ ok, result, payload });
      setHistory((h) => [{ id: ++historyId.current, at: new Date(), ok, text: `${ok ? "Match" : "Mismatch"}: ${result.message}` }, ...h].slice(0, 8));
      if (feeding) {
        if (ok) setIncoming({ payload, seq: ++seq.current });
        return;
      }
      setScanned({ result, payload });
      setPacking({ started: false });
      setOpened(null);
      setActionDone(false);
      setDetail(null);
      setLoadError(undefined);
      if (ok && result.case_id) {
        try {
          const d = await getCase(result.case_id);
          setDetail(d);
        } catch (err) {
          setLoadError(asApiError(err));
        }
      }
    } catch (err) {
      const error = asApiError(err);
      setVerdict({ ok: false, error, payload });
      setHistory((h) => [{ id: ++historyId.current, at: new Date(), ok: false, text: `Refused: ${error.body.detail}` }, ...h].slice(0, 8));
    } finally {
      setBusy(false);
    }
  }, []);

  // The case's own answer: what the user may do now, and what a rule stops for now.
  const actions = scanned && detail ? detail.actions : [];
  const current = opened && detail ? (actionOf(detail.actions, opened.event) ?? opened) : null;
  const initialFor = (a: Action): FormObject => {
    if (!scanned || scanned.result.kind === "wristband" || !a.expects?.field) return {};
    return a.expects.field === "scans" ? { scans: [scanned.payload] } : { scan: scanned.payload };
  };

  const shipping = !!opened && SHIP_EVENTS.has(opened.event) && !actionDone;
  const packStep = shipping ? nextPackStep(packing) : null;

  return (
    <section aria-labelledby="station-title" className="station">
      <div className="page-head">
        <h1 id="station-title">Scan station</h1>
      </div>
      <div className="station-grid">
        <div className="station-main">
          <ScanInput onScan={(p) => void onScan(p)} busy={busy} keepFocus={!verdict}
            label={packStep ? `Scan the ${packStepWords(packStep)}` : action && opened && collects(opened) ? `Scan for: ${eventLabel(action)}` : "Scan a label"}
            hint={opened && collects(opened) ? "Each bag you scan now is checked and added to the form below." : "Scan a bag or a wristband. A keyboard-wedge scanner types the label and Enter."} />
          {scanned ? (
            <div className={`scanned card ${scanned.result.verdict === "match" ? "ok" : "bad"}`} aria-live="polite">
              <h2>Last scan</h2>
              <p className="scan-message">{scanned.result.message}</p>
              <dl className="facts">
                <dt>Scanned</dt><dd>{scanned.result.kind === "wristband" ? "Patient wristband" : scanned.result.unit_id ? <>Bag <Ident value={scanned.result.unit_id} check={scanned.result.unit_id_check} /></> : shortScan(scanned.payload)}</dd>
                {scanned.result.coi ? <><dt>COI</dt><dd><Ident value={scanned.result.coi} check={scanned.result.coi_check} /></dd></> : null}
                {scanned.result.state ? <><dt>Case state</dt><dd><StateBadge state={String(scanned.result.state)} /></dd></> : null}
              </dl>
              {detail ? <p><Link to={`/cases/${detail.id}`}>Open the case page</Link></p> : null}
              <ErrorText error={loadError} />
            </div>
          ) : (
            <p className="muted big-hint">Waiting for a scan.</p>
          )}
          {scanned && detail ? (
            <div className="station-actions">
              <h2>What you can do now</h2>
              {actions.length ? (
                <ActionButtons actions={actions} open={action} label="Allowed actions"
                  onPick={(a) => { setActionDone(false); setPacking({ started: false }); setOpened(action === a.event ? null : a); }} />
              ) : <p>Nothing for your role at this step. The case is {detail.state.replace(/_/g, " ")}.</p>}
              {shipping ? (
                <PackingPanel packing={packing} onStart={() => setPacking({ started: true })} onReset={() => setPacking({ started: true })} />
              ) : null}
              {opened && !actionDone && RECEIVED_BY[opened.event] ? <ReceivingPanel caseId={detail.id} event={opened.event} /> : null}
              {opened && current && !packStep ? (
                <ActionForm key={`${opened.event}-${detail.id}-${packing.started ? "packed" : "plain"}`} detail={detail} action={current}
                  initial={{ ...initialFor(current), ...packedFields(packing, packedShipper) }} incomingScan={incoming} onCancel={() => setOpened(null)}
                  onDone={(d) => { setActionDone(true); setDetail(d); }} />
              ) : null}
              {detail.units.length ? <details><summary>Labels of this case</summary><LabelLinks caseId={detail.id} /></details> : null}
            </div>
          ) : null}
        </div>
        <aside className="station-side" aria-label="Station">
          <CameraReader onScan={(p) => void onScan(p)} />
          <Field label="Station location (recorded with each scan)">
            <input value={location} onChange={(e) => { setLocation(e.target.value); setStationLocation(e.target.value); }} placeholder="e.g. Apheresis room 2" />
          </Field>
          <h2 className="small-heading" id="recent-scans">Recent scans</h2>
          <ol className="history" aria-labelledby="recent-scans">
            {history.map((h) => <li key={h.id} className={h.ok ? "ok" : "bad"}>{h.at.toLocaleTimeString("en-GB")} — {h.text}</li>)}
            {!history.length ? <li className="muted">None yet.</li> : null}
          </ol>
        </aside>
      </div>
      {verdict ? <VerdictOverlay verdict={verdict} onClose={() => setVerdict(null)} onScan={(p) => void onScan(p)} /> : null}
    </section>
  );
}
