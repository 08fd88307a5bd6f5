// @vitest-environment node
// The generated client types must match openapi.json: regenerate in memory and compare.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import openapiTS, { COMMENT_HEADER, astToString } from "openapi-typescript";
import { expect, test } from "vitest";

const here = dirname(fileURLToPath(import.meta.url));

test("src/api/schema.d.ts is generated from the current openapi.json (run `npm run gen`)", async () => {
  const spec = JSON.parse(readFileSync(join(here, "..", "..", "openapi.json"), "utf8"));
  const fresh = COMMENT_HEADER + astToString(await openapiTS(spec));
  const committed = readFileSync(join(here, "schema.d.ts"), "utf8");
  expect(committed === fresh, "schema.d.ts is stale: run `npm run gen` in frontend/").toBe(true);
}, 30_000);
