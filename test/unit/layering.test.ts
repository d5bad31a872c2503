/**
 * The layering rules of eslint.config.js, proved: each import below, put in the file named, must
 * fail the gate (`npx eslint .`), and the allowed ones must not.
 */
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
  ])("%s: %s fails", async (file, code, why) => {
    const messages = await restricted(file, code);
    expect(messages, `${code} in ${file} passed the gate`).toHaveLength(1);
    expect(messages[0]).toMatch(why);
  });

  it.each([
    ["src/core/capture/decode.ts", 'import x from "node:zlib";'],
    ["src/core/capture/exchange.ts", 'import { isSampled as x } from "../sampler.js";'],
    ["src/core/analysis/analyze.ts", 'import { scalePrediction as x } from "./geometry.js";'],
    ["src/core/storage/record-codec.ts", 'import { BinaryWriter as x } from "google-protobuf";'],
    ["src/plugins/user-plugins.ts", 'import x from "node:path";'],
    ["src/adapters/postgres/pool.ts", 'import x from "pg";'],
    ["src/adapters/nats/consumer.ts", 'import type { InboundMessage as x } from "../../core/ports.js";'],
    ["tools/stack/stack.ts", 'import { migrate as x } from "../../src/adapters/postgres/migrate.js";'],
  ])("%s: %s passes", async (file, code) => {
    expect(await restricted(file, code)).toEqual([]);
  });
});
