import { useCallback, useRef, useState } from "react";
import { Link, useParams } from "react-router";
import { ApiError, asApiError } from "../api/client";
import { Countdown } from "../components/Countdown";
import { ErrorText } from "../components/ErrorText";
import { Ident, StateBadge } from "../components/Ident";
import { EventAction, type IncomingScan } from "../journey/EventAction";
import { actionOf, availableAction, eventLabel, type Action } from "../journey/JourneyContext";
import { caseQuery, useCaseChanged, type CaseDetail } from "../journey/api";
import { $api, apiError, POLL_MS } from "../api/queries";
import { useQuery } from "@tanstack/react-query";
import { formatDate, formatLeft, riskOf, spokenLeft, useNow } from "../lib/time";
import { useTitle } from "../lib/useTitle";
import { CameraReader } from "../scan/CameraReader";
import { ScanInput } from "../scan/ScanInput";
import { VerdictOverlay, type Verdict } from "../scan/VerdictOverlay";
import { postScan, type ScanResult } from "../scan/api";
import { CaseTable } from "./CaseBoard";
import { ActionForm } from "./case/CaseActions";
import { Monitoring } from "./case/Qc";

const INFUSION_STATES = new Set(["released", "shipped_to_treatment_center", "received_at_treatment_center", "thawed", "infused", "monitoring"]);

/** Infusion staff: the cases coming to or at their treatment center. */
export function InfusionList() {
  useTitle("Infusion");
  const cases = $api.useQuery("get", "/api/cases", { params: { query: { limit: 200 } } }, { refetchInterval: POLL_MS });
  const items = (cases.data?.items ?? []).filter((c) => INFUSION_STATES.has(c.state));
  return (
    <section aria-labelledby="inf-title">
      <h1 id="inf-title">Infusion</h1>
      <p className="muted">Product on its way to or at your treatment center. Open a case to receive, lymphodeplete, thaw, check at the bedside and monitor.</p>
      <ErrorText error={apiError(cases.error)} />
      {cases.data ? (
        <ul className="queue">
          {items.map((c) => (
            <li key={c.id}>
              <Link to={`/infusion/${c.id}`} className="queue-link">Open <Ident value={c.coi} check={c.coi_check} /></Link>{" "}
              <StateBadge state={c.state} /> <span className="muted">{c.product}</span>
            </li>
          ))}
          {!items.length ? <li>No product is on its way to your center.</li> : null}
        </ul>
      ) : <p aria-busy="true">Loading…</p>}
      {cases.data && items.length ? <details><summary>As a table with deadlines</summary><CaseTable items={items} /></details> : null}
    </section>
  );
}

interface Bedside {
  wristband?: ScanResult;
  bag?: ScanResult;
}

export function InfusionCase() {
  const id = Number(useParams().caseId);
  const query = useQuery({ ...caseQuery(id), refetchInterval: POLL_MS });
  const onChanged = useCaseChanged();
  const detail = query.data;
  useTitle(detail ? `Infusion ${detail.coi}${detail.coi_check}` : "Infusion");
  if (query.error && !detail) return <ErrorText error={apiError(query.error)} />;
  if (!detail) return <p aria-busy="true">Loading…</p>;
  return <InfusionWorkspace key={detail.id} detail={detail} onChanged={onChanged} />;
}

/** The step a scan here is for: the available action that expects a scan (receive, thaw, bedside). */
function scanEventFor(d: CaseDetail): string | null {
  return d.actions.find((a) => a.available && a.expects)?.event ?? null;
}

function InfusionWorkspace({ detail, onChanged }: { detail: CaseDetail; onChanged: (d: CaseDetail) => void }) {
  const [verdict, setVerdict] = useState<Verdict | null>(null);
  const [incoming, setIncoming] = useState<IncomingScan>();
  const [bedside, setBedside] = useState<Bedside>({});
  // Actions done on this page keep their receipt (who signed) after the case has moved on.
  const [doneHere, setDoneHere] = useState<Partial<Record<string, Action>>>({});
  const seq = useRef(0);
  const scanEvent = scanEventFor(detail);
  const shown = (event: string): Action | undefined => availableAction(detail.actions, event) ?? doneHere[event];
  const done = (action: Action) => (d: CaseDetail) => { setDoneHere((h) => ({ ...h, [action.event]: action })); onChanged(d); };
  const receive = shown("receive_at_treatment_center");
  const ldStart = shown("start_lymphodepletion");
  const ldDone = shown("complete_lymphodepletion");
  const thaw = shown("thaw");
  const thawBlocked = actionOf(detail.actions, "thaw");
  const infuse = shown("infuse");
  const monitoring = shown("record_monitoring_check");
  const monitoringBlocked = actionOf(detail.actions, "record_monitoring_check");

  const onScan = useCallback(async (payload: string) => {
    if (!scanEvent) {
      setVerdict({ ok: false, payload, error: new ApiError(0, { detail: "Nothing to scan for at this step of the case.", code: "no_scan_step" }) });
      return;
    }
    try {
      const result = await postScan(payload, scanEvent);
      const ok = result.verdict === "match";
      setVerdict({ ok, result, payload });
      if (scanEvent === "infuse") {
        setBedside((b) => (result.kind === "wristband" ? { ...b, wristband: result } : { ...b, bag: result }));
      } else if (ok) {
        setIncoming({ payload, seq: ++seq.current });
      }
    } catch (err) {
      setVerdict({ ok: false, payload, error: asApiError(err) });
    }
  }, [scanEvent]);

  const thawDeadline = detail.deadlines.find((d) => d.kind === "thaw_to_infusion" && d.status === "open");
  const window_ = detail.deadlines.find((d) => d.kind === "infusion_window" && d.status === "open");
  const bedsideOk = bedside.wristband?.verdict === "match" && bedside.bag?.verdict === "match";

  return (
    <article aria-labelledby="inf-case-title" className="infusion">
      <header className="case-head">
        <h1 id="inf-case-title">Infusion — <Ident value={detail.coi} check={detail.coi_check} /></h1>
        <p>
          <StateBadge state={detail.state} /> · {detail.product}
          {detail.patient ? <> · Patient <strong>{detail.patient.family_name}, {detail.patient.given_name}</strong>, born {formatDate(detail.patient.date_of_birth)}, MRN {detail.patient.mrn}</> : null}
          {" · "}<Link to={`/cases/${detail.id}`}>Full case page</Link>
        </p>
      </header>

      {thawDeadline ? <ThawClock dueAt={thawDeadline.due_at} /> : null}

      {scanEvent ? (
        <section aria-labelledby="h-scan" className="card">
          <h2 id="h-scan">{scanEvent === "infuse" ? "Bedside check: scan the wristband, then the bag" : `Scan for: ${eventLabel(scanEvent)}`}</h2>
          <ScanInput onScan={(p) => void onScan(p)} keepFocus={!verdict} label={scanEvent === "infuse" ? "Bedside scan" : "Scan a bag"} id="infusion-scan" />
          <CameraReader onScan={(p) => void onScan(p)} />
        </section>
      ) : null}

      {receive ? (
        <section aria-labelledby="h-receive">
          <h2 id="h-receive">Receive the shipment</h2>
          <p className="hint">Scan every bag in the shipper; each one is checked against this case.</p>
          <EventAction caseId={detail.id} version={detail.version} action={receive}
            incomingScan={incoming} onDone={done(receive)} />
        </section>
      ) : null}

      <section aria-labelledby="h-ld">
        <h2 id="h-ld">Lymphodepletion</h2>
        <p>
          {detail.ld_started_on ? <>Started {formatDate(detail.ld_started_on)} ({detail.ld_regimen}). </> : "Not started. "}
          {detail.ld_completed_on ? <>Completed {formatDate(detail.ld_completed_on)}.</> : null}
        </p>
        {window_ ? (
          <p>Infusion window: {window_.earliest_at ? <>from {new Date(window_.earliest_at).toLocaleString("en-GB")} </> : null}until {new Date(window_.due_at).toLocaleString("en-GB")} — <Countdown dueAt={window_.due_at} /></p>
        ) : null}
        {ldStart ? (
          <ActionForm detail={detail} action={ldStart} onDone={done(ldStart)} />
        ) : null}
        {ldDone ? (
          <ActionForm detail={detail} action={ldDone} onDone={done(ldDone)} />
        ) : null}
      </section>

      {thaw || thawBlocked ? (
        <section aria-labelledby="h-thaw">
          <h2 id="h-thaw">Thaw</h2>
          {thaw ? (
            <>
              <p className="hint">Scan the bag you are about to thaw. Outside the infusion window, thawing needs a reason and your e-signature.</p>
              <EventAction caseId={detail.id} version={detail.version} action={thaw} incomingScan={incoming}
                onDone={done(thaw)} />
            </>
          ) : <BlockedReason action={thawBlocked} advice="do not thaw" />}
        </section>
      ) : null}

      {infuse ? (
        <section aria-labelledby="h-bedside">
          <h2 id="h-bedside">Bedside check</h2>
          <ol className="bedside">
            <BedsideStep n={1} label="Patient wristband" result={bedside.wristband} />
            <BedsideStep n={2} label="Thawed bag" result={bedside.bag} />
          </ol>
          {bedsideOk || doneHere.infuse ? (
            <div className="card">
              <h3>Two-person check</h3>
              <p>A second infusion nurse checks the wristband and the bag against each other, then signs with their own username and password. You sign after them.</p>
              <EventAction caseId={detail.id} version={detail.version} action={infuse}
                onDone={done(infuse)}
                submitLabel="Sign and record the infusion" />
            </div>
          ) : <p className="muted">Both scans must match before the infusion can be signed.</p>}
        </section>
      ) : null}

      {monitoring || monitoringBlocked ? (
        <section aria-labelledby="h-mon">
          <h2 id="h-mon">Monitoring</h2>
          {monitoring ? <ActionForm detail={detail} action={availableAction(detail.actions, "record_monitoring_check") ?? monitoring} onDone={done(monitoring)} />
            : <BlockedReason action={monitoringBlocked} />}
        </section>
      ) : null}
      {detail.monitoring.length ? (
        <section aria-labelledby="h-mon-list">
          <h2 id="h-mon-list">Monitoring checks recorded</h2>
          <Monitoring detail={detail} />
        </section>
      ) : null}

      {verdict ? <VerdictOverlay verdict={verdict} onClose={() => setVerdict(null)} onScan={(p) => void onScan(p)} /> : null}
    </article>
  );
}

/** Why an action cannot be done now, in the table's words. */
function BlockedReason({ action, advice }: { action: Action | undefined; advice?: string }) {
  if (!action?.blocked_by) return null;
  return (
    <p className="warn">
      Not possible now: {action.blocked_by.text}{advice ? ` — ${advice}` : ""}. <span className="muted">{action.blocked_by.message}</span>
    </p>
  );
}

function BedsideStep({ n, label, result }: { n: number; label: string; result?: ScanResult }) {
  const state = !result ? "waiting" : result.verdict === "match" ? "match" : "mismatch";
  return (
    <li className={`bedside-step ${state}`}>
      <span className="step-n" aria-hidden="true">{n}</span> <strong>{label}:</strong>{" "}
      {state === "waiting" ? "not scanned yet" : state === "match" ? `match — ${result?.message}` : `MISMATCH — ${result?.message}`}
    </li>
  );
}

/** The big countdown to the thaw limit (the open thaw-to-infusion deadline). */
function ThawClock({ dueAt }: { dueAt: string }) {
  const now = useNow(1000);
  const left = Date.parse(dueAt) - now;
  const risk = riskOf(dueAt, now);
  return (
    <section className={`thaw-clock risk-${left < 30 * 60_000 ? "red" : risk}`} aria-labelledby="h-thaw-clock">
      <h2 id="h-thaw-clock">Thawed: infuse before {new Date(dueAt).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" })}</h2>
      <div className="thaw-time" aria-hidden="true" data-testid="thaw-countdown">{formatLeft(left)}</div>
      <p className="sr-only" role="timer" aria-live="off">{spokenLeft(left)}</p>
      {left <= 0 ? <p role="alert"><strong>The thaw limit has passed: do not infuse. Call the coordinator.</strong></p> : null}
    </section>
  );
}
