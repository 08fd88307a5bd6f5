import { useCallback, useRef, useState } from "react";
import { Link } from "react-router";
import { asApiError } from "../api/client";
import { ErrorText } from "../components/ErrorText";
import { Field } from "../components/Field";
import { Ident, StateBadge } from "../components/Ident";
import { eventLabel, useReference } from "../journey/JourneyContext";
import { getCase, type CaseDetail } from "../journey/api";
import type { IncomingScan } from "../journey/EventAction";
import { useTitle } from "../lib/useTitle";
import { ActionForm } from "../pages/case/CaseActions";
import { LabelLinks } from "../pages/case/Units";
import { CameraReader } from "./CameraReader";
import { ScanInput } from "./ScanInput";
import { VerdictOverlay, type Verdict } from "./VerdictOverlay";
import { postScan, setStationLocation, stationLocation, type ScanResult } from "./api";
import { shortScan, type FormObject } from "../journey/SchemaForm";

interface HistoryEntry {
  at: Date;
  ok: boolean;
  text: string;
}

/**
 * The scan station (tablet): a keyboard-wedge field that keeps the focus, an optional camera; every
 * scan gets a full-screen verdict, then only the actions the journey allows for that bag's case.
 */
export function ScanStation() {
  useTitle("Scan station");
  const { transition, mine } = useReference();
  const [verdict, setVerdict] = useState<Verdict | null>(null);
  const [scanned, setScanned] = useState<{ result: ScanResult; payload: string } | null>(null);
  const [detail, setDetail] = useState<CaseDetail | null>(null);
  const [action, setAction] = useState<string | null>(null);
  const [incoming, setIncoming] = useState<IncomingScan>();
  const [history, setHistory] = useState<HistoryEntry[]>([]);
  const [busy, setBusy] = useState(false);
  const [location, setLocation] = useState(stationLocation);
  const [loadError, setLoadError] = useState<ReturnType<typeof asApiError>>();
  const [scanVersion, setScanVersion] = useState(0);
  const seq = useRef(0);
  const [actionDone, setActionDone] = useState(false);
  // Scans feed the open action's form until it is submitted; after that a scan starts afresh.
  const actionRef = useRef<string | null>(null);
  actionRef.current = actionDone ? null : action;

  const collects = (event: string | null): boolean => {
    const props = (transition(event ?? "")?.data_schema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {};
    return "scans" in props || "scan" in props;
  };

  const onScan = useCallback(async (payload: string) => {
    const current = actionRef.current;
    const feeding = current && collects(current);
    setBusy(true);
    try {
      const result = await postScan(payload, feeding ? current : undefined);
      const ok = result.verdict === "match";
      setVerdict({ ok, result, payload });
      setHistory((h) => [{ at: new Date(), ok, text: `${ok ? "Match" : "Mismatch"}: ${result.message}` }, ...h].slice(0, 8));
      if (feeding) {
        if (ok) setIncoming({ payload, seq: ++seq.current });
        return;
      }
      setScanned({ result, payload });
      setAction(null);
      setActionDone(false);
      setDetail(null);
      setLoadError(undefined);
      if (ok && result.case_id) {
        try {
          const d = await getCase(result.case_id);
          setScanVersion(d.version);
          setDetail(d);
        } catch (err) {
          setLoadError(asApiError(err));
        }
      }
    } catch (err) {
      const error = asApiError(err);
      setVerdict({ ok: false, error, payload });
      setHistory((h) => [{ at: new Date(), ok: false, text: `Refused: ${error.body.detail}` }, ...h].slice(0, 8));
    } finally {
      setBusy(false);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [transition]);

  // The scan's own answer first; once an action has moved the case on, the case's allowed events.
  const allowed = scanned && detail
    ? mine(detail.version === scanVersion && Array.isArray(scanned.result.allowed_actions) ? (scanned.result.allowed_actions as string[]) : detail.allowed_events)
    : [];
  const initialFor = (event: string): FormObject => {
    const props = (transition(event)?.data_schema as { properties?: Record<string, unknown> } | undefined)?.properties ?? {};
    if (!scanned || scanned.result.kind === "wristband") return {};
    if ("scans" in props) return { scans: [scanned.payload] };
    if ("scan" in props) return { scan: scanned.payload };
    return {};
  };

  return (
    <section aria-labelledby="station-title" className="station">
      <div className="page-head">
        <h1 id="station-title">Scan station</h1>
      </div>
      <div className="station-grid">
        <div className="station-main">
          <ScanInput onScan={(p) => void onScan(p)} busy={busy} keepFocus={!verdict}
            label={action && collects(action) ? `Scan for: ${eventLabel(action)}` : "Scan a label"}
            hint={action && collects(action) ? "Each bag you scan now is checked and added to the form below." : "Scan a bag or a wristband. A keyboard-wedge scanner types the label and Enter."} />
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
              {allowed.length ? (
                <div className="action-buttons" role="group" aria-label="Allowed actions">
                  {allowed.map((t) => (
                    <button key={t.event} type="button" aria-pressed={action === t.event}
                      onClick={() => { setActionDone(false); setAction(action === t.event ? null : t.event); }}>
                      {eventLabel(t.event)}
                    </button>
                  ))}
                </div>
              ) : <p>Nothing for your role at this step. The case is {detail.state.replace(/_/g, " ")}.</p>}
              {action ? (
                <ActionForm key={`${action}-${detail.id}`} detail={detail} transition={transition(action)!}
                  initial={initialFor(action)} incomingScan={incoming} onCancel={() => setAction(null)}
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
            {history.map((h, i) => <li key={i} className={h.ok ? "ok" : "bad"}>{h.at.toLocaleTimeString("en-GB")} — {h.text}</li>)}
            {!history.length ? <li className="muted">None yet.</li> : null}
          </ol>
        </aside>
      </div>
      {verdict ? <VerdictOverlay verdict={verdict} onClose={() => setVerdict(null)} onScan={(p) => void onScan(p)} /> : null}
    </section>
  );
}
