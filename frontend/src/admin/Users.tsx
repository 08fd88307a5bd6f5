import { useState, type FormEvent } from "react";
import { api, asApiError, unwrap, type ApiError, type Schemas } from "../api/client";
import { ErrorText } from "../components/ErrorText";
import { Field } from "../components/Field";
import { useReference } from "../journey/JourneyContext";
import { useQuery } from "../lib/useQuery";
import { useTitle } from "../lib/useTitle";

type Role = Schemas["Role"];
const ROLES: Role[] = ["admin", "coordinator", "collection_staff", "lab_tech", "qa", "infusion_staff"];

export function Users() {
  useTitle("Users");
  const users = useQuery(async () => unwrap(await api.GET("/api/users", { params: { query: { limit: 200 } } })), []);
  const [unlockError, setUnlockError] = useState<ApiError>();
  return (
    <section aria-labelledby="users-title">
      <h1 id="users-title">Users</h1>
      <ErrorText error={users.error ?? unlockError} />
      {users.data ? (
        <table>
          <caption className="sr-only">Users and their roles at sites</caption>
          <thead><tr><th scope="col">Username</th><th scope="col">Printed name</th><th scope="col">Roles</th><th scope="col">Status</th></tr></thead>
          <tbody>
            {users.data.items.map((u) => (
              <tr key={u.id}>
                <th scope="row">{u.username}</th>
                <td>{u.full_name}</td>
                <td>{u.memberships.map((m) => `${m.role.replace(/_/g, " ")}${m.site_code ? ` @ ${m.site_code}` : " (everywhere)"}`).join("; ")}</td>
                <td>
                  {!u.active ? "disabled" : u.locked ? (
                    <>locked{" "}
                      <button type="button" className="small" onClick={async () => {
                        try {
                          unwrap(await api.POST("/api/users/{user_id}/unlock", { params: { path: { user_id: u.id } } }));
                          setUnlockError(undefined);
                          void users.reload();
                        } catch (err) {
                          setUnlockError(asApiError(err));
                        }
                      }}>Unlock<span className="sr-only"> {u.username}</span></button>
                    </>
                  ) : "active"}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : <p aria-busy="true">Loading…</p>}
      <NewUser onCreated={() => void users.reload()} />
    </section>
  );
}

function NewUser({ onCreated }: { onCreated: () => void }) {
  const { sites } = useReference();
  const [form, setForm] = useState({ username: "", full_name: "", email: "", password: "" });
  const [memberships, setMemberships] = useState<Array<{ role: Role; site_code: string }>>([{ role: "coordinator", site_code: "" }]);
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
      <Field label="Printed name (shown on signatures)" error={error?.fieldMessage("full_name")}><input value={form.full_name} onChange={set("full_name")} /></Field>
      <Field label="E-mail" error={error?.fieldMessage("email")}><input type="email" value={form.email} onChange={set("email")} /></Field>
      <Field label="Initial password" hint="at least 10 characters" error={error?.fieldMessage("password")}><input type="password" autoComplete="new-password" value={form.password} onChange={set("password")} /></Field>
      <fieldset>
        <legend>Roles at sites</legend>
        {memberships.map((m, i) => (
          <div className="inline" key={i}>
            <Field label={`Role ${i + 1}`}>
              <select value={m.role} onChange={(e) => setMemberships(memberships.map((x, j) => (j === i ? { ...x, role: e.target.value as Role } : x)))}>
                {ROLES.map((r) => <option key={r} value={r}>{r.replace(/_/g, " ")}</option>)}
              </select>
            </Field>
            <Field label={`Site of role ${i + 1}`}>
              <select value={m.site_code} disabled={m.role === "admin"} onChange={(e) => setMemberships(memberships.map((x, j) => (j === i ? { ...x, site_code: e.target.value } : x)))}>
                {sites.map((s) => <option key={s.code} value={s.code}>{s.code} — {s.name}</option>)}
              </select>
            </Field>
            {memberships.length > 1 ? <button type="button" className="small" onClick={() => setMemberships(memberships.filter((_, j) => j !== i))}>Remove role {i + 1}</button> : null}
          </div>
        ))}
        <button type="button" className="small" onClick={() => setMemberships([...memberships, { role: "coordinator", site_code: sites[0]?.code ?? "" }])}>Add a role</button>
      </fieldset>
      <ErrorText error={error} />
      {done ? <p role="status">{done}</p> : null}
      <button type="submit" className="primary">Add user</button>
    </form>
  );
}
