import { useState, type FormEvent, type ReactNode } from "react";
import { api, toErrorBody, type ErrorBody, type Schemas } from "../api/client";
import { Dialog } from "./Dialog";
import { Field } from "./Field";

type PrintBody = Schemas["PrintIn"];

/** What to print: a bag's label, a case's sheet (every label), or the patient's wristband. */
export type LabelTarget =
  | { unit: string; format: "png" | "svg" | "pdf" | "zpl" }
  | { sheet: number; format: "pdf" | "zpl" }
  | { wristband: number; format: "png" | "pdf" };

/** One print request: a POST (printing is recorded) answered with the label itself. */
export function printLabel(target: LabelTarget, body: PrintBody) {
  if ("unit" in target) {
    return api.POST("/api/units/{unit_id}/label.{fmt}", {
      params: { path: { unit_id: target.unit, fmt: target.format } }, body, parseAs: "blob",
    });
  }
  if ("sheet" in target) {
    return api.POST("/api/cases/{case_id}/labels.{fmt}", {
      params: { path: { case_id: target.sheet, fmt: target.format } }, body, parseAs: "blob",
    });
  }
  return api.POST("/api/cases/{case_id}/wristband.{fmt}", {
    params: { path: { case_id: target.wristband, fmt: target.format } }, body, parseAs: "blob",
  });
}

function fileName(target: LabelTarget, response: Response): string {
  const named = /filename="([^"]+)"/.exec(response.headers.get("content-disposition") ?? "");
  if (named) return named[1];
  const what = "unit" in target ? target.unit : "sheet" in target ? `case-${target.sheet}` : `wristband-${target.wristband}`;
  return `label-${what}.${target.format}`;
}

/** Opens a label or a specimen in a new tab (or downloads it when pop-ups are blocked). */
export function openBlob(blob: Blob, name: string): void {
  const objectUrl = URL.createObjectURL(blob);
  const opened = window.open(objectUrl, "_blank");
  if (opened) opened.opener = null;
  else {
    const a = document.createElement("a");
    a.href = objectUrl;
    a.download = name;
    a.click();
  }
  window.setTimeout(() => URL.revokeObjectURL(objectUrl), 60_000);
}

/**
 * Prints a label (every print is recorded by the server). A label printed before needs a reprint
 * reason: the server answers 409 and this asks for one, then prints again.
 */
export function PrintLink({ target, children, className }: { target: LabelTarget; children: ReactNode; className?: string }) {
  const [asking, setAsking] = useState<ErrorBody | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [reason, setReason] = useState("");
  const [done, setDone] = useState<string | null>(null);

  const print = async (why?: string) => {
    setError(null);
    let result: Awaited<ReturnType<typeof printLabel>>;
    try {
      result = await printLabel(target, { size: "4x4in", copies: 1, reprint_reason: why ?? null });
    } catch {
      setError("cartrack could not be reached; the label was not printed.");
      return;
    }
    const { data, error: refusal, response } = result;
    if (!response.ok || data === undefined) {
      const body = toErrorBody(refusal, response);
      if (response.status === 409 && body.code === "reprint_reason_required") setAsking(body);
      else if (asking) setAsking({ ...body });
      else setError(body.detail);
      return;
    }
    setAsking(null);
    setReason("");
    openBlob(data, fileName(target, response));
    setDone("Sent to print.");
  };

  return (
    <>
      <button type="button" className={className ?? "link-button"} onClick={() => void print()}>{children}</button>
      {done ? <span className="sr-only" role="status">{done}</span> : null}
      {error ? <span className="field-error" role="alert"> {error}</span> : null}
      {asking ? (
        <Dialog title="Reprint a label" onClose={() => setAsking(null)}>
          <form onSubmit={(e: FormEvent) => { e.preventDefault(); void print(reason); }}>
            <p>{asking.detail}</p>
            <Field label="Reason for the reprint" hint="e.g. label damaged, printer jam">
              <input value={reason} onChange={(e) => setReason(e.target.value)} minLength={3} required data-autofocus />
            </Field>
            <div className="buttons">
              <button type="submit" className="primary" disabled={reason.trim().length < 3}>Reprint</button>
              <button type="button" onClick={() => setAsking(null)}>Cancel</button>
            </div>
          </form>
        </Dialog>
      ) : null}
    </>
  );
}
