/**
 * Helpers the benchmarks share: sizes from the environment, percentiles, writing results, and
 * analysing a record as the collector does.
 */
import fs from "node:fs";
import path from "node:path";
import { PACKAGE_ROOT } from "../../src/config.js";
import { analyzeRecordWithImages } from "../../src/core/analysis/input-images.js";
import type { CaptureRecord } from "../../src/core/record.js";
import type { RouteConfig } from "../../src/core/route-config.js";
import type { PluginRegistry } from "../../src/plugins/registry.js";
import { updateDocsTable } from "./docs-table.js";

/** An integer setting from the environment, from 1 to max, or the default. */
export function envInt(name: string, fallback: number, max: number): number {
  const v = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(v) || v < 1 || v > max) throw new Error(`${name}: an integer from 1 to ${max}`);
  return v;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The p-th percentile of an ascending array (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * tools/bench/results/<name>-<timestamp>.json, tools/bench/results/<name>-latest.md, and the table
 * in docs/benchmarks.md between the <!-- bench:<name> --> markers (the markdown after its title line).
 */
export function writeResults(name: string, data: unknown, lines: readonly string[]): void {
  const dir = path.join(PACKAGE_ROOT, "tools", "bench", "results");
  fs.mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  fs.writeFileSync(path.join(dir, `${name}-${stamp}.json`), JSON.stringify(data, null, 2));
  fs.writeFileSync(path.join(dir, `${name}-latest.md`), `${lines.join("\n")}\n`);
  updateDocsTable(name, lines.slice(2).join("\n"));
}

/** As the collector does: the analysis, and the decoded input images the worker stores as objects. */
export function analyzeAsCollector(
  plugins: PluginRegistry,
  config: RouteConfig,
  record: CaptureRecord,
): void {
  analyzeRecordWithImages(
    record,
    config.task,
    config.analysis,
    plugins.detectionOrder(),
    [],
    config.maxDecodedBytes,
  );
}
