import { useState, type FormEvent } from "react";
import { api, asApiError, unwrap, type ApiError, type Schemas } from "../api/client";
import { ErrorText } from "../components/ErrorText";
import { Field } from "../components/Field";
import { formatDateTime } from "../lib/time";
import { useQueryClient } from "@tanstack/react-query";
import { $api, apiError, invalidatePaths } from "../api/queries";
import { useTitle } from "../lib/useTitle";

type Protocol = Schemas["ProtocolOut"];
type ProtocolData = Schemas["ProtocolData"];
type PublishedProtocolData = Schemas["PublishedProtocolData"];

const SHOWN: Array<[keyof ProtocolData, string]> = [
  ["ld_regimen", "LD regimen"], ["ld_days", "LD days"], ["infusion_min_days_after_ld", "Infusion from day (after LD)"],
  ["infusion_max_days_after_ld", "Infusion until day"], ["thaw_to_infusion_minutes", "Thaw → infusion (min)"],
  ["storage_max_celsius", "Storage ≤ °C"], ["storage_months", "Storage months"],
];

/** The protocol catalog: every version, its source, and which values are unconfirmed. */
export function Protocols() {
  useTitle("Protocol catalog");
  const queryClient = useQueryClient();
  const protocols = $api.useQuery("get", "/api/protocols");
  const [editing, setEditing] = useState<Protocol | null>(null);
  const list = protocols.data ?? [];
  const products = [...new Set(list.map((p) => p.product))];
  return (
    <section aria-labelledby="protocols-title">
      <h1 id="protocols-title">Protocol catalog</h1>
      <p className="muted">Values flagged <span className="tag warn">unconfirmed</span> lack a primary source; publish a corrected version when one is found. Cases keep the version they were enrolled under.</p>
      <ErrorText error={apiError(protocols.error)} />
      {products.map((product) => (
        <div key={product} className="card protocol">
          <h2>{list.find((p) => p.product === product)?.name} <span className="muted">({product})</span></h2>
          <table>
            <caption className="sr-only">Versions of {product}</caption>
            <thead>
              <tr><th scope="col">Version</th>{SHOWN.map(([, label]) => <th scope="col" key={label}>{label}</th>)}<th scope="col">Source</th><th scope="col">Published</th><th scope="col"><span className="sr-only">Actions</span></th></tr>
            </thead>
            <tbody>
              {list.filter((p) => p.product === product).map((p) => (
                <tr key={p.id} className={p.current ? "current" : "old"}>
                  <th scope="row">v{p.version}{p.current ? " (current)" : ""}</th>
                  {SHOWN.map(([key]) => (
                    <td key={key}>
                      {String(p.data[key] ?? "—")}
                      {p.unconfirmed.includes(key) ? <> <span className="tag warn">unconfirmed</span></> : null}
                    </td>
                  ))}
                  <td className="source">{p.source}</td>
                  <td>{formatDateTime(p.published_at)} by {p.published_by}</td>
                  <td>{p.current ? <button type="button" className="small" onClick={() => setEditing(p)}>New version<span className="sr-only"> of {product}</span></button> : null}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {(() => {
            const cur = list.find((p) => p.product === product && p.current);
            const other = cur?.unconfirmed.filter((u) => !SHOWN.some(([k]) => k === u)) ?? [];
            return other.length ? <p className="muted">Also unconfirmed: {other.join(", ")}.</p> : null;
          })()}
        </div>
      ))}
      {editing ? <Publish base={editing} onDone={() => { setEditing(null); void invalidatePaths(queryClient, "/api/protocols"); }} onCancel={() => setEditing(null)} /> : null}
    </section>
  );
}

function Publish({ base, onDone, onCancel }: { base: Protocol; onDone: () => void; onCancel: () => void }) {
  const [name, setName] = useState(base.name);
  const [source, setSource] = useState(base.source);
  const [data, setData] = useState(JSON.stringify(base.data, null, 2));
  const [unconfirmed, setUnconfirmed] = useState(base.unconfirmed.join(", "));
  const [error, setError] = useState<ApiError>();
  const [jsonError, setJsonError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    let parsed: PublishedProtocolData;
    try {
      // The server checks what a new version must state (expiry rule, label content).
      parsed = JSON.parse(data) as PublishedProtocolData;
      setJsonError(null);
    } catch (err) {
      setJsonError(`The data is not valid JSON: ${(err as Error).message}`);
      return;
    }
    try {
      unwrap(await api.POST("/api/protocols", {
        body: { product: base.product, name, source, data: parsed, unconfirmed: unconfirmed.split(",").map((s) => s.trim()).filter(Boolean) },
      }));
      onDone();
    } catch (err) {
      setError(asApiError(err));
    }
  };
  return (
    <form className="card" onSubmit={submit} aria-labelledby="publish-title" noValidate>
      <h2 id="publish-title">Publish a new version of {base.product} (now v{base.version})</h2>
      <Field label="Name" error={error?.fieldMessage("name")}><input value={name} onChange={(e) => setName(e.target.value)} /></Field>
      <Field label="Source (label, section, date)" error={error?.fieldMessage("source")}><textarea rows={2} value={source} onChange={(e) => setSource(e.target.value)} /></Field>
      <Field label="Rules (JSON)" error={jsonError ?? error?.fieldMessage("data")}><textarea className="code" rows={14} value={data} onChange={(e) => setData(e.target.value)} /></Field>
      <Field label="Unconfirmed values (comma-separated field names)" error={error?.fieldMessage("unconfirmed")}><input value={unconfirmed} onChange={(e) => setUnconfirmed(e.target.value)} /></Field>
      <ErrorText error={error} />
      <div className="buttons">
        <button type="submit" className="primary">Publish version {base.version + 1}</button>
        <button type="button" onClick={onCancel}>Cancel</button>
      </div>
    </form>
  );
}
