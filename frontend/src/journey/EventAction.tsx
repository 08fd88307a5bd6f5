import { useEffect, useMemo, useRef, useState, type FormEvent, type ReactNode } from "react";
import { ApiError, asApiError } from "../api/client";
import { ESignDialog, SignatureList, type SignatureRecord } from "../components/ESignDialog";
import { ErrorText } from "../components/ErrorText";
import { eventLabel, isSigned, signatureMeaning, useTransition, type Action } from "./JourneyContext";
import { SchemaForm, initialValue, toData, type FieldOverride, type FormObject, type FormValue, type JSONSchema } from "./SchemaForm";
import { isoDateIn } from "../lib/time";
import { applyEvent, getTimeline, type CaseDetail } from "./api";

export interface IncomingScan {
  payload: string;
  seq: number;
}

interface Props {
  caseId: number;
  version?: number;
  /** The case's action (from the case's `actions`): its schema, signatures and any override. */
  action: Action;
  /** Values to start from (e.g. the scan that opened the action). */
  initial?: FormObject;
  overrides?: Record<string, FieldOverride>;
  today?: string;
  /** A scan arriving while this form is open: appended to "scans", or put in "scan". */
  incomingScan?: IncomingScan;
  onDone?: (detail: CaseDetail) => void;
  onCancel?: () => void;
  submitLabel?: string;
  children?: ReactNode;
  /** Offered after the receipt (e.g. "Record another QC result"). */
  again?: { label: string; onClick: () => void };
  /** Called before submitting; may add to the data. */
  prepare?: (data: Record<string, unknown>) => Record<string, unknown>;
}

/** The data field that carries the reason for an override (or for the event itself). */
export function reasonField(action: Action): string | undefined {
  const props = (action.data_schema as JSONSchema).properties ?? {};
  if (action.override && "override_reason" in props) return "override_reason";
  return "reason" in props ? "reason" : undefined;
}

/** One journey event as a form: generated from its data schema, e-signed when the table says so. */
export function EventAction({ caseId, version, action, initial, overrides, today, incomingScan, onDone, onCancel, submitLabel, children, prepare, again }: Props) {
  const schema = (action.data_schema ?? { type: "object", properties: {} }) as JSONSchema;
  const row = useTransition(action.event);
  const [value, setValue] = useState<FormObject>(() => ({
    // Dates start from today on the calendar of the site the event belongs to.
    ...(initialValue(schema, schema, true, { today: today ?? isoDateIn(action.calendar_timezone) }) as FormObject),
    ...(initial ?? {}),
  }));
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const [signing, setSigning] = useState<{ meaning: string; data: Record<string, unknown> } | null>(null);
  const [receipt, setReceipt] = useState<{ signatures: SignatureRecord[] } | null>(null);
  const lastSeq = useRef<number | undefined>(incomingScan?.seq);
  const props = schema.properties ?? {};

  // Scans arriving from the station's scanner while this form is open.
  useEffect(() => {
    if (!incomingScan || incomingScan.seq === lastSeq.current) return;
    lastSeq.current = incomingScan.seq;
    setValue((v) => {
      if ("scans" in props) {
        const list = Array.isArray(v.scans) ? (v.scans as string[]) : [];
        return list.includes(incomingScan.payload) ? v : { ...v, scans: [...list, incomingScan.payload] };
      }
      if ("scan" in props) return { ...v, scan: incomingScan.payload };
      return v;
    });
  }, [incomingScan, props]);

  const send = async (data: Record<string, unknown>, password?: string) => {
    const detail = await applyEvent(caseId, {
      event: action.event, data, expected_version: version,
      ...(password ? { signature: { password } } : {}),
    });
    let signatures: SignatureRecord[] = [];
    if (password || isSigned(action)) {
      // The signed event is the newest of the timeline; read again briefly if it is not there yet.
      for (let attempt = 0; attempt < 4 && !signatures.length; attempt++) {
        if (attempt) await new Promise((r) => window.setTimeout(r, 250));
        const events = await getTimeline(caseId);
        const newest = events[events.length - 1];
        if (newest?.event === action.event) signatures = (newest.signatures ?? []) as SignatureRecord[];
      }
    }
    setReceipt({ signatures });
    onDone?.(detail);
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    let data = toData(schema, schema, value as FormValue) as Record<string, unknown>;
    if (prepare) data = prepare(data);
    // A guard that fails now but may be overridden: the override takes a reason (and a signature).
    const field = reasonField(action);
    if (action.override && field && !data[field]) {
      setError(new ApiError(0, { detail: action.override.message, code: action.override.code, fields: [{ field: `data.${field}`, message: "give the reason for the override" }] }));
      return;
    }
    const meaning = signatureMeaning(action, data);
    if (meaning) {
      setSigning({ meaning, data });
      return;
    }
    setBusy(true);
    try {
      await send(data);
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setBusy(false);
    }
  };

  const title = useMemo(() => eventLabel(action.event), [action.event]);
  const ownSigns = action.signatures.filter((s) => !s.second_signer);
  if (receipt) {
    return (
      <div className="event-done" role="status">
        <p><strong>{title}: recorded.</strong></p>
        <SignatureList signatures={receipt.signatures} />
        {children}
        {again ? <button type="button" onClick={again.onClick}>{again.label}</button> : null}
      </div>
    );
  }
  return (
    <form className="event-form" onSubmit={submit} aria-label={title} noValidate>
      <h3>{title}</h3>
      {row?.guards.length ? (
        <details className="guards">
          <summary>Rules checked</summary>
          <ul>{row.guards.map((g) => <li key={g.name}>{g.text}</li>)}</ul>
        </details>
      ) : null}
      {action.override ? (
        <p className="warn override" data-testid="override">
          {action.override.message} (Rule: “{action.override.text}”.)
        </p>
      ) : null}
      <SchemaForm schema={schema} value={value} onChange={setValue} error={error} overrides={overrides} />
      {ownSigns.length === 1 ? <p className="hint">This needs your e-signature: “{ownSigns[0].meaning}”.</p> : null}
      {ownSigns.length > 1 ? <p className="hint">Each decision needs your e-signature.</p> : null}
      <ErrorText error={error} />
      <div className="buttons">
        <button type="submit" className="primary" disabled={busy}>{busy ? "Saving…" : submitLabel ?? title}</button>
        {onCancel ? <button type="button" onClick={onCancel}>Cancel</button> : null}
      </div>
      {signing ? (
        <ESignDialog meaning={signing.meaning} action={title} onClose={() => setSigning(null)}
          onSign={async (password) => {
            try {
              await send(signing.data, password);
              setSigning(null);
            } catch (err) {
              const apiErr = asApiError(err);
              // A wrong password stays in the dialog; any other refusal goes next to the form.
              if (apiErr.body.code === "signature_failed" || apiErr.body.code === "account_locked") throw apiErr;
              setSigning(null);
              setError(apiErr);
            }
          }} />
      ) : null}
    </form>
  );
}
