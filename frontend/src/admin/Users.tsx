import { useState, type FormEvent } from "react";
import { api, asApiError, unwrap, type ApiError, type Schemas } from "../api/client";
import { useAuth } from "../auth/AuthContext";
import { PASSWORD_RULES } from "../auth/ChangePassword";
import { Dialog } from "../components/Dialog";
import { ErrorText } from "../components/ErrorText";
import { Field } from "../components/Field";
import { useReference } from "../journey/JourneyContext";
import { useQueryClient } from "@tanstack/react-query";
import { $api, apiError, invalidatePaths } from "../api/queries";
import { formatDateTime } from "../lib/time";
import { useTitle } from "../lib/useTitle";

type Role = Schemas["Role"];
type User = Schemas["UserOut"];
type Membership = { role: Role; site_code: string };
const ROLES: Role[] = ["admin", "coordinator", "collection_staff", "lab_tech", "qa", "infusion_staff"];

/** What an admin is about to do to one user, or has just done (a temporary password). */
type Confirmable = { kind: "disable" | "enable" | "reset"; user: User };
type Pending =
  | Confirmable
  | { kind: "roles"; user: User }
  | { kind: "temporary"; user: User; password: string; expiresAt: string };

export function Users() {
  useTitle("Users");
  const { me } = useAuth();
  const queryClient = useQueryClient();
  const users = $api.useQuery("get", "/api/users", { params: { query: { limit: 200 } } });
  const reloadUsers = () => void invalidatePaths(queryClient, "/api/users");
  const [error, setError] = useState<ApiError>();
  const [done, setDone] = useState<string | null>(null);
  const [pending, setPending] = useState<Pending | null>(null);

  const act = async (what: () => Promise<string>) => {
    setError(undefined);
    setDone(null);
    try {
      setDone(await what());
      reloadUsers();
    } catch (err) {
      setError(asApiError(err));
    }
  };
  const unlock = (u: User) => act(async () => {
    unwrap(await api.POST("/api/users/{user_id}/unlock", { params: { path: { user_id: u.id } } }));
    return `${u.username} is unlocked.`;
  });
  const confirm = async () => {
    if (!pending) return;
    const { user } = pending;
    const path = { params: { path: { user_id: user.id } } };
    if (pending.kind === "disable") {
      await act(async () => { unwrap(await api.POST("/api/users/{user_id}/disable", path)); return `${user.username} is disabled; every session of it has ended.`; });
      setPending(null);
    } else if (pending.kind === "enable") {
      await act(async () => { unwrap(await api.POST("/api/users/{user_id}/enable", path)); return `${user.username} is enabled.`; });
      setPending(null);
    } else if (pending.kind === "reset") {
      try {
        const out = unwrap(await api.POST("/api/users/{user_id}/password-reset", path));
        setPending({ kind: "temporary", user, password: out.temporary_password, expiresAt: out.expires_at });
        setDone(`${user.username}'s password is reset; every session of it has ended.`);
        setError(undefined);
        reloadUsers();
      } catch (err) {
        setError(asApiError(err));
        setPending(null);
      }
    }
  };

  return (
    <section aria-labelledby="users-title">
      <h1 id="users-title">Users</h1>
      <ErrorText error={apiError(users.error) ?? error} />
      {done ? <p role="status">{done}</p> : null}
      {users.data ? (
        <table>
          <caption className="sr-only">Users and their roles at sites</caption>
          <thead><tr><th scope="col">Username</th><th scope="col">Printed name</th><th scope="col">Roles</th><th scope="col">Status</th><th scope="col">Actions</th></tr></thead>
          <tbody>
            {users.data.items.map((u) => (
              <tr key={u.id}>
                <th scope="row">{u.username}</th>
                <td>{u.full_name}</td>
                <td>{u.memberships.map((m) => `${m.role.replace(/_/g, " ")}${m.site_code ? ` @ ${m.site_code}` : " (everywhere)"}`).join("; ")}</td>
                <td>{status(u)}</td>
                <td>
                  <div className="row-actions">
                    {u.locked && u.active ? <button type="button" className="small" onClick={() => void unlock(u)}>Unlock<span className="sr-only"> {u.username}</span></button> : null}
                    <button type="button" className="small" onClick={() => setPending({ kind: "roles", user: u })}>Edit roles<span className="sr-only"> of {u.username}</span></button>
                    {u.id !== me?.id ? (
                      <>
                        <button type="button" className="small" onClick={() => setPending({ kind: "reset", user: u })}>Reset password<span className="sr-only"> of {u.username}</span></button>
                        {u.active
                          ? <button type="button" className="small danger" onClick={() => setPending({ kind: "disable", user: u })}>Disable<span className="sr-only"> {u.username}</span></button>
                          : <button type="button" className="small" onClick={() => setPending({ kind: "enable", user: u })}>Enable<span className="sr-only"> {u.username}</span></button>}
                      </>
                    ) : null}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : <p aria-busy="true">Loading…</p>}
      {pending?.kind === "roles" ? (
        <EditRoles user={pending.user} onClose={() => setPending(null)} onSaved={(u) => { setPending(null); setDone(`${u.username}'s roles are saved.`); reloadUsers(); }} />
      ) : null}
      {pending && pending.kind !== "roles" && pending.kind !== "temporary" ? (
        <Confirm pending={pending} onConfirm={() => void confirm()} onClose={() => setPending(null)} />
      ) : null}
      {pending?.kind === "temporary" ? (
        <Dialog title={`Temporary password for ${pending.user.username}`} onClose={() => setPending(null)}>
          <p>Give it to {pending.user.full_name} in person. It is shown only now, works for one sign-in until {formatDateTime(pending.expiresAt)}, and that sign-in must choose a new password.</p>
          <p className="temporary-password" data-testid="temporary-password">{pending.password}</p>
          <div className="buttons"><button type="button" className="primary" data-autofocus onClick={() => setPending(null)}>Done</button></div>
        </Dialog>
      ) : null}
      <NewUser onCreated={reloadUsers} />
    </section>
  );
}

function status(u: User): string {
  if (!u.active) return "disabled";
  if (u.locked) return "locked";
  if (u.must_change_password) return "active; must change password";
  return "active";
}

const CONFIRM_TEXT = {
  disable: { title: "Disable", button: "Disable", text: "Every browser session and token of this user ends now, and the user cannot sign in until enabled again." },
  enable: { title: "Enable", button: "Enable", text: "The user can sign in again with their password." },
  reset: { title: "Reset the password of", button: "Reset password", text: "Every session of this user ends now. You will see a temporary password once; it admits one sign-in, which must choose a new password." },
} as const;

function Confirm({ pending, onConfirm, onClose }: { pending: Confirmable; onConfirm: () => void; onClose: () => void }) {
  const text = CONFIRM_TEXT[pending.kind];
  return (
    <Dialog title={`${text.title} ${pending.user.username}?`} onClose={onClose} role="alertdialog">
      <p>{text.text}</p>
      <div className="buttons">
        <button type="button" className={pending.kind === "disable" ? "danger" : "primary"} onClick={onConfirm}>{text.button}</button>
        <button type="button" data-autofocus onClick={onClose}>Keep as it is</button>
      </div>
    </Dialog>
  );
}

function EditRoles({ user, onClose, onSaved }: { user: User; onClose: () => void; onSaved: (u: User) => void }) {
  const [memberships, setMemberships] = useState<Membership[]>(user.memberships.map((m) => ({ role: m.role, site_code: m.site_code ?? "" })));
  const [error, setError] = useState<ApiError>();
  const { sites } = useReference();
  const save = async (e: FormEvent) => {
    e.preventDefault();
    try {
      onSaved(unwrap(await api.PUT("/api/users/{user_id}/memberships", {
        params: { path: { user_id: user.id } },
        body: { memberships: memberships.map((m) => ({ role: m.role, site_code: m.role === "admin" ? null : m.site_code || sites[0]?.code || null })) },
      })));
    } catch (err) {
      setError(asApiError(err));
    }
  };
  return (
    <Dialog title={`Roles of ${user.username}`} onClose={onClose}>
      <form onSubmit={save} aria-label={`Roles of ${user.username}`} noValidate>
        <p className="muted">Saved with the old and the new roles in the audit trail. The user's live alerts reconnect under the new roles.</p>
        <MembershipsEditor memberships={memberships} onChange={setMemberships} />
        <ErrorText error={error} />
        <div className="buttons">
          <button type="submit" className="primary">Save roles</button>
          <button type="button" onClick={onClose}>Cancel</button>
        </div>
      </form>
    </Dialog>
  );
}

function MembershipsEditor({ memberships, onChange }: { memberships: Membership[]; onChange: (m: Membership[]) => void }) {
  const { sites } = useReference();
  const update = (i: number, patch: Partial<Membership>) => onChange(memberships.map((x, j) => (j === i ? { ...x, ...patch } : x)));
  return (
    <fieldset>
      <legend>Roles at sites</legend>
      {memberships.map((m, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: rows of a controlled editor; a row is its position
        <div className="inline" key={i}>
          <Field label={`Role ${i + 1}`}>
            <select value={m.role} onChange={(e) => update(i, { role: e.target.value as Role })}>
              {ROLES.map((r) => <option key={r} value={r}>{r.replace(/_/g, " ")}</option>)}
            </select>
          </Field>
          <Field label={`Site of role ${i + 1}`}>
            <select value={m.site_code} disabled={m.role === "admin"} onChange={(e) => update(i, { site_code: e.target.value })}>
              {sites.map((s) => <option key={s.code} value={s.code}>{s.code} — {s.name}</option>)}
            </select>
          </Field>
          {memberships.length > 1 ? <button type="button" className="small" onClick={() => onChange(memberships.filter((_, j) => j !== i))}>Remove role {i + 1}</button> : null}
        </div>
      ))}
      <button type="button" className="small" onClick={() => onChange([...memberships, { role: "coordinator", site_code: sites[0]?.code ?? "" }])}>Add a role</button>
    </fieldset>
  );
}

function NewUser({ onCreated }: { onCreated: () => void }) {
  const { sites } = useReference();
  const [form, setForm] = useState({ username: "", full_name: "", email: "", password: "" });
  const [memberships, setMemberships] = useState<Membership[]>([{ role: "coordinator", site_code: "" }]);
  const [error, setError] = useState<ApiError>();
  const [done, setDone] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    try {
      const user = unwrap(await api.POST("/api/users", {
        body: {
          ...form, email: form.email || null,
          memberships: memberships.map((m) => ({ role: m.role, site_code: m.role === "admin" ? null : m.site_code || sites[0]?.code || null })),
        },
      }));
      setDone(`User ${user.username} created.`);
      setForm({ username: "", full_name: "", email: "", password: "" });
      onCreated();
    } catch (err) {
      setError(asApiError(err));
    }
  };
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });
  return (
    <form onSubmit={submit} className="card" aria-labelledby="new-user-title" noValidate>
      <h2 id="new-user-title">Add a user</h2>
      <Field label="Username" hint="lower case letters, digits, . _ -" error={error?.fieldMessage("username")}><input value={form.username} onChange={set("username")} autoComplete="off" /></Field>
      <Field label="Printed name (shown on signatures)" hint="unique among active users" error={error?.fieldMessage("full_name")}><input value={form.full_name} onChange={set("full_name")} /></Field>
      <Field label="E-mail" error={error?.fieldMessage("email")}><input type="email" value={form.email} onChange={set("email")} /></Field>
      <Field label="Initial password" hint={PASSWORD_RULES} error={error?.fieldMessage("password")}><input type="password" autoComplete="new-password" value={form.password} onChange={set("password")} /></Field>
      <MembershipsEditor memberships={memberships} onChange={setMemberships} />
      <ErrorText error={error} />
      {done ? <p role="status">{done}</p> : null}
      <button type="submit" className="primary">Add user</button>
    </form>
  );
}
