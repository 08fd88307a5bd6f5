import { expect, test } from "vitest";
import { nextPackStep, packedFields } from "./Packing";

test("packing asks for the shipper, the logger, then the seal, and only then fills the ship form", () => {
  expect(nextPackStep({ started: false })).toBeNull();
  expect(nextPackStep({ started: true })).toBe("shipper");
  expect(nextPackStep({ started: true, shipper: "DS-1" })).toBe("logger");
  expect(nextPackStep({ started: true, shipper: "DS-1", logger: "LG-1" })).toBe("seal");
  const done = { started: true, shipper: "DS-1", logger: "LG-1", seal: "S-9" };
  expect(nextPackStep(done)).toBeNull();
  expect(packedFields({ started: true, shipper: "DS-1" })).toEqual({});
  expect(packedFields(done, { id: 1, serial: "DS-1", model: "CXV2", profile_code: "ln2_vapour", qualified_until: "2027-01-01", nominal_hold_hours: 240, status: "available" }))
    .toEqual({ shipper_serial: "DS-1", logger_serial: "LG-1", seal_id: "S-9", shipper_type: "CXV2 (DS-1)" });
});
