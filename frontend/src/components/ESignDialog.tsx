import { useState, type FormEvent, type ReactNode } from "react";
import { asApiError, type ApiError } from "../api/client";
import { useAuth } from "../auth/AuthContext";
import { Dialog } from "./Dialog";
import { ErrorText } from "./ErrorText";
import { Field } from "./Field";

/**
 * The Part 11 e-signature: the signer's printed name and the meaning are shown; the password is
 * typed again. onSign gets the password and performs the signed action.
 */
export function ESignDialog({ meaning, action, onSign, onClose, children }: {
  meaning: string;
  action: string;
  onSign: (password: string) => Promise<void>;
  onClose: () => void;
  children?: ReactNode;
}) {
  const { me } = useAuth();
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await onSign(password);
    } catch (err) {
      setError(asApiError(err));
      setPassword("");
      setBusy(false);
    }
  };
  return (
    <Dialog title="Electronic signature" onClose={onClose} className="esign">
      <form onSubmit={submit}>
        <dl className="esign-facts">
          <dt>Action</dt>
          <dd>{action}</dd>
          <dt>Meaning of this signature</dt>
          <dd className="meaning">{meaning}</dd>
          <dt>Signer</dt>
          <dd>{me?.full_name} ({me?.username})</dd>
        </dl>
        {children}
        <p className="hint">Signing binds your name, the date and time and this meaning to the record.</p>
        <Field label="Your password" error={error?.status === 403 ? error.body.detail : undefined}>
          <input type="password" autoComplete="current-password" required value={password}
            onChange={(e) => setPassword(e.target.value)} data-autofocus />
        </Field>
        {error && error.status !== 403 ? <ErrorText error={error} /> : null}
        <div className="buttons">
          <button type="submit" className="primary" disabled={busy || !password}>{busy ? "Signing…" : "Sign"}</button>
          <button type="button" onClick={onClose}>Cancel</button>
        </div>
      </form>
    </Dialog>
  );
}

export interface SignatureRecord {
  printed_name?: unknown;
  meaning?: unknown;
  signed_at?: unknown;
}

/** What was signed: printed name, meaning, date and time (§11.50). */
export function SignatureList({ signatures }: { signatures: SignatureRecord[] }) {
  if (!signatures.length) return null;
  return (
    <ul className="signatures" aria-label="Signatures">
      {signatures.map((s) => (
        <li key={`${s.printed_name}-${s.meaning}-${s.signed_at}`}>
          <span className="sig-mark" aria-hidden="true">✍</span>{" "}
          Signed by <strong>{String(s.printed_name)}</strong> — “{String(s.meaning)}” —{" "}
          <time dateTime={String(s.signed_at)}>{new Date(String(s.signed_at)).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "long" })}</time>
        </li>
      ))}
    </ul>
  );
}
