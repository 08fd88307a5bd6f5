import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { expect, test } from "vitest";
import { SchemaForm, initialValue, toData, type FormObject, type JSONSchema } from "./SchemaForm";

// As GET /api/journey serves record_collection's data_schema.
const RECORD_COLLECTION: JSONSchema = {
  $defs: { ApheresisUnitIn: { additionalProperties: false, properties: { volume_ml: { exclusiveMinimum: 0, maximum: 2000, title: "Volume Ml", type: "number" } }, required: ["volume_ml"], type: "object" } } as never,
  properties: {
    collection_end: { format: "date-time", title: "Collection End", type: "string" },
    units: { items: { $ref: "#/$defs/ApheresisUnitIn" }, maxItems: 10, minItems: 1, title: "Units", type: "array" },
    notes: { anyOf: [{ maxLength: 1000, type: "string" }, { type: "null" }], default: null, title: "Notes" },
  },
  required: ["collection_end", "units"],
  type: "object",
};

function Harness({ onData }: { onData: (d: unknown) => void }) {
  const [value, setValue] = useState(() => initialValue(RECORD_COLLECTION, RECORD_COLLECTION, true) as FormObject);
  return (
    <form onSubmit={(e) => { e.preventDefault(); onData(toData(RECORD_COLLECTION, RECORD_COLLECTION, value)); }}>
      <SchemaForm schema={RECORD_COLLECTION} value={value} onChange={setValue} />
      <button type="submit">Go</button>
    </form>
  );
}

test("a form is generated from the event's JSON schema, with labels, and gives typed data", async () => {
  let data: Record<string, unknown> = {};
  render(<Harness onData={(d) => (data = d as Record<string, unknown>)} />);
  expect(screen.getByLabelText("Collection end time")).toHaveAttribute("type", "datetime-local");
  await userEvent.type(screen.getByLabelText("Volume (mL)"), "210");
  await userEvent.click(screen.getByRole("button", { name: "Add apheresis unit" }));
  await userEvent.type(screen.getAllByLabelText("Volume (mL)")[1], "190.5");
  await userEvent.click(screen.getByRole("button", { name: "Go" }));
  expect(data.units).toEqual([{ volume_ml: 210 }, { volume_ml: 190.5 }]);
  expect(typeof data.collection_end).toBe("string");
  expect(String(data.collection_end)).toMatch(/Z$/);
  expect("notes" in data).toBe(false); // empty optional fields are left out
});

test("enums become selects; integers become numbers", () => {
  const schema: JSONSchema = {
    type: "object", required: ["step", "day"],
    properties: { step: { enum: ["activation", "transduction"], type: "string" }, day: { type: "integer", minimum: 1 } },
  };
  const value = initialValue(schema, schema, true) as FormObject;
  expect(value.step).toBe("activation");
  expect(toData(schema, schema, { ...value, day: "3" })).toEqual({ step: "activation", day: 3 });
});

test("a signed label payload is shown as the bag or wristband it names", async () => {
  const { shortScan } = await import("./SchemaForm");
  expect(shortScan("CT1.K1.U.A99992600000101.CHA999926000001.ABCDEFGHIJKLMNOP")).toBe("Bag A99992600000101 (label)");
  expect(shortScan("CT1.K1.W.W999926000000101.CHA999926000001.ABCDEFGHIJKLMNOP")).toBe("Wristband W999926000000101 (label)");
  expect(shortScan("A99992600000101X")).toBe("A99992600000101X");
});
