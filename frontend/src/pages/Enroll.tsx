import { useState, type FormEvent } from "react";
import { useNavigate } from "react-router";
import { api, asApiError, unwrap, type ApiError, type Schemas } from "../api/client";
import { ErrorText } from "../components/ErrorText";
import { Field } from "../components/Field";
import { useReference } from "../journey/JourneyContext";
import { $api } from "../api/queries";
import { useTitle } from "../lib/useTitle";

/** Exactly one of patient / fhir_patient; the server refuses both or neither. */
type EnrollIn = Schemas["EnrollIn"];

export function Enroll() {
  useTitle("Enroll a patient");
  const navigate = useNavigate();
  const { sites } = useReference();
  const protocols = $api.useQuery("get", "/api/protocols");
  const current = (protocols.data ?? []).filter((p) => p.current);
  const ofKind = (kind: string) => sites.filter((s) => s.kinds.includes(kind));
  const [form, setForm] = useState({
    given_name: "", family_name: "", date_of_birth: "", mrn: "",
    product: "", collection_site: "", manufacturing_site: "", treatment_site: "",
  });
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const [source, setSource] = useState<"typed" | "fhir">("typed");
  const [fhirText, setFhirText] = useState("");
  const [jsonError, setJsonError] = useState<string>();
  const set = (key: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [key]: e.target.value });
  const pick = (key: keyof typeof form, fallback: string | undefined) => form[key] || fallback || "";

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    setJsonError(undefined);
    const fhir = source === "fhir" ? parsePatient(fhirText) : undefined;
    if (source === "fhir" && !fhir) {
      setJsonError("This is not JSON text: paste or load a FHIR R5 Patient resource.");
      setBusy(false);
      return;
    }
    const body: EnrollIn = {
      ...(fhir ? { fhir_patient: fhir } : {
        patient: { given_name: form.given_name, family_name: form.family_name, date_of_birth: form.date_of_birth, mrn: form.mrn },
      }),
      product: pick("product", current[0]?.product),
      collection_site: pick("collection_site", ofKind("collection_center")[0]?.code),
      manufacturing_site: pick("manufacturing_site", ofKind("manufacturing_facility")[0]?.code),
      treatment_site: pick("treatment_site", ofKind("treatment_center")[0]?.code),
    };
    try {
      const detail = unwrap(await api.POST("/api/cases", { body }));
      navigate(`/cases/${detail.id}`, { state: { enrolled: true } });
    } catch (err) {
      setError(asApiError(err));
      setBusy(false);
    }
  };
  const msg = (f: string) => error?.fieldMessage(f);
  const mrnSystem = sites.find((x) => x.code === pick("treatment_site", ofKind("treatment_center")[0]?.code))?.mrn_system;
  return (
    <section aria-labelledby="enroll-title">
      <h1 id="enroll-title">Enroll a patient</h1>
      <p className="muted">The case gets its COI when you enroll. Patient details stay at the clinical sites; labels and scans carry the COI only.</p>
      <form onSubmit={submit} className="card form-grid" noValidate>
        <fieldset>
          <legend>Patient</legend>
          <div className="fhir-source" role="radiogroup" aria-label="Patient details from">
            <label><input type="radio" name="patient-source" checked={source === "typed"} onChange={() => setSource("typed")} /> Typed here</label>
            <label><input type="radio" name="patient-source" checked={source === "fhir"} onChange={() => setSource("fhir")} /> A FHIR R5 Patient from the hospital record</label>
          </div>
          {source === "typed" ? (
            <>
              <Field label="Given name" error={msg("patient.given_name")}><input required autoComplete="off" value={form.given_name} onChange={set("given_name")} /></Field>
              <Field label="Family name" error={msg("patient.family_name")}><input required autoComplete="off" value={form.family_name} onChange={set("family_name")} /></Field>
              <Field label="Date of birth" error={msg("patient.date_of_birth")}><input type="date" required value={form.date_of_birth} onChange={set("date_of_birth")} /></Field>
              <Field label="Medical record number (MRN)" error={msg("patient.mrn")}><input required autoComplete="off" value={form.mrn} onChange={set("mrn")} /></Field>
            </>
          ) : (
            <>
              <Field label="FHIR Patient resource (JSON)" error={jsonError ?? msg("fhir_patient")}
                hint={`The MRN is the identifier with the treatment center's system${mrnSystem ? ` (${mrnSystem})` : ""}. The same MRN again links to the patient already enrolled there.`}>
                <textarea className="code" rows={10} spellCheck={false} value={fhirText} onChange={(e) => setFhirText(e.target.value)} />
              </Field>
              <Field label="Or load a JSON file">
                <input type="file" accept=".json,application/json,application/fhir+json" onChange={(e) => void loadFile(e.target.files?.[0], setFhirText)} />
              </Field>
            </>
          )}
        </fieldset>
        <fieldset>
          <legend>Therapy and sites</legend>
          <Field label="Product (current protocol version)" error={msg("product")}>
            <select value={pick("product", current[0]?.product)} onChange={set("product")}>
              {current.map((p) => (
                <option key={p.product} value={p.product}>{p.name} — v{p.version}{p.unconfirmed.length ? " (some values unconfirmed)" : ""}</option>
              ))}
            </select>
          </Field>
          <SiteSelect label="Collection site" kind="collection_center" value={pick("collection_site", ofKind("collection_center")[0]?.code)} onChange={set("collection_site")} error={msg("collection_site")} />
          <SiteSelect label="Manufacturing facility" kind="manufacturing_facility" value={pick("manufacturing_site", ofKind("manufacturing_facility")[0]?.code)} onChange={set("manufacturing_site")} error={msg("manufacturing_site")} />
          <SiteSelect label="Treatment center" kind="treatment_center" value={pick("treatment_site", ofKind("treatment_center")[0]?.code)} onChange={set("treatment_site")} error={msg("treatment_site")} />
        </fieldset>
        <ErrorText error={error} />
        <div className="buttons">
          <button type="submit" className="primary" disabled={busy}>{busy ? "Enrolling…" : "Enroll and issue COI"}</button>
        </div>
      </form>
    </section>
  );
}

function parsePatient(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

async function loadFile(file: File | undefined, set: (text: string) => void): Promise<void> {
  if (file) set(await file.text());
}

function SiteSelect({ label, kind, value, onChange, error }: { label: string; kind: string; value: string; onChange: (e: { target: { value: string } }) => void; error?: string }) {
  const { sites } = useReference();
  return (
    <Field label={label} error={error}>
      <select value={value} onChange={onChange}>
        {sites.filter((s) => s.kinds.includes(kind)).map((s) => <option key={s.code} value={s.code}>{s.name} ({s.code})</option>)}
      </select>
    </Field>
  );
}
