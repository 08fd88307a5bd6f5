import { useParams } from "react-router";
import { useAuth } from "../auth/AuthContext";
import { ErrorText } from "../components/ErrorText";
import { Ident, StateBadge } from "../components/Ident";
import { stateLabel } from "../journey/JourneyContext";
import { caseQuery, useCaseChanged, useFollowCase, type CaseDetail } from "../journey/api";
import { $api, apiError, POLL_MS } from "../api/queries";
import { useQuery } from "@tanstack/react-query";
import { formatDate } from "../lib/time";
import { useTitle } from "../lib/useTitle";
import { CaseAlerts } from "../alerts/CaseAlerts";
import { AuditTrail } from "./case/Audit";
import { CaseActions } from "./case/CaseActions";
import { Custody } from "./case/Custody";
import { Deadlines } from "./case/Deadlines";
import { Monitoring, QcResults } from "./case/Qc";
import { Timeline } from "./case/Timeline";
import { LabelLinks, Units } from "./case/Units";
import { VeinToVein } from "./case/VeinToVein";
import { useState } from "react";
import { CaseSlot } from "../scheduling/CaseSlot";
import { CaseShipments } from "../shipments/CaseShipments";

export function CasePage() {
  const id = Number(useParams().caseId);
  const valid = Number.isInteger(id) && id > 0;
  const query = useQuery({ ...caseQuery(id), enabled: valid, refetchInterval: POLL_MS });
  const onChanged = useCaseChanged();
  const detail = query.data;
  useFollowCase(detail);
  useTitle(detail ? `Case ${detail.coi}${detail.coi_check}` : "Case");
  if (!valid) return <p role="alert">There is no case at this address.</p>;
  if (query.error && !detail) return <ErrorText error={apiError(query.error)} />;
  if (!detail) return <p aria-busy="true">Loading case…</p>;
  return <CaseView detail={detail} onChanged={onChanged} />;
}

const SECTIONS = [
  ["actions", "Actions"], ["slot", "Slot and plan"], ["v2v", "Vein to vein"], ["deadlines", "Deadlines"], ["units", "Bags and labels"],
  ["qc", "QC"], ["monitoring", "Monitoring"], ["custody", "Custody chain"], ["shipments", "Shipments"], ["alerts", "Alerts"],
  ["timeline", "Timeline"], ["audit", "Audit trail"],
] as const;

function AuditToggle({ caseId }: { caseId: number }) {
  const [shown, setShown] = useState(false);
  return (
    <>
      <button type="button" aria-expanded={shown} onClick={() => setShown(!shown)}>
        {shown ? "Hide the audit trail" : "Show the audit trail (who changed what, old and new values)"}
      </button>
      {shown ? <AuditTrail caseId={caseId} /> : null}
    </>
  );
}

function CaseView({ detail, onChanged }: { detail: CaseDetail; onChanged: (d: CaseDetail) => void }) {
  const { hasRole } = useAuth();
  const events = $api.useQuery("get", "/api/cases/{case_id}/events", { params: { path: { case_id: detail.id } } });
  return (
    <article className="case-page" aria-labelledby="case-title">
      <header className="case-head">
        <h1 id="case-title">Case <Ident value={detail.coi} check={detail.coi_check} /></h1>
        <p>
          <StateBadge state={detail.state} />
          {detail.held_from ? <span> — on hold from {stateLabel(detail.held_from).toLowerCase()}</span> : null}
          {" · "}{detail.product} protocol v{detail.protocol_version}
          {" · "}{detail.collection_site} → {detail.manufacturing_site} → {detail.treatment_site}
        </p>
        {detail.patient ? (
          <p className="patient">
            Patient: <strong>{detail.patient.family_name}, {detail.patient.given_name}</strong> · born {formatDate(detail.patient.date_of_birth)} · MRN {detail.patient.mrn}
          </p>
        ) : <p className="muted">Patient details are not shown at the manufacturing facility; work by COI.</p>}
        <nav aria-label="Case sections" className="section-nav">
          {SECTIONS.map(([key, label]) => <a key={key} href={`#${key}`}>{label}</a>)}
        </nav>
      </header>
      <section id="actions" aria-labelledby="h-actions">
        <h2 id="h-actions">Actions</h2>
        <CaseActions detail={detail} onChanged={onChanged} />
      </section>
      <section id="slot" aria-labelledby="h-slot">
        <h2 id="h-slot">Manufacturing slot and plan</h2>
        <CaseSlot detail={detail} />
      </section>
      <section id="v2v" aria-labelledby="h-v2v">
        <h2 id="h-v2v">Vein-to-vein timeline</h2>
        <VeinToVein detail={detail} />
      </section>
      <section id="deadlines" aria-labelledby="h-deadlines">
        <h2 id="h-deadlines">Open deadlines</h2>
        <Deadlines detail={detail} />
      </section>
      <section id="units" aria-labelledby="h-units">
        <h2 id="h-units">Bags, lineage and labels</h2>
        <Units detail={detail} />
        {hasRole("coordinator", "collection_staff", "lab_tech", "infusion_staff") ? <LabelLinks caseId={detail.id} /> : null}
      </section>
      <section id="qc" aria-labelledby="h-qc">
        <h2 id="h-qc">QC results against specification</h2>
        <QcResults detail={detail} />
      </section>
      <section id="monitoring" aria-labelledby="h-monitoring">
        <h2 id="h-monitoring">Monitoring checks</h2>
        <Monitoring detail={detail} />
      </section>
      <section id="custody" aria-labelledby="h-custody">
        <h2 id="h-custody">Custody chain</h2>
        <Custody detail={detail} />
      </section>
      <section id="shipments" aria-labelledby="h-shipments">
        <h2 id="h-shipments">Shipments and cold chain</h2>
        <CaseShipments caseId={detail.id} />
      </section>
      <section id="alerts" aria-labelledby="h-alerts">
        <h2 id="h-alerts">Alerts</h2>
        <CaseAlerts caseId={detail.id} />
      </section>
      <section id="timeline" aria-labelledby="h-timeline">
        <h2 id="h-timeline">Timeline and signatures</h2>
        <Timeline events={events} />
      </section>
      <section id="audit" aria-labelledby="h-audit">
        <h2 id="h-audit">Audit trail</h2>
        <AuditToggle caseId={detail.id} />
      </section>
    </article>
  );
}
