/**
 * The layering rules of eslint.config.js, proved: each import below, put in the file named, must
 * fail the gate (`npx eslint .`), and the allowed ones must not.
 */
import fs from "node:fs";
import path from "node:path";
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/config.js";

const eslint = new ESLint({ cwd: PACKAGE_ROOT });

async function restricted(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${code}\nexport const used = x;\n`, { filePath: file });
  return result!.messages.filter((m) => m.ruleId === "no-restricted-imports").map((m) => m.message);
}

describe("the layering rule", () => {
  it.each([
    ["src/core/capture/exchange.ts", 'import x from "pg";', /no driver/],
    ["src/core/record.ts", 'import x from "pg";', /no driver/],
    ["src/core/storage/persist-plan.ts", 'import * as x from "@aws-sdk/client-s3";', /no driver/],
    ["src/core/analysis/analyze.ts", 'import * as x from "@grpc/grpc-js";', /no driver/],
    ["src/core/ground-truth/label.ts", 'import { connect as x } from "nats";', /no driver/],
    ["src/core/capture/decode.ts", 'import x from "node:fs";', /no I\/O/],
    ["src/core/monitoring/drift.ts", 'import x from "node:fs";', /no I\/O/],
    ["src/core/monitoring/bins.ts", 'import { Pool as x } from "pg";', /no driver/],
    ["src/core/sampler.ts", 'import x from "net";', /no I\/O/],
    ["src/core/ports.ts", 'import x from "node:child_process";', /no I\/O/],
    [
      "src/core/capture/exchange.ts",
      'import { S3BlobStore as x } from "../../adapters/s3/blob-store.js";',
      /adapter/,
    ],
    ["src/core/errors.ts", 'import { PRODUCT as x } from "../cli/product.js";', /adapter, application/],
    ["src/core/analysis/geometry.ts", 'import { loadConfig as x } from "../../config.js";', /config/],
    [
      "src/core/plugins.ts",
      'import { PluginRegistry as x } from "../plugins/registry.js";',
      /plugin interfaces/,
    ],
    [
      "src/core/canonical.ts",
      'import { analyzeRecord as x } from "./analysis/analyze.js";',
      /imports no room/,
    ],
    [
      "src/core/analysis/analyze.ts",
      'import { Exchange as x } from "../capture/exchange.js";',
      /only the core root/,
    ],
    [
      "src/core/storage/persist-plan.ts",
      'import { parseLabel as x } from "../ground-truth/label.js";',
      /only the core root/,
    ],
    [
      "src/core/monitoring/drift.ts",
      'import { analyzeRecord as x } from "../analysis/analyze.js";',
      /only the core root/,
    ],
    [
      "src/core/analysis/analyze.ts",
      'import { psi as x } from "../monitoring/drift.js";',
      /only the core root/,
    ],
    ["src/core/record.ts", 'import { psi as x } from "./monitoring/drift.js";', /imports no room/],
    ["src/plugins/converters/voc.ts", 'import x from "node:fs";', /no I\/O/],
    [
      "src/adapters/nats/consumer.ts",
      'import { processBatch as x } from "../../worker/batch.js";',
      /application folder/,
    ],
    [
      "src/adapters/registry.ts",
      'import { startApiServer as x } from "../api/server.js";',
      /application folder/,
    ],
    ["src/worker/batch.ts", 'import { stackUp as x } from "../../tools/stack/stack.js";', /no tool or test/],
    [
      "src/cli/commands/captures.ts",
      'import { newRecord as x } from "../../../test/support/records.js";',
      /no tool or test/,
    ],
    [
      "test/e2e/capture.test.ts",
      'import { send as x } from "../../tools/demo/traffic.js";',
      /test\/support\/http\.ts/,
    ],
  ])("%s: %s fails", async (file, code, why) => {
    const messages = await restricted(file, code);
    expect(messages, `${code} in ${file} passed the gate`).toHaveLength(1);
    expect(messages[0]).toMatch(why);
  });

  it.each([
    ["src/core/capture/decode.ts", 'import x from "node:zlib";'],
    ["src/core/capture/exchange.ts", 'import { isSampled as x } from "../sampler.js";'],
    ["src/core/analysis/analyze.ts", 'import { scalePrediction as x } from "./geometry.js";'],
    ["src/core/monitoring/drift.ts", 'import { quantileEdges as x } from "./bins.js";'],
    ["src/core/monitoring/drift.ts", 'import x from "@stdlib/math-base-special-gammainc";'],
    ["src/core/storage/record-codec.ts", 'import { BinaryWriter as x } from "google-protobuf";'],
    ["src/plugins/user-plugins.ts", 'import x from "node:path";'],
    ["src/adapters/postgres/pool.ts", 'import x from "pg";'],
    ["src/adapters/nats/consumer.ts", 'import type { InboundMessage as x } from "../../core/ports.js";'],
    ["tools/stack/stack.ts", 'import { migrate as x } from "../../src/adapters/postgres/migrate.js";'],
    ["test/e2e/capture.test.ts", 'import { irisBody as x } from "../../tools/demo/payloads.js";'],
  ])("%s: %s passes", async (file, code) => {
    expect(await restricted(file, code)).toEqual([]);
  });
});

/** Every src/core file a module reaches through its relative imports, transitively. */
function coreClosure(entries: readonly string[]): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = fs.readFileSync(file, "utf8");
    for (const m of text.matchAll(/^(?:import|export)\s[^;]*?from\s+"(\.{1,2}\/[^"]+)"/gm)) {
      visit(path.resolve(path.dirname(file), m[1]!.replace(/\.js$/, ".ts")));
    }
  };
  for (const e of entries) visit(path.join(PACKAGE_ROOT, e));
  const core = path.join(PACKAGE_ROOT, "src", "core") + path.sep;
  return [...seen]
    .filter((f) => f.startsWith(core))
    .map((f) => path.relative(core, f))
    .sort();
}

describe("the collector's path through the core", () => {
  it("touches only the shared root, capture, analysis and the record codec", () => {
    const files = coreClosure(["src/cli/commands/collector.ts"]);
    expect(files).toContain("capture/exchange.ts");
    expect(files).toContain("analysis/analyze.ts");
    const outside = files.filter(
      (f) => f.includes(path.sep) && !/^(capture|analysis)\//.test(f) && f !== "storage/record-codec.ts",
    );
    expect(outside).toEqual([]);
  });

  it("is not the worker's: the worker never reaches the exchange, analysis or ground truth", () => {
    const files = coreClosure(["src/cli/commands/worker.ts"]);
    expect(files).toContain("storage/persist-plan.ts");
    // (config.ts names the built-in secret headers, capture/redact-headers.ts: a list, no code path)
    expect(files.filter((f) => /^(analysis|ground-truth)\//.test(f) || f === "capture/exchange.ts")).toEqual(
      [],
    );
  });
});
