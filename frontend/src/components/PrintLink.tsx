import { useState, type FormEvent, type ReactNode } from "react";
import { readError, type ErrorBody } from "../api/client";
import { Dialog } from "./Dialog";
import { Field } from "./Field";

/**
 * Prints a label (every print is recorded by the server). A label printed before needs a reprint
 * reason: the server answers 409 and this asks for one, then prints again.
 */
export function PrintLink({ href, children, className }: { href: string; children: ReactNode; className?: string }) {
  const [asking, setAsking] = useState<ErrorBody | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [reason, setReason] = useState("");
  const [done, setDone] = useState<string | null>(null);

  const print = async (why?: string) => {
    setError(null);
    const url = why ? `${href}${href.includes("?") ? "&" : "?"}reprint_reason=${encodeURIComponent(why)}` : href;
    let res: Response;
    try {
      res = await fetch(url, { credentials: "same-origin" });
    } catch {
      setError("cartrack could not be reached; the label was not printed.");
      return;
    }
    if (res.status === 409) {
      setAsking(await readError(res));
      return;
    }
    if (!res.ok) {
      const body = await readError(res);
      if (asking) setAsking({ ...body });
      else setError(body.detail);
      return;
    }
    setAsking(null);
    setReason("");
    const blob = await res.blob();
    const objectUrl = URL.createObjectURL(blob);
    const opened = window.open(objectUrl, "_blank");
    if (opened) opened.opener = null;
    else {
      const a = document.createElement("a");
      a.href = objectUrl;
      a.download = href.split("/").pop() ?? "label";
      a.click();
    }
    setDone("Sent to print.");
    window.setTimeout(() => URL.revokeObjectURL(objectUrl), 60_000);
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
