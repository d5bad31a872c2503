/** Benchmarks keep docs/benchmarks.md current: each table lives between <!-- bench:NAME --> markers. */
import fs from "node:fs";
import path from "node:path";
import { PACKAGE_ROOT } from "../../src/config.js";

export const BENCHMARKS_DOC = path.join(PACKAGE_ROOT, "docs", "benchmarks.md");

export function updateDocsTable(name: string, table: string): void {
  const text = fs.readFileSync(BENCHMARKS_DOC, "utf8");
  const markers = new RegExp(`(<!-- bench:${name} -->\\n)[\\s\\S]*?(<!-- /bench:${name} -->)`);
  const next = text.replace(markers, (_, open: string, close: string) => `${open}${table}\n${close}`);
  if (next !== text) fs.writeFileSync(BENCHMARKS_DOC, next);
}
