import { useState, type FormEvent } from "react";
import { asApiError, type ApiError } from "../api/client";
import { ErrorText } from "../components/ErrorText";
import { Field } from "../components/Field";
import { useTitle } from "../lib/useTitle";
import { useAuth } from "./AuthContext";

export function SignIn() {
  useTitle("Sign in");
  const { signIn, reason } = useAuth();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await signIn(username.trim(), password);
    } catch (err) {
      setError(asApiError(err));
      setPassword("");
      setBusy(false);
    }
  };
  return (
    <main id="main" className="signin">
      <form onSubmit={submit} aria-labelledby="signin-title" className="card">
        <h1 id="signin-title">cartrack</h1>
        <p className="muted">Chain of identity for autologous CAR-T therapy. Sign in to continue.</p>
        {reason && !error ? <p className="notice" role="status">{reason}</p> : null}
        <Field label="Username">
          {/* biome-ignore lint/a11y/noAutofocus: signing in is the page's only task; typing starts here */}
          <input autoComplete="username" required value={username} onChange={(e) => setUsername(e.target.value)} autoFocus />
        </Field>
        <Field label="Password">
          <input type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </Field>
        <ErrorText error={error} />
        <button type="submit" className="primary" disabled={busy || !username || !password}>{busy ? "Signing in…" : "Sign in"}</button>
      </form>
    </main>
  );
}
