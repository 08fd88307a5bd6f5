import { useState, type FormEvent } from "react";
import { api, asApiError, unwrap, type ApiError } from "../api/client";
import { ErrorText } from "../components/ErrorText";
import { Field } from "../components/Field";
import { useTitle } from "../lib/useTitle";
import { useAuth } from "./AuthContext";

export const PASSWORD_RULES = "12 to 64 characters, in any language or script. Not a common or breached password, not your username or printed name. A few unrelated words make a good one.";

/** Change your own password; `forced` after an admin's reset (nothing else is open until then). */
export function ChangePassword({ forced = false }: { forced?: boolean }) {
  useTitle("Change password");
  const { me, refresh, signOut } = useAuth();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [repeat, setRepeat] = useState("");
  const [error, setError] = useState<ApiError>();
  const [mismatch, setMismatch] = useState(false);
  const [done, setDone] = useState(false);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setDone(false);
    setMismatch(next !== repeat);
    if (next !== repeat) return;
    setBusy(true);
    try {
      unwrap(await api.POST("/api/auth/password", { body: { current_password: current, new_password: next } }));
      setCurrent("");
      setNext("");
      setRepeat("");
      setDone(true);
      await refresh();
    } catch (err) {
      setError(asApiError(err));
    } finally {
      setBusy(false);
    }
  };

  const form = (
    <form onSubmit={submit} className="card" aria-labelledby="password-title" noValidate>
      <h1 id="password-title">{forced ? "Choose a new password" : "Change password"}</h1>
      {forced ? (
        <p className="notice" role="status">
          An admin reset your password, {me?.full_name}. Choose a new one before you go on; the temporary password works only this once.
        </p>
      ) : <p className="muted">Your other sessions and tokens end when you change it; this one goes on.</p>}
      <Field label={forced ? "Temporary password" : "Current password"} error={error?.fieldMessage("current_password")}>
        <input type="password" autoComplete="current-password" value={current} onChange={(e) => setCurrent(e.target.value)} required />
      </Field>
      <Field label="New password" hint={PASSWORD_RULES} error={error?.fieldMessage("new_password")}>
        <input type="password" autoComplete="new-password" value={next} onChange={(e) => setNext(e.target.value)} required />
      </Field>
      <Field label="New password again" error={mismatch ? "The two new passwords differ." : undefined}>
        <input type="password" autoComplete="new-password" value={repeat} onChange={(e) => setRepeat(e.target.value)} required />
      </Field>
      <ErrorText error={error} />
      {done ? <p role="status">Your password is changed.</p> : null}
      <div className="inline">
        <button type="submit" className="primary" disabled={busy || !current || !next || !repeat}>Change password</button>
        {forced ? <button type="button" onClick={() => void signOut()}>Sign out</button> : null}
      </div>
    </form>
  );
  return forced ? <main id="main" className="signin">{form}</main> : <section>{form}</section>;
}
