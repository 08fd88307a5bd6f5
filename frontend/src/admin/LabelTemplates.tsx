import { useState } from "react";
import { ApiError, api, toErrorBody, unwrap, type Schemas } from "../api/client";
import { useAuth } from "../auth/AuthContext";
import { ErrorText } from "../components/ErrorText";
import { ESignDialog } from "../components/ESignDialog";
import { openBlob } from "../components/PrintLink";
import { formatDateTime } from "../lib/time";
import { useQueryClient } from "@tanstack/react-query";
import { $api, apiError, invalidatePaths } from "../api/queries";
import { useTitle } from "../lib/useTitle";

type Template = Schemas["TemplateOut"];
type StockSize = Schemas["StockSize"];
const KINDS: Array<[string, string]> = [["product", "Final product bag"], ["apheresis", "Apheresis unit"], ["wristband", "Patient wristband"]];
const SIZES: StockSize[] = ["4x4in", "4x2in", "2x1in"];

/** Label templates under version control: every version, which one prints, and QA's approval. */
export function LabelTemplates() {
  useTitle("Label templates");
  const { hasRole, me } = useAuth();
  const queryClient = useQueryClient();
  const templates = $api.useQuery("get", "/api/label-templates");
  const [signing, setSigning] = useState<Template | null>(null);
  const [error, setError] = useState<ApiError>();
  const list = templates.data ?? [];

  const specimen = async (t: Template, size: StockSize) => {
    setError(undefined);
    const { data, error: refusal, response } = await api.GET("/api/label-templates/{template_id}/specimen.pdf", {
      params: { path: { template_id: t.id }, query: { size } }, parseAs: "blob",
    });
    if (!response.ok || !(data instanceof Blob)) {
      setError(new ApiError(response.status, toErrorBody(refusal, response)));
      return;
    }
    openBlob(data, `specimen-${t.kind}-v${t.version}-${size}.pdf`);
  };

  return (
    <section aria-labelledby="templates-title">
      <h1 id="templates-title">Label templates</h1>
      <p className="muted">A new version prints only once QA has approved it with an e-signature; until then the version in effect keeps printing. Every print records the version it used. See a specimen before approving.</p>
      <ErrorText error={apiError(templates.error) ?? error} />
      {KINDS.map(([kind, title]) => (
        <div key={kind} className="card protocol">
          <h2>{title} <span className="muted">({kind})</span></h2>
          <table>
            <caption className="sr-only">Versions of the {kind} label template</caption>
            <thead>
              <tr><th scope="col">Version</th><th scope="col">Status</th><th scope="col">Proposed</th><th scope="col">Approved (e-signature)</th><th scope="col">Note</th><th scope="col">Specimen</th><th scope="col"><span className="sr-only">Actions</span></th></tr>
            </thead>
            <tbody>
              {list.filter((t) => t.kind === kind).map((t) => (
                <tr key={t.id} className={t.in_effect ? "current" : "old"}>
                  <th scope="row">v{t.version}</th>
                  <td><span className={`tag ${t.in_effect ? "" : t.status === "proposed" ? "warn" : ""}`}>{t.in_effect ? "in effect" : t.status}</span></td>
                  <td>{formatDateTime(t.proposed_at)} by {t.proposed_by}</td>
                  <td>{t.approved_at ? `${formatDateTime(t.approved_at)} by ${t.approved_by ?? ""}` : "—"}</td>
                  <td>{t.note}</td>
                  <td>
                    {SIZES.map((size) => (
                      <button key={size} type="button" className="link-button" onClick={() => void specimen(t, size)}>
                        {size}<span className="sr-only"> specimen of {kind} v{t.version}</span>
                      </button>
                    ))}
                  </td>
                  <td>
                    {t.status === "proposed" && hasRole("qa") ? (
                      <button type="button" className="small primary" onClick={() => setSigning(t)}>Approve<span className="sr-only"> {kind} v{t.version}</span></button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ))}
      {signing ? (
        <ESignDialog meaning="Approved for use" action={`Approve the ${signing.kind} label template v${signing.version}`}
          onClose={() => setSigning(null)}
          onSign={async (password) => {
            unwrap(await api.POST("/api/label-templates/{template_id}/approve", {
              params: { path: { template_id: signing.id } }, body: { signature: { password } },
            }));
            setSigning(null);
            await invalidatePaths(queryClient, "/api/label-templates");
          }}>
          {signing.proposed_by === me?.full_name ? <p role="alert">You proposed this version: another QA member must approve it.</p> : null}
        </ESignDialog>
      ) : null}
    </section>
  );
}
