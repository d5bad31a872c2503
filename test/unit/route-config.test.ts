/** src/core/route-config.ts: compileRouteConfig: defaults, coercion, overrides, bounds, all problems at once. */
import { DEFAULT_GEOMETRY_BUDGET } from "../../src/core/budget.js";
import { describe, expect, it } from "vitest";
import {
  ANALYSIS_CAP_DEFAULTS,
  ROUTE_DEFAULTS,
  ROUTE_LIMITS,
  compileRouteConfig,
  type RouteConfig,
} from "../../src/core/route-config.js";
import { PluginRegistry } from "../../src/plugins/registry.js";
import { validConfig } from "../support/routes.js";

const catalog = new PluginRegistry();

const ok = (route: Record<string, unknown> | undefined, overrides?: Record<string, unknown>): RouteConfig =>
  validConfig(compileRouteConfig(catalog, route, overrides));

function problems(route: Record<string, unknown>, overrides?: Record<string, unknown>): string[] {
  const result = compileRouteConfig(catalog, route, overrides);
  if (!result || result.ok) throw new Error(`expected problems, got ${JSON.stringify(result)}`);
  return result.problems;
}

describe("compileRouteConfig", () => {
  it("returns undefined when neither the route nor overrides carry metadata", () => {
    expect(compileRouteConfig(catalog, undefined)).toBeUndefined();
    expect(compileRouteConfig(catalog, undefined, undefined)).toBeUndefined();
  });

  it("applies the defaults to a route naming only its model", () => {
    const c = ok({ model: "iris" });
    expect(c).toEqual({
      model: "iris",
      version: "0",
      task: "unknown",
      sampleRate: 1,
      maxBodyBytes: 1024 * 1024,
      maxDecodedBytes: 8 * 1024 * 1024,
      labelRate: 0,
      redactFields: [],
      analysis: {
        parser: "auto",
        converter: undefined,
        scaler: undefined,
        inputSize: undefined,
        labels: new Map(),
        features: undefined,
        topK: 5,
        scoreThreshold: 0,
        maskThreshold: 0.5,
        outputNames: {},
        maxAnalysisBytes: ANALYSIS_CAP_DEFAULTS.maxAnalysisBytes,
        maxParseErrorChars: ANALYSIS_CAP_DEFAULTS.maxParseErrorChars,
        budget: DEFAULT_GEOMETRY_BUDGET,
      },
    });
    expect(c.version).toBe(ROUTE_DEFAULTS.version);
    expect(c.maxBodyBytes).toBe(ROUTE_DEFAULTS.maxBodyBytes);
    expect(c.maxDecodedBytes).toBe(ROUTE_DEFAULTS.maxDecodedBytes);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it("coerces numbers given as strings (Envoy's YAML loader makes them strings)", () => {
    const c = ok({ model: "iris", sample_rate: "0.25", max_body_bytes: "2048", max_decoded_bytes: " 4096 " });
    expect(c.sampleRate).toBe(0.25);
    expect(c.maxBodyBytes).toBe(2048);
    expect(c.maxDecodedBytes).toBe(4096);
    expect(typeof c.sampleRate).toBe("number");
  });

  it("turns a numeric version into a string", () => {
    expect(ok({ model: "iris", version: 3 }).version).toBe("3");
    expect(ok({ model: "iris", version: 1.5 }).version).toBe("1.5");
    expect(ok({ model: "iris", version: "2024-01" }).version).toBe("2024-01");
  });

  it("lets overrides win key by key", () => {
    const route = { model: "iris", version: "1", task: "tabular_classification", sample_rate: 0.5 };
    const c = ok(route, { sample_rate: "0", version: 2 });
    expect(c).toMatchObject({ model: "iris", version: "2", task: "tabular_classification", sampleRate: 0 });
    // Overrides alone are enough to capture.
    expect(ok(undefined, { model: "override-only" }).model).toBe("override-only");
    // The route object is not modified by the merge.
    expect(route.sample_rate).toBe(0.5);
  });

  it("reports every problem at once, each naming its key", () => {
    const p = problems({ sample_rate: 1.5, colour: "blue", task: "astrology", max_body_bytes: 0 });
    expect(p).toHaveLength(5);
    expect(p.find((x) => x.startsWith("modeltap.model:"))).toMatch(/required/);
    expect(p.find((x) => x.startsWith("modeltap.sample_rate:"))).toContain("1.5");
    expect(p.find((x) => x.startsWith("modeltap.colour:"))).toMatch(/unknown key/);
    expect(p.find((x) => x.startsWith("modeltap.task:"))).toContain('"astrology"');
    expect(p.find((x) => x.startsWith("modeltap.task:"))).toContain("known: tabular_classification");
    expect(p.find((x) => x.startsWith("modeltap.max_body_bytes:"))).toContain("got 0");
  });

  it.each([
    [{ model: "" }, "modeltap.model"],
    [{ model: "m", version: "" }, "modeltap.version"],
    [{ model: "m", sample_rate: -0.1 }, "modeltap.sample_rate"],
    [{ model: "m", sample_rate: "abc" }, "modeltap.sample_rate"],
    [{ model: "m", sample_rate: "" }, "modeltap.sample_rate"],
    [{ model: "m", top_k: 0 }, "modeltap.top_k"],
    [{ model: "m", score_threshold: 2 }, "modeltap.score_threshold"],
    [{ model: "m", input_size: "640" }, "modeltap.input_size"],
    [{ model: "m", features: "a,b" }, "modeltap.features"],
    [{ model: "m", protocol: "grpc-magic" }, "modeltap.protocol"],
  ])("rejects %j with a problem on %s", (route, key) => {
    const p = problems(route);
    expect(p).toHaveLength(1);
    expect(p[0]!.startsWith(`${key}:`)).toBe(true);
  });

  it("accepts sample_rate at both ends of 0..1", () => {
    expect(ok({ model: "m", sample_rate: 0 }).sampleRate).toBe(0);
    expect(ok({ model: "m", sample_rate: "1" }).sampleRate).toBe(1);
  });

  it("bounds max_body_bytes to integers from 1 to the hard ceiling", () => {
    expect(ok({ model: "m", max_body_bytes: 1 }).maxBodyBytes).toBe(1);
    expect(ok({ model: "m", max_body_bytes: ROUTE_LIMITS.maxBodyBytes }).maxBodyBytes).toBe(64 * 1024 * 1024);
    for (const bad of [0, -1, 1.5, "many", ROUTE_LIMITS.maxBodyBytes + 1]) {
      const p = problems({ model: "m", max_body_bytes: bad });
      expect(p).toHaveLength(1);
      expect(p[0]).toMatch(/^modeltap\.max_body_bytes: must be an integer from 1 to 67108864/);
    }
  });

  it("bounds max_decoded_bytes the same way", () => {
    expect(ok({ model: "m", max_decoded_bytes: ROUTE_LIMITS.maxDecodedBytes }).maxDecodedBytes).toBe(
      256 * 1024 * 1024,
    );
    expect(problems({ model: "m", max_decoded_bytes: ROUTE_LIMITS.maxDecodedBytes + 1 })[0]).toMatch(
      /^modeltap\.max_decoded_bytes:/,
    );
  });

  it("reads the analysis caps, bounded like the body caps", () => {
    const c = ok({ model: "m", max_analysis_bytes: "65536", max_parse_error_chars: 200 });
    expect(c.analysis.maxAnalysisBytes).toBe(65536);
    expect(c.analysis.maxParseErrorChars).toBe(200);
    expect(problems({ model: "m", max_analysis_bytes: ROUTE_LIMITS.maxAnalysisBytes + 1 })[0]).toMatch(
      /^modeltap\.max_analysis_bytes:/,
    );
    expect(problems({ model: "m", max_parse_error_chars: 0 })[0]).toMatch(
      /^modeltap\.max_parse_error_chars:/,
    );
  });

  it("reads labels as a list or a map, and input_size as WxH or a pair", () => {
    const list = ok({ model: "m", labels: ["setosa", "versicolor"], input_size: "640x480" });
    expect([...list.analysis.labels]).toEqual([
      ["0", "setosa"],
      ["1", "versicolor"],
    ]);
    expect(list.analysis.inputSize).toEqual({ width: 640, height: 480 });
    const map = ok({ model: "m", labels: { "7": "cat" }, input_size: ["32", "16"] });
    expect([...map.analysis.labels]).toEqual([["7", "cat"]]);
    expect(map.analysis.inputSize).toEqual({ width: 32, height: 16 });
  });
});

describe("box_format", () => {
  const od = { model: "det", task: "object_detection" };

  it("takes every order in pixels, normalised, or normalised to the original image", () => {
    expect(ok({ ...od, box_format: "cxcywh_normalized" }).analysis.boxFormat).toEqual({
      order: "cxcywh",
      scale: "normalized",
    });
    expect(ok({ ...od, box_format: "yxyx_normalized_original" }).analysis.boxFormat).toEqual({
      order: "yxyx",
      scale: "normalized_original",
    });
    expect(ok({ ...od, box_format: "xywh" }).analysis.boxFormat).toEqual({ order: "xywh", scale: "pixels" });
    expect(ok(od).analysis.boxFormat).toBeUndefined();
  });

  it("still reads the older output_names.box_format, and refuses the two disagreeing", () => {
    expect(ok({ ...od, output_names: { box_format: "yxyx_normalized" } }).analysis.boxFormat).toEqual({
      order: "yxyx",
      scale: "normalized",
    });
    expect(
      ok({ ...od, box_format: "xyxy", output_names: { box_format: "xyxy" } }).analysis.boxFormat,
    ).toEqual({
      order: "xyxy",
      scale: "pixels",
    });
    expect(problems({ ...od, box_format: "xyxy", output_names: { box_format: "xywh" } })).toEqual([
      'modeltap.box_format: "xyxy" disagrees with output_names.box_format "xywh"; keep box_format',
    ]);
  });

  it("names the known formats when given an unknown one", () => {
    const [p] = problems({ ...od, box_format: "yolo" });
    expect(p).toMatch(/^modeltap\.box_format: unknown box format "yolo" \(known: xyxy, xyxy_normalized, /);
    expect(p).toContain("yxyx_normalized_original");
  });
});

describe("redact_fields", () => {
  it("compiles JSON paths and lists every bad one", () => {
    const catalog = new PluginRegistry();
    const good = compileRouteConfig(catalog, { model: "m", redact_fields: ["$.user.email", "$..password"] });
    expect(good?.ok && good.config.redactFields).toHaveLength(2);
    const bad = compileRouteConfig(catalog, { model: "m", redact_fields: ["user.email", "$.a[1:2]"] });
    expect(bad?.ok).toBe(false);
    expect(!bad?.ok && bad?.problems).toEqual([
      'modeltap.redact_fields: "user.email": must start with $',
      "modeltap.redact_fields: \"$.a[1:2]\": unsupported syntax (use .name, ['name'], [n], [*], .* or ..name) at position 3",
    ]);
    const notList = compileRouteConfig(catalog, { model: "m", redact_fields: "$.a" });
    expect(!notList?.ok && notList?.problems[0]).toMatch(/must be a list of JSON paths/);
  });
});
