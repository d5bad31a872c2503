/**
 * src/core/analysis/geometry.ts: clipBox and scalePrediction, on known values worked by hand, then
 * converter → scaler round trips that must land back on the original box (seeded, reproducible).
 */
import { describe, expect, it } from "vitest";
import type { Prediction } from "../../src/core/canonical.js";
import { clipBox, scalePrediction, scaleRle } from "../../src/core/analysis/geometry.js";
import type { ConvertContext, Size } from "../../src/core/plugins.js";
import { encodeRle } from "../../src/core/rle.js";
import { yoloBoxes } from "../../src/plugins/converters/detection/yolo.js";
import { BUILTIN_SCALERS } from "../../src/plugins/registry.js";
import { letterbox } from "../../src/plugins/scalers/letterbox.js";
import { stretch } from "../../src/plugins/scalers/stretch.js";
import { convertContext } from "../support/convert-context.js";
import { mulberry32 } from "../support/random.js";
import { expectClose, mapCorners, randomScenes } from "../support/geometry.js";

const SCALERS = BUILTIN_SCALERS.map((s) => [s.name, s] as const);

const ctx = (inputSize: Size): ConvertContext => convertContext({ inputSize, maskThreshold: 0 });

describe("scalePrediction", () => {
  it("orders, clips and rounds boxes", () => {
    expect(clipBox([50, 60, -5, 10.123], { width: 40, height: 100 })).toEqual([0, 10.12, 40, 60]);
    const p: Prediction = { kind: "detection", boxes: [{ label: "a", score: 1, xyxy: [0, 140, 700, 500] }] };
    expect(scalePrediction(p, letterbox, { width: 640, height: 640 }, { width: 1280, height: 720 })).toEqual({
      kind: "detection",
      boxes: [{ label: "a", score: 1, xyxy: [0, 0, 1280, 720] }],
    });
  });

  it("maps polygons point by point and resamples masks", () => {
    // Model 8×8, original 16×8: letterbox r = 0.5 with 2-pixel bars; rows 2..5 are the image.
    const mask = new Uint8Array(64);
    for (let y = 2; y < 6; y++) for (let x = 0; x < 8; x++) mask[y * 8 + x] = 1;
    const p: Prediction = {
      kind: "segmentation",
      instances: [
        {
          label: "a",
          score: null,
          xyxy: [0, 2, 8, 6],
          polygons: [[0, 2, 8, 2, 8, 6, 4, 7]],
          rle: encodeRle(mask, 8, 8),
        },
      ],
    };
    const out = scalePrediction(p, letterbox, { width: 8, height: 8 }, { width: 16, height: 8 });
    expect(out).toEqual({
      kind: "segmentation",
      instances: [
        {
          label: "a",
          score: null,
          xyxy: [0, 0, 16, 8],
          polygons: [[0, 0, 16, 0, 16, 8, 8, 8]],
          rle: { size: [8, 16], counts: [0, 128] },
        },
      ],
    });
  });

  it("leaves predictions without geometry alone", () => {
    const p: Prediction = { kind: "classification", label: "cat", score: 0.9 };
    expect(scalePrediction(p, stretch, { width: 1, height: 1 }, { width: 2, height: 2 })).toBe(p);
  });
});

describe.each(SCALERS)("%s: converter → scalePrediction round trips", (_, scaler) => {
  it("yolo (normalized) → scalePrediction lands on the original box, and maps back to the model box", () => {
    for (const { model, original, box } of randomScenes(7, 500)) {
      const [x1, y1, x2, y2] = mapCorners(scaler.toModel, box, model, original);
      const raw = [
        [
          0,
          (x1 + x2) / 2 / model.width,
          (y1 + y2) / 2 / model.height,
          (x2 - x1) / model.width,
          (y2 - y1) / model.height,
          0.9,
        ],
      ];
      const converted = yoloBoxes.convert(raw, ctx(model));
      const scaled = scalePrediction(converted, scaler, model, original);
      if (scaled.kind !== "detection") throw new Error("expected a detection");
      const got = scaled.boxes[0]!.xyxy;
      expectClose(got, box);
      expectClose(mapCorners(scaler.toModel, got, model, original), [x1, y1, x2, y2]);
    }
  });
});

describe("scaleRle: the per-axis path", () => {
  const rng = mulberry32(0x5ca1e);
  const randomMask = (h: number, w: number) => {
    const m = new Uint8Array(h * w);
    // Blobs, not noise: a few filled rectangles.
    for (let k = 0; k < 4; k++) {
      const [y0, x0] = [Math.floor(rng() * h), Math.floor(rng() * w)];
      const [y1, x1] = [y0 + Math.floor(rng() * h), x0 + Math.floor(rng() * w)];
      for (let y = y0; y < Math.min(y1, h); y++) for (let x = x0; x < Math.min(x1, w); x++) m[y * w + x] = 1;
    }
    return encodeRle(m, h, w);
  };
  const model: Size = { width: 64, height: 48 };

  it.each(BUILTIN_SCALERS.map((s) => [s.name, s] as const))(
    "%s: gives exactly the pixel-by-pixel mask, on coarse and full-resolution masks",
    (_name, scaler) => {
      for (const original of [
        { width: 640, height: 480 },
        { width: 333, height: 777 },
        { width: 1, height: 1000 },
        { width: 64, height: 48 },
      ]) {
        for (const [mh, mw] of [
          [48, 64],
          [24, 32],
          [7, 5],
        ] as const) {
          const rle = randomMask(mh, mw);
          expect(scaleRle(rle, scaler, model, original)).toEqual(
            scaleRle(rle, scaler, model, original, false),
          );
        }
      }
    },
  );

  it("asks the scaler once per original column and row, not once per pixel", () => {
    let calls = 0;
    const counting = {
      ...letterbox,
      toModel: (...a: Parameters<typeof letterbox.toModel>) => (calls++, letterbox.toModel(...a)),
    };
    const out = scaleRle(randomMask(48, 64), counting, model, { width: 4000, height: 4000 });
    expect(out.size).toEqual([4000, 4000]);
    expect(out.counts.reduce((a, b) => a + b, 0)).toBe(16_000_000);
    expect(calls).toBeLessThanOrEqual(4000 + 4000 + 17);
  });

  it("falls back to pixel by pixel for a scaler that mixes the axes", () => {
    // A transpose: x in the model comes from y in the original.
    const transpose = {
      ...stretch,
      toModel: (x: number, y: number, m: Size, o: Size): [number, number] => [
        (y / o.height) * m.width,
        (x / o.width) * m.height,
      ],
    };
    const rle = randomMask(48, 64);
    const original = { width: 300, height: 200 };
    const out = scaleRle(rle, transpose, model, original);
    expect(out).toEqual(scaleRle(rle, transpose, model, original, false));
    // And it is not what the axes alone would give.
    expect(out).not.toEqual(scaleRle(rle, stretch, model, original));
  });
});
