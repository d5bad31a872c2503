/** The analysis pipeline and how its result is stored: long texts and masks become objects. */
import { decode } from "fast-png";
import { describe, expect, it } from "vitest";
import { analyzeExchange } from "../../src/core/analysis/analyze.js";
import type { Analysis } from "../../src/core/canonical.js";
import { TEXT_INLINE_MAX_CHARS, planPersist } from "../../src/core/storage/persist-plan.js";
import type { ParseContext } from "../../src/core/plugins.js";
import { RECORD_SCHEMA_VERSION, emptyBody, type CaptureRecord } from "../../src/core/record.js";
import { compileRouteConfig } from "../../src/core/route-config.js";
import { PluginRegistry } from "../../src/plugins/registry.js";

const registry = new PluginRegistry();

function config(meta: Record<string, unknown>) {
  const r = compileRouteConfig(registry, { model: "m", ...meta });
  if (!r?.ok) throw new Error(JSON.stringify(r));
  return r.config;
}

function ctx(request: unknown, response: unknown): ParseContext {
  const view = (v: unknown) => ({
    bytes: new Uint8Array(Buffer.from(JSON.stringify(v))),
    contentType: "application/json",
    headers: [],
    truncated: false,
  });
  return {
    request: view(request),
    response: view(response),
    route: { features: undefined },
    startedAtUs: 0,
    responseChunkTimes: [],
  };
}

function record(analysis: Analysis): CaptureRecord {
  return {
    id: "cap-1",
    model: "m",
    version: "1",
    task: analysis.task,
    route: "",
    cluster: "",
    mode: "observability",
    method: "POST",
    path: "/",
    authority: "",
    startedAtUs: Date.UTC(2026, 0, 2, 3) * 1000,
    ttfbUs: 0,
    durationUs: 0,
    statusCode: 200,
    complete: true,
    request: emptyBody(),
    response: emptyBody(),
    sampleRate: 1,
    schemaVersion: RECORD_SCHEMA_VERSION,
    upstreamUs: null,
    analysisJson: Buffer.from(JSON.stringify(analysis)),
    parseError: "",
    labelRate: 0,
    labelSet: [],
  };
}

describe("analyzeExchange", () => {
  it("detects the protocol with protocol auto and converts each instance", () => {
    const c = config({ task: "text_classification" });
    const result = analyzeExchange(
      c.task,
      c.analysis,
      registry.detectionOrder(),
      ctx({ inputs: ["good", "bad"] }, [[{ label: "POS", score: 0.9 }], [{ label: "NEG", score: 0.8 }]]),
    );
    expect(result.parseError).toBe("");
    expect(result.analysis?.protocol).toBe("hf_pipeline");
    expect(result.analysis?.instances.map((i) => i.prediction)).toEqual([
      { kind: "classification", label: "POS", score: 0.9, classes: [{ label: "POS", score: 0.9 }] },
      { kind: "classification", label: "NEG", score: 0.8, classes: [{ label: "NEG", score: 0.8 }] },
    ]);
  });

  it("reports a converter failure per instance, keeping the rest", () => {
    const c = config({ task: "tabular_regression", protocol: "kserve_v1" });
    const result = analyzeExchange(
      c.task,
      c.analysis,
      registry.detectionOrder(),
      ctx(
        {
          instances: [
            [1, 2],
            [3, 4],
          ],
        },
        { predictions: [1.5, { a: 1, b: 2 }] },
      ),
    );
    expect(result.analysis?.instances.map((i) => i.prediction)).toEqual([
      { kind: "regression", value: 1.5 },
      null,
    ]);
    expect(result.parseError).toMatch(/^instance 1: regression: /);
  });

  it("drops detections under score_threshold", () => {
    const c = config({
      task: "object_detection",
      converter: "voc",
      score_threshold: 0.5,
      protocol: "kserve_v1",
    });
    const result = analyzeExchange(
      c.task,
      c.analysis,
      [],
      ctx(
        { instances: [{ x: 1 }] },
        {
          predictions: [
            [
              { box: [0, 0, 1, 1], label: "a", score: 0.9 },
              { box: [0, 0, 2, 2], label: "b", score: 0.1 },
            ],
          ],
        },
      ),
    );
    expect(result.analysis?.instances[0]?.prediction).toEqual({
      kind: "detection",
      boxes: [{ label: "a", score: 0.9, xyxy: [0, 0, 1, 1] }],
    });
  });

  it("does nothing for task unknown", () => {
    const c = config({});
    expect(analyzeExchange(c.task, c.analysis, registry.detectionOrder(), ctx({}, {}))).toEqual({
      analysis: undefined,
      parseError: "",
    });
  });
});

describe("storing an analysis", () => {
  it("moves texts over the inline limit to an object and keeps a prefix", () => {
    const text = "x".repeat(TEXT_INLINE_MAX_CHARS + 1);
    const plan = planPersist(
      record({
        schema_version: 1,
        task: "ner",
        protocol: "hf_pipeline",
        instances: [{ input: { text }, prediction: null }],
      }),
      (k) => `s3://b/${k}`,
    );
    expect(plan.objects.map((o) => o.key)).toEqual(["m/1/2026/01/02/03/cap-1/text-0.txt"]);
    expect(plan.row.analysis?.instances[0]?.input).toEqual({
      text: "x".repeat(1024),
      text_chars: text.length,
      text_uri: "s3://b/m/1/2026/01/02/03/cap-1/text-0.txt",
    });
  });

  it("plans one PNG per mask and links it from the stored analysis", async () => {
    const { maskPng } = await import("../../src/core/storage/mask-png.js");
    // 2x3 mask (h=2, w=3), column-major counts: 1 zero, then 2 ones, then 3 zeros.
    const rle = { size: [2, 3] as [number, number], counts: [1, 2, 3] };
    const plan = planPersist(
      record({
        schema_version: 1,
        task: "instance_segmentation",
        protocol: "p",
        instances: [
          {
            input: {},
            prediction: {
              kind: "segmentation",
              instances: [{ label: "a", score: 1, xyxy: [0, 0, 3, 2], rle }],
            },
          },
        ],
      }),
      (k) => k,
    );
    const mask = plan.objects.find((o) => o.key.endsWith("mask-0-0.png"))!;
    expect(mask.source).toEqual({ mask: rle });
    const png = decode(maskPng(rle));
    expect([png.width, png.height]).toEqual([3, 2]);
    // Column-major: pixel (x=0,y=1) and (x=1,y=0) are set.
    expect([...png.data]).toEqual([0, 255, 0, 255, 0, 0]);
    const seg = plan.row.analysis!.instances[0]!.prediction as unknown as {
      instances: Array<Record<string, unknown>>;
    };
    expect(seg.instances[0]!.mask_uri).toBe(mask.key);
    expect(plan.row.predictions).toHaveLength(1);
    expect(plan.row.features).toBeNull();
  });

  it("rasterises polygon-only instances into a mask at the original image's size", () => {
    const plan = planPersist(
      record({
        schema_version: 1,
        task: "instance_segmentation",
        protocol: "p",
        instances: [
          {
            input: { image: { width: 4, height: 3, format: "png" } },
            prediction: {
              kind: "segmentation",
              instances: [{ label: "a", score: 1, xyxy: [1, 0, 3, 2], polygons: [[1, 0, 3, 0, 3, 2, 1, 2]] }],
            },
          },
        ],
      }),
      (k) => k,
    );
    const mask = plan.objects.find((o) => o.key.endsWith("mask-0-0.png"))!;
    // Columns 1 and 2, rows 0 and 1: 3 zeros (column 0), 2 ones, 1 zero, 2 ones, 4 zeros.
    expect(mask.source).toEqual({ mask: { size: [3, 4], counts: [3, 2, 1, 2, 4] } });
  });
});
