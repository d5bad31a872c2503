/**
 * A guard for "all SQL is parameterized": no query text literal in the Postgres adapters
 * interpolates a runtime value; template literals may only interpolate the fixed column lists.
 * Values go in bind parameters ($1, $2, ...), which test/e2e/security.test.ts drives with hostile ones.
 */
import fs from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";

const DIR = path.join(__dirname, "..", "..", "src", "adapters", "postgres");
/** Interpolations allowed inside SQL text: compile-time constants, never values. */
const CONSTANTS = new Set(['COLUMNS.join(",")', "SELECT"]);

it("interpolates nothing but the constant column lists into SQL", () => {
  const offenders: string[] = [];
  let templates = 0;
  for (const file of fs.readdirSync(DIR).filter((f) => f.endsWith(".ts"))) {
    const text = fs.readFileSync(path.join(DIR, file), "utf8");
    for (const m of text.matchAll(/\.query(?:<[^>]*>)?\(\s*`([^`]*)`/g)) {
      templates++;
      for (const i of m[1]!.matchAll(/\$\{([^}]*)\}/g)) {
        if (!CONSTANTS.has(i[1]!.trim())) offenders.push(`${file}: \${${i[1]}}`);
      }
    }
  }
  expect(offenders).toEqual([]);
  expect(templates, "the scan found the adapters' template queries").toBeGreaterThanOrEqual(3);
});

it("would catch a value interpolated into a query", () => {
  const sample = "await pool.query(`SELECT * FROM captures WHERE id = '${id}'`)";
  const found = [...sample.matchAll(/\.query(?:<[^>]*>)?\(\s*`([^`]*)`/g)].flatMap((m) =>
    [...m[1]!.matchAll(/\$\{([^}]*)\}/g)].map((i) => i[1]),
  );
  expect(found).toEqual(["id"]);
});
