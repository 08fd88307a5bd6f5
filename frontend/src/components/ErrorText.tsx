import type { ApiError } from "../api/client";
import { humanize } from "../lib/time";

/** An API error in words, next to what caused it. */
export function ErrorText({ error, id }: { error: ApiError | undefined | null; id?: string }) {
  if (!error) return null;
  const ctx = (error.body.context ?? {}) as Record<string, unknown>;
  const allowed = Array.isArray(ctx.allowed_events) ? (ctx.allowed_events as string[]) : [];
  const fields = (error.body.fields ?? []) as Array<Record<string, unknown>>;
  return (
    <div className="error" role="alert" id={id}>
      <p>{error.body.detail}</p>
      {fields.length > 1 ? (
        <ul>
          {fields.map((f) => (
            <li key={`${String(f.field)}-${String(f.message)}`}>{String(f.field || "input")}: {String(f.message)}</li>
          ))}
        </ul>
      ) : null}
      {typeof ctx.state === "string" && typeof ctx.guard === "string" ? (
        <p className="error-context">
          The case is {humanize(ctx.state).toLowerCase()}; the rule that stopped this: “{ctx.guard}”.
          {allowed.length ? ` Allowed now: ${allowed.map((a) => humanize(a).toLowerCase()).join(", ")}.` : ""}
        </p>
      ) : null}
    </div>
  );
}
