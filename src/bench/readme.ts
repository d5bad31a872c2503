/** Benchmarks keep the README's tables current: each lives between <!-- bench:NAME --> markers. */
import fs from "node:fs";
import path from "node:path";
import { PACKAGE_ROOT } from "../config.js";

export function updateReadmeTable(name: string, table: string): void {
  const file = path.join(PACKAGE_ROOT, "README.md");
  const text = fs.readFileSync(file, "utf8");
  const markers = new RegExp(`(<!-- bench:${name} -->\\n)[\\s\\S]*?(<!-- /bench:${name} -->)`);
  const next = text.replace(markers, (_, open: string, close: string) => `${open}${table}\n${close}`);
  if (next !== text) fs.writeFileSync(file, next);
}
