import { useAuth } from "../../auth/AuthContext";
import { Ident } from "../../components/Ident";
import { PrintLink } from "../../components/PrintLink";
import type { CaseDetail } from "../../journey/api";
import { formatDateTime } from "../../lib/time";

type Unit = CaseDetail["units"][number];

/** Units as a lineage tree: apheresis units with the product bags made from them. */
export function Units({ detail }: { detail: CaseDetail }) {
  const roots = detail.units.filter((u) => !u.parent_unit_id || !detail.units.some((p) => p.unit_id === u.parent_unit_id));
  const children = (u: Unit) => detail.units.filter((c) => c.parent_unit_id === u.unit_id);
  if (!detail.units.length) return <p>No bags yet: apheresis units are created when the collection is recorded.</p>;
  const render = (u: Unit) => {
    const kids = children(u);
    return (
      <li key={u.id}>
        <UnitLine unit={u} />
        {kids.length ? (
          <ul aria-label={`Made from ${u.unit_id}`}>{kids.map(render)}</ul>
        ) : null}
      </li>
    );
  };
  return <ul className="lineage" aria-label="Bags and their lineage">{roots.map(render)}</ul>;
}

function UnitLine({ unit }: { unit: Unit }) {
  return (
    <div className={`unit ${unit.quarantined ? "quarantined" : ""}`}>
      <Ident value={unit.unit_id} check={unit.unit_id_check} />{" "}
      <span className="tag">{unit.kind === "product" ? "final product bag" : "apheresis unit"}</span>{" "}
      <span className="tag">{unit.status.replace(/_/g, " ")}</span>
      {unit.quarantined ? <span className="tag danger">quarantined</span> : null}
      <span className="muted">
        {unit.volume_ml ? ` · ${unit.volume_ml} mL` : ""}
        {unit.site_code ? ` · at ${unit.site_code}` : ""}
        {unit.location ? ` (${unit.location})` : ""}
        {unit.expires_at ? ` · expires ${formatDateTime(unit.expires_at)}` : ""}
        {unit.parent_unit_id ? ` · from ${unit.parent_unit_id}` : ""}
      </span>{" "}
      <span className="label-links">
        <PrintLink target={{ unit: unit.unit_id, format: "pdf" }}>Label PDF<span className="sr-only"> for {unit.unit_id}</span></PrintLink>{" · "}
        <PrintLink target={{ unit: unit.unit_id, format: "zpl" }}>ZPL<span className="sr-only"> label for {unit.unit_id}</span></PrintLink>
      </span>
    </div>
  );
}

/** Links to print the case's labels (every bag on one PDF sheet) and, for clinical staff, the
 * patient's wristband (the server checks the site too). */
export function LabelLinks({ caseId }: { caseId: number }) {
  const { hasRole } = useAuth();
  return (
    <ul className="print-links">
      <li><PrintLink className="button" target={{ sheet: caseId, format: "pdf" }}>Print all labels (PDF sheet)</PrintLink></li>
      <li><PrintLink className="button" target={{ sheet: caseId, format: "zpl" }}>All labels for the thermal printer (ZPL)</PrintLink></li>
      {hasRole("coordinator", "collection_staff", "infusion_staff") ? (
        <li><PrintLink className="button" target={{ wristband: caseId, format: "pdf" }}>Print wristband (PDF)</PrintLink></li>
      ) : null}
    </ul>
  );
}
