/**
 * Geometry budgets (src/core/budget.ts): the route keys, the image budget where the header is read
 * (analysis), the mask, record and instance budgets in the collector's scaling and in the worker's
 * persist plan. A budget hit keeps the capture and flags it (`over_budget`, a note), never drops it.
 */
import { describe, expect, it } from "vitest";
import { analyzeExchange } from "../../src/core/analysis/analyze.js";
import { DEFAULT_GEOMETRY_BUDGET, GEOMETRY_BUDGET_LIMITS } from "../../src/core/budget.js";
import type { Analysis } from "../../src/core/canonical.js";
import { checkRle, decodeRle, maskBox, polygonsToRle, rleBox } from "../../src/core/rle.js";
import { compileRouteConfig } from "../../src/core/route-config.js";
import { planPersist } from "../../src/core/storage/persist-plan.js";
import { PluginRegistry } from "../../src/plugins/registry.js";
import { png } from "../support/bytes.js";
import { claimedJpeg, claimedPng, claimedWebp } from "../support/claimed-images.js";
import { bodyView, jsonView, parseContext } from "../support/parse-context.js";
import { mulberry32 } from "../support/random.js";
import { newRecord } from "../support/records.js";
import { validConfig } from "../support/routes.js";

const registry = new PluginRegistry();

/** The demo segmenter's route: a raw image in, polygons in 320×320 stretched coordinates out. */
const polygonRoute = (meta: Record<string, unknown> = {}) =>
  validConfig(
    compileRouteConfig(registry, {
      model: "seg",
      task: "instance_segmentation",
      protocol: "torchserve",
      converter: "polygons",
      scaler: "stretch",
      input_size: "320x320",
      ...meta,
    }),
  );

/** COCO RLE masks at the model's 10×10 input, stretched back onto the image. */
const rleRoute = (meta: Record<string, unknown> = {}) =>
  validConfig(
    compileRouteConfig(registry, {
      model: "seg",
      task: "instance_segmentation",
      protocol: "torchserve",
      converter: "coco_rle",
      scaler: "stretch",
      input_size: "10x10",
      ...meta,
    }),
  );

const POLYGON_ANSWER = [{ label: "blob", score: 0.8, polygon: [80, 80, 240, 80, 240, 240, 80, 240] }];
/** A 10×10 mask with a 4×4 square set in its middle (columns 3 to 6, rows 3 to 6). */
const square = { size: [10, 10], counts: [33, 4, 6, 4, 6, 4, 6, 4, 33] };
const rleAnswer = (n: number) =>
  Array.from({ length: n }, () => ({ segmentation: square, category_id: 1, score: 0.9 }));

function analyse(cfg: ReturnType<typeof polygonRoute>, image: Uint8Array, answer: unknown) {
  return analyzeExchange(
    cfg.task,
    cfg.analysis,
    registry.detectionOrder(),
    parseContext(bodyView(image, "image/png"), jsonView(answer)),
  );
}

describe("route keys", () => {
  it("default to 50 Mpx per image, 16 Mpx per mask, 256 Mpx per record and 10,000 instances", () => {
    expect(polygonRoute().analysis.budget).toEqual({
      imagePixels: 50_000_000,
      maskPixels: 16_000_000,
      recordMaskPixels: 256_000_000,
      instances: 10_000,
    });
  });

  it("are set per route, as numbers or strings, and refused past their ceilings", () => {
    const c = polygonRoute({
      max_image_pixels: "1000",
      max_mask_pixels: 500,
      max_record_mask_pixels: 2000,
      max_instances: "3",
    });
    expect(c.analysis.budget).toEqual({
      imagePixels: 1000,
      maskPixels: 500,
      recordMaskPixels: 2000,
      instances: 3,
    });
    const bad = compileRouteConfig(registry, {
      model: "m",
      max_mask_pixels: GEOMETRY_BUDGET_LIMITS.maskPixels + 1,
      max_instances: 0,
      max_image_pixels: "lots",
    });
    expect(bad?.ok).toBe(false);
    expect(bad?.ok === false && bad.problems.join("\n")).toMatch(
      /max_image_pixels: must be an integer[\s\S]*max_mask_pixels: must be an integer from 1 to 67108864[\s\S]*max_instances: must be an integer/,
    );
  });
});

describe("the image budget, where the header is read", () => {
  for (const [name, bytes] of [
    ["a 33-byte PNG claiming 40000×40000", claimedPng(40_000, 40_000)],
    ["a PNG claiming 2^31×1", claimedPng(2 ** 31, 1)],
    ["a JPEG claiming 65535×65535", claimedJpeg(65_535, 65_535)],
    ["a WebP claiming 2^24×2^24", claimedWebp(2 ** 24, 2 ** 24)],
  ] as const) {
    it(`does not trust ${name} for geometry, and flags the capture`, () => {
      const { analysis, parseError } = analyse(polygonRoute(), bytes, POLYGON_ANSWER);
      expect(parseError).toBe("");
      expect(analysis!.over_budget).toEqual(["image_pixels"]);
      const inst = analysis!.instances[0]!;
      expect(inst.input.image).toBeUndefined();
      expect(inst.prediction).toBeNull();
      expect(inst.notes![0]).toMatch(/^image claims \d+×\d+ pixels, more than the image budget of 50000000/);
      expect(inst.notes![1]).toBe("polygons: prediction not mapped onto an image whose size is not trusted");
      expect(analysis!.budget).toEqual({
        image_pixels: 50_000_000,
        mask_pixels: 16_000_000,
        record_mask_pixels: 256_000_000,
        instances: 10_000,
      });
    });
  }

  it("trusts an image within the budget, and maps the prediction onto it", () => {
    const { analysis } = analyse(polygonRoute(), png(640, 480), POLYGON_ANSWER);
    expect(analysis!.over_budget).toBeUndefined();
    expect(analysis!.instances[0]!.input.image).toEqual({ width: 640, height: 480, format: "png" });
    expect(analysis!.instances[0]!.prediction).toMatchObject({ kind: "segmentation" });
  });

  it("is the route's: a smaller max_image_pixels refuses a real 640×480 image", () => {
    const { analysis } = analyse(
      polygonRoute({ max_image_pixels: 640 * 480 - 1 }),
      png(640, 480),
      POLYGON_ANSWER,
    );
    expect(analysis!.over_budget).toEqual(["image_pixels"]);
    expect(analysis!.instances[0]!.input.image).toBeUndefined();
  });
});

describe("the collector's mask scaling", () => {
  it("draws a mask at the image's size within the mask budget", () => {
    const { analysis } = analyse(rleRoute(), png(100, 100), rleAnswer(1));
    const p = analysis!.instances[0]!.prediction;
    expect(p?.kind === "segmentation" && p.instances[0]!.rle?.size).toEqual([100, 100]);
    expect(analysis!.over_budget).toBeUndefined();
  });

  it("leaves out a mask past max_mask_pixels, keeping its box, with a note and a flag", () => {
    const { analysis, parseError } = analyse(
      rleRoute({ max_mask_pixels: 9999 }),
      png(100, 100),
      rleAnswer(1),
    );
    expect(parseError).toBe("");
    const inst = analysis!.instances[0]!;
    const p = inst.prediction;
    expect(p?.kind === "segmentation" && p.instances[0]).toEqual({
      label: "1",
      score: 0.9,
      xyxy: [30, 30, 70, 70],
    });
    expect(analysis!.over_budget).toEqual(["mask_pixels"]);
    expect(inst.notes).toEqual([
      "mask 0 not drawn at the image's size: 100×100 pixels is more than the mask budget of 9999",
    ]);
  });

  it("stops drawing masks once the record's masks reach max_record_mask_pixels", () => {
    const { analysis } = analyse(rleRoute({ max_record_mask_pixels: 25_000 }), png(100, 100), rleAnswer(3));
    const p = analysis!.instances[0]!.prediction;
    expect(p?.kind === "segmentation" && p.instances.map((s) => s.rle !== undefined)).toEqual([
      true,
      true,
      false,
    ]);
    expect(analysis!.over_budget).toEqual(["record_mask_pixels"]);
    expect(analysis!.instances[0]!.notes).toEqual([
      "mask 2 not drawn at the image's size: 100×100 more pixels would take the record's masks past their budget of 25000",
    ]);
  });

  it("draws at most max_instances masks per record", () => {
    const { analysis } = analyse(rleRoute({ max_instances: 2 }), png(100, 100), rleAnswer(3));
    const p = analysis!.instances[0]!.prediction;
    expect(p?.kind === "segmentation" && p.instances.map((s) => s.rle !== undefined)).toEqual([
      true,
      true,
      false,
    ]);
    expect(analysis!.over_budget).toEqual(["instances"]);
  });
});

describe("the instance budget", () => {
  it("analyses the first max_instances instances of a batch and flags the rest as left in the body", () => {
    const c = validConfig(
      compileRouteConfig(registry, { model: "m", task: "text_classification", max_instances: 2 }),
    );
    const { analysis, inputs } = analyzeExchange(
      c.task,
      c.analysis,
      registry.detectionOrder(),
      parseContext(
        jsonView({ inputs: ["a", "b", "c"] }),
        jsonView([[{ label: "P", score: 1 }], [{ label: "P", score: 1 }], [{ label: "P", score: 1 }]]),
      ),
    );
    expect(analysis!.instances.map((i) => i.input.text)).toEqual(["a", "b"]);
    expect(inputs).toHaveLength(2);
    expect(analysis!.over_budget).toEqual(["instances"]);
    expect(analysis!.budget).toBeUndefined();
  });
});

const segmentation = (image: { width: number; height: number }, masks: number, budget?: Analysis["budget"]) =>
  newRecord({
    id: "0190b6a2-1c3d-7e4f-8a5b-6c7d8e9f0a1b",
    model: "m",
    task: "instance_segmentation",
    startedAtUs: Date.UTC(2026, 0, 2, 3) * 1000,
    analysisJson: Buffer.from(
      JSON.stringify({
        schema_version: 1,
        task: "instance_segmentation",
        protocol: "p",
        ...(budget ? { budget } : {}),
        instances: [
          {
            input: { image: { ...image, format: "png" } },
            prediction: {
              kind: "segmentation",
              instances: Array.from({ length: masks }, () => ({
                label: "a",
                score: 1,
                xyxy: [0, 0, 9, 9],
                polygons: [[0, 0, 9, 0, 9, 9]],
              })),
            },
          },
        ],
      } satisfies Analysis),
    ),
  });

const budget = (over: Partial<NonNullable<Analysis["budget"]>>) => ({
  image_pixels: 50_000_000,
  mask_pixels: 16_000_000,
  record_mask_pixels: 256_000_000,
  instances: 10_000,
  ...over,
});

const maskKeys = (plan: ReturnType<typeof planPersist>) =>
  plan.objects.filter((o) => "mask" in o.source).map((o) => o.key.split("/").pop());

describe("the worker's persist plan", () => {
  it("rasterises nothing for an image claiming 40000×40000 in an analysis from before budgets", () => {
    const plan = planPersist(segmentation({ width: 40_000, height: 40_000 }, 1), (k) => k);
    expect(maskKeys(plan)).toEqual([]);
    expect(plan.row.analysis!.over_budget).toEqual(["image_pixels"]);
    expect(plan.row.analysis!.instances[0]!.notes).toEqual([
      "image claims 40000×40000 pixels, more than the image budget of 50000000: not used for geometry: no mask drawn",
    ]);
  });

  it("rasterises nothing for an image claiming 2^31×1 (18 minutes of columns before)", () => {
    const plan = planPersist(segmentation({ width: 2 ** 31, height: 1 }, 1), (k) => k);
    expect(maskKeys(plan)).toEqual([]);
    expect(plan.row.analysis!.over_budget).toEqual(["image_pixels"]);
  });

  it("draws masks within the analysis's mask budget", () => {
    const plan = planPersist(
      segmentation({ width: 100, height: 100 }, 1, budget({ mask_pixels: 9999 })),
      (k) => k,
    );
    expect(maskKeys(plan)).toEqual([]);
    expect(plan.row.analysis!.over_budget).toEqual(["mask_pixels"]);
    expect(plan.row.analysis!.instances[0]!.notes).toEqual([
      "mask 0 not stored as a PNG: 100×100 pixels is more than the mask budget of 9999",
    ]);
    const fits = planPersist(
      segmentation({ width: 100, height: 100 }, 1, budget({ mask_pixels: 10_000 })),
      (k) => k,
    );
    expect(maskKeys(fits)).toEqual(["mask-0-0.png"]);
    expect(fits.row.analysis!.over_budget).toBeUndefined();
  });

  it("draws masks until the record's pixel budget, then flags the rest", () => {
    const plan = planPersist(
      segmentation({ width: 100, height: 100 }, 4, budget({ record_mask_pixels: 25_000 })),
      (k) => k,
    );
    expect(maskKeys(plan)).toEqual(["mask-0-0.png", "mask-0-1.png"]);
    expect(plan.row.analysis!.over_budget).toEqual(["record_mask_pixels"]);
    expect(plan.row.analysis!.instances[0]!.notes).toHaveLength(2);
  });

  it("draws at most the budget's instances masks per record", () => {
    const plan = planPersist(segmentation({ width: 10, height: 10 }, 5, budget({ instances: 3 })), (k) => k);
    expect(maskKeys(plan)).toEqual(["mask-0-0.png", "mask-0-1.png", "mask-0-2.png"]);
    expect(plan.row.analysis!.over_budget).toEqual(["instances"]);
  });

  it("holds a budget from the wire to its ceiling", () => {
    const plan = planPersist(
      segmentation({ width: 9000, height: 9000 }, 1, budget({ image_pixels: 2 ** 40, mask_pixels: 2 ** 40 })),
      (k) => k,
    );
    expect(maskKeys(plan)).toEqual([]);
    expect(plan.row.analysis!.over_budget).toEqual(["mask_pixels"]);
    expect(DEFAULT_GEOMETRY_BUDGET.maskPixels).toBeLessThan(GEOMETRY_BUDGET_LIMITS.maskPixels);
  });
});

describe("rle.ts", () => {
  it("polygonsToRle refuses a size past its budget before drawing a column", () => {
    expect(() => polygonsToRle([[0, 0, 9, 0, 9, 1]], 1, 2 ** 31)).toThrow(/more than the 67108864/);
    expect(() => polygonsToRle([[0, 0, 9, 0, 9, 1]], 100, 100, 9999)).toThrow(/more than the 9999/);
  });

  it("polygonsToRle walks only the columns the polygons reach", () => {
    const rle = polygonsToRle([[10, 0, 20, 0, 20, 1, 10, 1]], 1, 60_000_000);
    expect(rle.counts).toEqual([10, 10, 60_000_000 - 20]);
  });

  it("rleBox is the drawn mask's box, from the runs alone", () => {
    const rnd = mulberry32(3);
    for (let i = 0; i < 300; i++) {
      const h = 1 + Math.floor(rnd() * 12);
      const w = 1 + Math.floor(rnd() * 12);
      const counts: number[] = [];
      let left = h * w;
      while (left > 0) {
        const run = Math.min(left, Math.floor(rnd() * (h + 3)));
        counts.push(run);
        left -= run;
      }
      const rle = { size: [h, w] as [number, number], counts };
      checkRle(rle);
      expect(rleBox(rle), `case ${i}`).toEqual(maskBox(decodeRle(rle), h, w));
    }
  });
});
