// A form generated from an event's JSON data schema (GET /api/journey → data_schema).
import { useId, useState, type ReactNode } from "react";
import type { ApiError } from "../api/client";
import { Field } from "../components/Field";
import { localInputToIso, toLocalInput } from "../lib/time";

export interface JSONSchema {
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  anyOf?: JSONSchema[];
  $ref?: string;
  $defs?: Record<string, JSONSchema>;
  properties?: Record<string, JSONSchema>;
  required?: string[];
  items?: JSONSchema;
  title?: string;
  description?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
}

export type FormValue = string | boolean | FormValue[] | { [key: string]: FormValue };
export type FormObject = { [key: string]: FormValue };

/** Words for the data fields of the journey's events. */
export const LABELS: Record<string, string> = {
  collection_date: "Collection date (collection site's calendar)",
  manufacturing_slot: "Manufacturing slot",
  planned_infusion_date: "Planned infusion date",
  collection_end: "Collection end time",
  units: "Apheresis units",
  volume_ml: "Volume (mL)",
  anticoagulant: "Anticoagulant (if recorded)",
  cell_dose: "Cell dose (CAR+ viable T cells, if recorded)",
  scans: "Scanned bags",
  scan: "Bag scan",
  shipper_type: "Shipper type",
  courier: "Courier",
  tracking_number: "Tracking number",
  shipper_temperature_c: "Shipper temperature (°C)",
  storage_location: "Storage location",
  deviation_note: "Deviation note (if the temperature is out of range)",
  step: "Process step",
  notes: "Notes",
  bags: "Final product bags",
  cryopreserved_at: "Cryopreserved at",
  test: "QC test",
  value: "Result value",
  passed: "Result meets the specification",
  reason: "Reason",
  decision: "Decision",
  physician_acknowledgement: "Treating physician acknowledging (name)",
  start_date: "Start date",
  regimen: "Regimen (default: the protocol's)",
  end_date: "End date",
  override_reason: "Override reason (only to thaw outside the infusion window)",
  second_signer: "Second person (two-person check)",
  username: "Username",
  password: "Password",
  day: "Day after infusion",
  crs_grade: "CRS grade (0–4)",
  icans_grade: "ICANS grade (0–4)",
};

const ENUM_WORDS: Record<string, string> = {
  recollect: "Recollect (schedule a new collection)",
  exceptional_release: "Exceptional release (physician acknowledges)",
  cancel: "Cancel the case",
};

export function resolve(schema: JSONSchema, root: JSONSchema): JSONSchema {
  if (schema.$ref) {
    const name = schema.$ref.split("/").pop() ?? "";
    return resolve(root.$defs?.[name] ?? {}, root);
  }
  return schema;
}

/** The non-null branch of an Optional (anyOf [X, null]); nullable tells it was optional. */
export function nonNull(schema: JSONSchema, root: JSONSchema): { schema: JSONSchema; nullable: boolean } {
  const s = resolve(schema, root);
  if (s.anyOf) {
    const rest = s.anyOf.filter((b) => b.type !== "null");
    const nullable = rest.length < s.anyOf.length;
    return { schema: { ...resolve(rest[0] ?? {}, root), title: s.title, description: s.description, default: s.default }, nullable };
  }
  return { schema: s, nullable: false };
}

export interface Defaults {
  /** YYYY-MM-DD for required date fields. */
  today?: string;
}

export function initialValue(schema: JSONSchema, root: JSONSchema, required: boolean, defaults: Defaults = {}): FormValue {
  const { schema: s } = nonNull(schema, root);
  if (s.type === "object" || s.properties) {
    const out: FormObject = {};
    for (const [key, prop] of Object.entries(s.properties ?? {})) {
      out[key] = initialValue(prop, root, (s.required ?? []).includes(key), defaults);
    }
    return out;
  }
  if (s.type === "array") {
    const item = nonNull(s.items ?? {}, root).schema;
    if (item.type === "object" || item.properties) return [initialValue(item, root, true, defaults)];
    return [];
  }
  if (s.type === "boolean") return typeof s.default === "boolean" ? s.default : false;
  if (s.enum) return required ? String(s.default ?? s.enum[0]) : "";
  if (s.format === "date") return required && defaults.today ? defaults.today : "";
  if (s.format === "date-time") return required ? toLocalInput() : "";
  return "";
}

/** Form values → the JSON the API expects (numbers as numbers, empty optionals left out). */
export function toData(schema: JSONSchema, root: JSONSchema, value: FormValue, required = true): unknown {
  const { schema: s } = nonNull(schema, root);
  if (s.type === "object" || s.properties) {
    const obj = (value ?? {}) as FormObject;
    const out: Record<string, unknown> = {};
    for (const [key, prop] of Object.entries(s.properties ?? {})) {
      const v = toData(prop, root, obj[key], (s.required ?? []).includes(key));
      if (v !== undefined) out[key] = v;
    }
    return out;
  }
  if (s.type === "array") {
    const list = Array.isArray(value) ? value : [];
    const item = s.items ?? {};
    return list.map((v) => toData(item, root, v, true)).filter((v) => v !== undefined && v !== "");
  }
  if (s.type === "boolean") return Boolean(value);
  const text = typeof value === "string" ? value.trim() : "";
  if (text === "") return required ? (s.type === "string" ? "" : null) : undefined;
  if (s.type === "number" || s.type === "integer") return Number(text);
  if (s.format === "date-time") return localInputToIso(text);
  return text;
}

export interface FieldOverride {
  label?: string;
  hint?: ReactNode;
  hidden?: boolean;
  /** Replace the control (e.g. a QC test picker). */
  render?: (value: FormValue, set: (v: FormValue) => void, id: string) => ReactNode;
}

interface Props {
  schema: JSONSchema;
  value: FormObject;
  onChange: (value: FormObject) => void;
  error?: ApiError;
  overrides?: Record<string, FieldOverride>;
}

/** Renders every property of an object schema. */
export function SchemaForm({ schema, value, onChange, error, overrides = {} }: Props) {
  const root = schema;
  const s = resolve(schema, root);
  return (
    <div className="schema-form">
      {Object.entries(s.properties ?? {}).map(([key, prop]) => (
        <SchemaField key={key} name={key} path={["data", key]} schema={prop} root={root}
          required={(s.required ?? []).includes(key)} value={value[key]} error={error} overrides={overrides}
          onChange={(v) => onChange({ ...value, [key]: v })} />
      ))}
    </div>
  );
}

function SchemaField({ name, path, schema, root, required, value, onChange, error, overrides }: {
  name: string;
  path: (string | number)[];
  schema: JSONSchema;
  root: JSONSchema;
  required: boolean;
  value: FormValue;
  onChange: (v: FormValue) => void;
  error?: ApiError;
  overrides: Record<string, FieldOverride>;
}) {
  const id = useId();
  const override = overrides[name] ?? {};
  const { schema: s } = nonNull(schema, root);
  if (override.hidden) return null;
  const label = override.label ?? LABELS[name] ?? s.title ?? name;
  const message = error?.fieldMessage(path.join("."));
  const hint = override.hint ?? s.description;
  if (override.render) {
    return (
      <Field label={label} hint={hint} error={message}>
        <div id={`c${id}`} className="custom-control">{override.render(value, onChange, `c${id}`)}</div>
      </Field>
    );
  }
  if (s.type === "object" || s.properties) {
    const obj = (value ?? {}) as FormObject;
    return (
      <fieldset>
        <legend>{label}</legend>
        {Object.entries(s.properties ?? {}).map(([key, prop]) => (
          <SchemaField key={key} name={key} path={[...path, key]} schema={prop} root={root}
            required={(s.required ?? []).includes(key)} value={obj[key]} error={error} overrides={overrides}
            onChange={(v) => onChange({ ...obj, [key]: v })} />
        ))}
      </fieldset>
    );
  }
  if (s.type === "array") {
    const item = nonNull(s.items ?? {}, root).schema;
    const list = Array.isArray(value) ? value : [];
    if (item.type === "object" || item.properties) {
      const max = s.maxItems ?? 50;
      const min = s.minItems ?? 0;
      return (
        <fieldset>
          <legend>{label}</legend>
          {list.map((entry, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: items of a controlled form; an item is its position
            <div className="array-item" key={i}>
              <SchemaField name={`${name}#item`} path={[...path, i]} schema={{ ...item, title: `${label} ${i + 1}` }} root={root}
                required value={entry} error={error} overrides={overrides}
                onChange={(v) => onChange(list.map((x, j) => (j === i ? v : x)))} />
              {list.length > min ? (
                <button type="button" className="small" onClick={() => onChange(list.filter((_, j) => j !== i))}>
                  Remove {label.toLowerCase()} {i + 1}
                </button>
              ) : null}
            </div>
          ))}
          {list.length < max ? (
            <button type="button" className="small" onClick={() => onChange([...list, initialValue(item, root, true)])}>
              Add {label.toLowerCase().replace(/s$/, "")}
            </button>
          ) : null}
          {message ? <small className="field-error">{message}</small> : null}
        </fieldset>
      );
    }
    return (
      <Field label={label} hint={hint} error={message}>
        <StringList value={list as string[]} onChange={onChange} itemLabel={label} />
      </Field>
    );
  }
  if (s.type === "boolean") {
    return (
      <div className="field checkbox">
        <input id={`b${id}`} type="checkbox" checked={Boolean(value)} onChange={(e) => onChange(e.target.checked)}
          aria-describedby={message ? `b${id}-err` : undefined} />
        <label htmlFor={`b${id}`}>{label}</label>
        {message ? <small id={`b${id}-err`} className="field-error">{message}</small> : null}
      </div>
    );
  }
  const text = typeof value === "string" ? value : "";
  const common = { value: text, required, name, onChange: (e: { target: { value: string } }) => onChange(e.target.value) };
  if (s.enum) {
    return (
      <Field label={label} hint={hint} error={message}>
        <select {...common}>
          {required ? null : <option value="">—</option>}
          {s.enum.map((opt) => (
            <option key={String(opt)} value={String(opt)}>{ENUM_WORDS[String(opt)] ?? String(opt)}</option>
          ))}
        </select>
      </Field>
    );
  }
  if (s.type === "number" || s.type === "integer") {
    return (
      <Field label={label} hint={hint} error={message}>
        <input {...common} type="number" inputMode="decimal" step={s.type === "integer" ? 1 : "any"}
          min={s.minimum ?? s.exclusiveMinimum} max={s.maximum ?? s.exclusiveMaximum} />
      </Field>
    );
  }
  if (s.format === "date" || s.format === "date-time") {
    return (
      <Field label={label} hint={hint} error={message}>
        <input {...common} type={s.format === "date" ? "date" : "datetime-local"} />
      </Field>
    );
  }
  if ((s.maxLength ?? 0) >= 1000) {
    return (
      <Field label={label} hint={hint} error={message}>
        <textarea {...common} rows={3} maxLength={s.maxLength} minLength={required ? s.minLength : undefined} />
      </Field>
    );
  }
  return (
    <Field label={label} hint={hint} error={message}>
      <input {...common} type={name === "password" ? "password" : "text"} autoComplete={name === "password" ? "off" : undefined}
        maxLength={s.maxLength} />
    </Field>
  );
}

/** A list of strings (scans of a shipment), with add and remove. */
export function StringList({ value, onChange, itemLabel, id, "aria-describedby": describedBy }: {
  value: string[];
  onChange: (v: string[]) => void;
  itemLabel: string;
  id?: string;
  "aria-describedby"?: string;
}) {
  const [draft, setDraft] = useState("");
  const add = () => {
    const text = draft.trim();
    if (text) onChange([...value, text]);
    setDraft("");
  };
  return (
    <div className="string-list">
      <ol aria-label={itemLabel}>
        {value.map((v, i) => (
          <li key={v}>
            <code>{shortScan(v)}</code>{" "}
            <button type="button" className="small" onClick={() => onChange(value.filter((_, j) => j !== i))}
              aria-label={`Remove ${shortScan(v)} from ${itemLabel.toLowerCase()}`}>Remove</button>
          </li>
        ))}
        {value.length === 0 ? <li className="muted">None yet — scan each bag.</li> : null}
      </ol>
      <div className="inline">
        <input id={id} aria-describedby={describedBy} value={draft} onChange={(e) => setDraft(e.target.value)}
          placeholder="Type or scan, then Enter"
          onKeyDown={(e) => {
            if (e.key === "Enter") {
              e.preventDefault();
              add();
            }
          }} />
        <button type="button" onClick={add}>Add</button>
      </div>
    </div>
  );
}

/** A scan in words: a signed label payload names its bag or wristband; typed IDs stay as typed. */
export function shortScan(payload: string): string {
  const m = /^CT\d+\.[A-Z0-9]+\.([UW])\.([A-Z0-9]+)\.[A-Z0-9]+\.[A-Z2-7]+$/.exec(payload.trim());
  if (m) return `${m[1] === "U" ? "Bag" : "Wristband"} ${m[2]} (label)`;
  return payload.length > 28 ? `${payload.slice(0, 24)}…` : payload;
}
