/**
 * src/core/analysis/record-caps.ts and its use in analyzeRecord: what an analysis adds to a record
 * is bounded (analysis JSON, parse error), and a KServe tensor shaped [N, 0] is refused at once.
 */
import { describe, expect, it } from "vitest";
import { analyzeRecord } from "../../src/core/analysis/analyze.js";
import { capParseError, encodeAnalysis, InstanceErrors } from "../../src/core/analysis/record-caps.js";
import type { Analysis } from "../../src/core/canonical.js";
import { compileRouteConfig } from "../../src/core/route-config.js";
import { PluginRegistry } from "../../src/plugins/registry.js";
import { capturedBody, newRecord } from "../support/records.js";
import { validConfig } from "../support/routes.js";

const registry = new PluginRegistry();

function analyse(meta: Record<string, unknown>, request: string, response: string) {
  const c = validConfig(compileRouteConfig(registry, { model: "iris", protocol: "kserve_v2", ...meta }));
  const record = newRecord({
    id: "r",
    model: "iris",
    request: capturedBody("application/json", request),
    response: capturedBody("application/json", response),
  });
  analyzeRecord(record, c.task, c.analysis, registry.detectionOrder(), []);
  return { record };
}

const batch = (n: number) => {
  const rows = Array.from({ length: n }, (_, i) => [(i % 7) + 0.5, 1.25, 3.5, 0.25]);
  return [
    JSON.stringify({ inputs: [{ name: "x", datatype: "FP32", shape: [n, 4], data: rows }] }),
    JSON.stringify({
      outputs: [{ name: "y", datatype: "INT64", shape: [n], data: rows.map((_, i) => i % 3) }],
    }),
  ] as const;
};

describe("record caps", () => {
  it("a KServe input shaped [N, 0] padded to 300 KB gives a short parse_error at once", () => {
    const n = 290_000;
    const request = `{"inputs":[{"name":"x","datatype":"FP32","shape":[${n},0],"data":[]}]}${" ".repeat(300_000)}`;
    for (const response of [
      `{"outputs":[{"name":"y","datatype":"FP32","shape":[${n},0],"data":[]}]}`,
      `{"outputs":[{"name":"y","datatype":"FP32","shape":[1],"data":[1]}]}`,
    ]) {
      const { record } = analyse({ task: "tabular_classification" }, request, response);
      expect(record.parseError).toBe(
        `kserve_v2: request: inputs[0]: shape [${n}, 0] holds no values but claims ${n} rows`,
      );
      expect(record.analysisJson.byteLength).toBe(0);
    }
  });

  it("takes an empty optional input of a small batch ([1, 0]) beside a real one", () => {
    const { record } = analyse(
      { task: "tabular_classification" },
      JSON.stringify({
        inputs: [
          { name: "x", datatype: "FP32", shape: [1, 4], data: [[5.1, 3.5, 1.4, 0.2]] },
          { name: "mask", datatype: "FP32", shape: [1, 0], data: [] },
        ],
      }),
      JSON.stringify({ outputs: [{ name: "y", datatype: "INT64", shape: [1], data: [0] }] }),
    );
    expect(record.parseError).not.toMatch(/holds no values/);
    expect(record.analysisJson.byteLength).toBeGreaterThan(0);
  });

  it("never spells out a shape of many dims", () => {
    const shape = [2, ...Array.from({ length: 50_000 }, () => 1)];
    const { record } = analyse(
      { task: "tabular_classification" },
      JSON.stringify({ inputs: [{ name: "x", datatype: "FP32", shape, data: [1] }] }),
      '{"outputs":[{"name":"y","datatype":"FP32","shape":[1],"data":[1]}]}',
    );
    expect(record.parseError).toBe(
      "kserve_v2: request: inputs[0]: shape [2, 1, 1, 1, 1, 1, … 50001 dims] holds 2 values, data has 1",
    );
  });

  it("lists 20 instance errors, then counts the rest, within max_parse_error_chars", () => {
    // Regression outputs that are objects: every instance fails on its own.
    const n = 5000;
    const request = JSON.stringify({
      inputs: [{ name: "x", datatype: "FP32", shape: [n, 1], data: Array(n).fill(1) }],
    });
    const response = JSON.stringify({
      outputs: [{ name: "y", datatype: "BYTES", shape: [n], data: Array(n).fill("z") }],
    });
    const { record } = analyse({ task: "tabular_regression" }, request, response);
    expect(record.parseError).toMatch(/^instance 0: /);
    expect(record.parseError.length).toBeLessThanOrEqual(1024);
    expect(record.parseError).toMatch(/more characters cut at max_parse_error_chars\]$/);
    const wide = analyse({ task: "tabular_regression", max_parse_error_chars: 65536 }, request, response);
    expect(wide.record.parseError.match(/instance \d+: /g)).toHaveLength(20);
    expect(wide.record.parseError).toMatch(/; … and 4980 more errors like these$/);
  });

  it("keeps a 10k-row batch whole under the default max_analysis_bytes", () => {
    const [request, response] = batch(10_000);
    const { record } = analyse({ task: "tabular_classification" }, request, response);
    const analysis = JSON.parse(Buffer.from(record.analysisJson).toString()) as Analysis;
    expect(record.parseError).toBe("");
    expect(analysis.instances).toHaveLength(10_000);
    expect(analysis.over_budget).toBeUndefined();
    // Over NATS's default 1 MiB max payload: the publisher parks it (record-publisher.ts).
    expect(record.analysisJson.byteLength).toBeGreaterThan(1024 * 1024);
  });

  it("cuts the analysis to its first instances within max_analysis_bytes, and flags it", () => {
    const [request, response] = batch(10_000);
    const { record } = analyse(
      { task: "tabular_classification", max_analysis_bytes: 65536 },
      request,
      response,
    );
    expect(record.analysisJson.byteLength).toBeLessThanOrEqual(65536);
    const analysis = JSON.parse(Buffer.from(record.analysisJson).toString()) as Analysis;
    expect(analysis.over_budget).toEqual(["analysis_bytes"]);
    expect(analysis.instances.length).toBeGreaterThan(100);
    expect(analysis.instances.length).toBeLessThan(10_000);
    expect(analysis.instances[0]!.input.features).toBeDefined();
  });
});

describe("encodeAnalysis", () => {
  const analysis = (n: number, over?: string[]): Analysis => ({
    schema_version: 1,
    task: "tabular_regression",
    protocol: 'odd "instances":[] protocol',
    instances: Array.from({ length: n }, (_, i) => ({
      input: {},
      prediction: { kind: "regression", value: i },
    })),
    ...(over ? { over_budget: over } : {}),
  });

  it("is JSON.stringify when the analysis fits", () => {
    const a = analysis(3);
    const { json, cut } = encodeAnalysis(a, 1 << 20);
    expect(cut).toBe(false);
    expect(Buffer.from(json).toString()).toBe(JSON.stringify(a));
  });

  it("keeps the flags already there, and a budget smaller than the envelope keeps no instance", () => {
    const { json, cut } = encodeAnalysis(analysis(3, ["instances"]), 10);
    expect(cut).toBe(true);
    expect(JSON.parse(Buffer.from(json).toString())).toMatchObject({
      instances: [],
      over_budget: ["analysis_bytes", "instances"],
      protocol: 'odd "instances":[] protocol',
    });
  });
});

describe("capParseError and InstanceErrors", () => {
  it("leaves a short error alone and cuts a long one to the cap, marker included", () => {
    expect(capParseError("short", 100)).toBe("short");
    const cut = capParseError("x".repeat(5000), 200);
    expect(cut).toHaveLength(200);
    expect(cut).toMatch(/ … \[\d+ more characters cut at max_parse_error_chars\]$/);
    expect(capParseError("x".repeat(50), 10)).toBe("x".repeat(10));
  });

  it("never splits a surrogate pair", () => {
    const cut = capParseError(`${"a".repeat(100)}${"😀".repeat(100)}`, 150);
    expect(cut.length).toBeLessThanOrEqual(150);
    expect(Buffer.from(cut).toString()).toBe(cut);
    expect(cut).not.toMatch(/\uFFFD/);
  });

  it("keeps 20 errors and counts the rest", () => {
    const e = new InstanceErrors();
    for (let i = 0; i < 25; i++) e.push(`e${i}`);
    expect(e.text().split("; ")).toHaveLength(21);
    expect(e.text()).toMatch(/^e0; .*e19; … and 5 more errors like these$/);
  });
});
