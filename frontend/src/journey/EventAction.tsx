import { useEffect, useMemo, useRef, useState, type FormEvent, type ReactNode } from "react";
import { asApiError, type ApiError } from "../api/client";
import { ESignDialog, SignatureList, type SignatureRecord } from "../components/ESignDialog";
import { ErrorText } from "../components/ErrorText";
import { eventLabel, type Transition } from "./JourneyContext";
import { SchemaForm, initialValue, toData, type FieldOverride, type FormObject, type FormValue, type JSONSchema } from "./SchemaForm";
import { applyEvent, getTimeline, type CaseDetail } from "./api";

export interface IncomingScan {
  payload: string;
  seq: number;
}

interface Props {
  caseId: number;
  version?: number;
  transition: Transition;
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

/** One journey event as a form: generated from its data schema, e-signed when the table says so. */
export function EventAction({ caseId, version, transition, initial, overrides, today, incomingScan, onDone, onCancel, submitLabel, children, prepare, again }: Props) {
  const schema = (transition.data_schema ?? { type: "object", properties: {} }) as JSONSchema;
  const [value, setValue] = useState<FormObject>(() => ({
    ...(initialValue(schema, schema, true, { today }) as FormObject),
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

  const signatureMeaning = (data: Record<string, unknown>): string | null => {
    if (transition.event === "thaw" && data.override_reason) return "Override: thaw outside the infusion window";
    if (transition.event === "decide_out_of_spec") {
      const words: Record<string, string> = {
        exceptional_release: "Exceptional release (out of specification)",
        recollect: "Out-of-specification decision: recollect",
        cancel: "Out-of-specification decision: cancel",
      };
      return words[String(data.decision)] ?? transition.signature ?? "Out-of-specification decision";
    }
    return transition.signature ?? null;
  };

  const send = async (data: Record<string, unknown>, password?: string) => {
    const detail = await applyEvent(caseId, {
      event: transition.event, data, expected_version: version,
      ...(password ? { signature: { password } } : {}),
    });
    let signatures: SignatureRecord[] = [];
    if (password || transition.signature || transition.second_signature) {
      // The signed event is the newest of the timeline; read again briefly if it is not there yet.
      for (let attempt = 0; attempt < 4 && !signatures.length; attempt++) {
        if (attempt) await new Promise((r) => window.setTimeout(r, 250));
        const events = await getTimeline(caseId);
        const newest = events[events.length - 1];
        if (newest?.event === transition.event) signatures = (newest.signatures ?? []) as SignatureRecord[];
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
    const meaning = signatureMeaning(data);
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

  const title = useMemo(() => eventLabel(transition.event), [transition.event]);
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
      {transition.guards.length ? (
        <details className="guards">
          <summary>Rules checked</summary>
          <ul>{transition.guards.map((g) => <li key={g}>{g}</li>)}</ul>
        </details>
      ) : null}
      <SchemaForm schema={schema} value={value} onChange={setValue} error={error} overrides={overrides} />
      {transition.signature ? <p className="hint">This needs your e-signature: “{transition.signature}”.</p> : null}
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
