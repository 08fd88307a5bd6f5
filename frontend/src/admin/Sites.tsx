import { useState, type FormEvent } from "react";
import { api, asApiError, unwrap, type ApiError, type Schemas } from "../api/client";
import { ErrorText } from "../components/ErrorText";
import { Field } from "../components/Field";
import { useQueryClient } from "@tanstack/react-query";
import { $api, apiError, invalidatePaths } from "../api/queries";
import { useTitle } from "../lib/useTitle";

type SiteKind = Schemas["SiteKind"];
const KINDS: SiteKind[] = ["collection_center", "manufacturing_facility", "treatment_center"];

export function Sites() {
  useTitle("Sites");
  const queryClient = useQueryClient();
  const sites = $api.useQuery("get", "/api/sites");
  const [form, setForm] = useState({ code: "", name: "", timezone: "UTC", mrn_system: "" });
  const [kinds, setKinds] = useState<SiteKind[]>(["treatment_center"]);
  const [error, setError] = useState<ApiError>();
  const [done, setDone] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      const site = unwrap(await api.POST("/api/sites", { body: { ...form, mrn_system: form.mrn_system || null, kinds } }));
      setDone(`Site ${site.code} created.`);
      setForm({ code: "", name: "", timezone: "UTC", mrn_system: "" });
      void invalidatePaths(queryClient, "/api/sites");
    } catch (err) {
      setError(asApiError(err));
    }
  };
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });
  return (
    <section aria-labelledby="sites-title">
      <h1 id="sites-title">Sites</h1>
      <ErrorText error={apiError(sites.error)} />
      {sites.data ? (
        <table>
          <caption className="sr-only">Sites</caption>
          <thead><tr><th scope="col">Code</th><th scope="col">Name</th><th scope="col">Kinds</th><th scope="col">Time zone</th><th scope="col">MRN system (FHIR)</th></tr></thead>
          <tbody>
            {sites.data.map((s) => (
              <tr key={s.id}><th scope="row">{s.code}</th><td>{s.name}</td><td>{s.kinds.map((k) => k.replace(/_/g, " ")).join(", ")}</td><td>{s.timezone}</td><td>{s.mrn_system ?? "—"}</td></tr>
            ))}
          </tbody>
        </table>
      ) : <p aria-busy="true">Loading…</p>}
      <form onSubmit={submit} className="card" aria-labelledby="new-site-title" noValidate>
        <h2 id="new-site-title">Add a site</h2>
        <Field label="Code" hint="letters, digits, - and _" error={error?.fieldMessage("code")}><input value={form.code} onChange={set("code")} /></Field>
        <Field label="Name" error={error?.fieldMessage("name")}><input value={form.name} onChange={set("name")} /></Field>
        <Field label="Time zone (IANA, e.g. Europe/Berlin)" error={error?.fieldMessage("timezone")}><input value={form.timezone} onChange={set("timezone")} /></Field>
        <Field label="MRN identifier system (FHIR, optional)" hint="the URI of the site's medical record numbers in its FHIR Patient records; needed to enroll from a FHIR Patient" error={error?.fieldMessage("mrn_system")}><input value={form.mrn_system} onChange={set("mrn_system")} /></Field>
        <fieldset>
          <legend>Kinds</legend>
          {KINDS.map((k) => (
            <div className="field checkbox" key={k}>
              <input id={`kind-${k}`} type="checkbox" checked={kinds.includes(k)}
                onChange={(e) => setKinds(e.target.checked ? [...kinds, k] : kinds.filter((x) => x !== k))} />
              <label htmlFor={`kind-${k}`}>{k.replace(/_/g, " ")}</label>
            </div>
          ))}
          {error?.fieldMessage("kinds") ? <small className="field-error">{error.fieldMessage("kinds")}</small> : null}
        </fieldset>
        <ErrorText error={error} />
        {done ? <p role="status">{done}</p> : null}
        <button type="submit" className="primary">Add site</button>
      </form>
    </section>
  );
}
