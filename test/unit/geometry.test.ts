/**
 * Property tests for the geometry pipeline: scalers invert each other, converter → scaler round
 * trips land back on the original box, and RLE (plain and compressed) round trips losslessly.
 * A seeded PRNG keeps failures reproducible.
 */
import { describe, expect, it } from "vitest";
import type { Xyxy } from "../../src/core/canonical.js";
import { scalePrediction } from "../../src/core/analysis/geometry.js";
import type { ConvertContext, Scaler, Size } from "../../src/core/plugins.js";
import {
  decodeCompressedCounts,
  decodeRle,
  encodeCompressedCounts,
  encodeRle,
  polygonsToRle,
} from "../../src/core/rle.js";
import { yoloBoxes } from "../../src/plugins/converters/yolo.js";
import { centerCrop } from "../../src/plugins/scalers/center-crop.js";
import { letterbox } from "../../src/plugins/scalers/letterbox.js";
import { stretch } from "../../src/plugins/scalers/stretch.js";

/** mulberry32: tiny, fast and good enough to drive property tests. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const int = (rnd: () => number, lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
const size = (rnd: () => number): Size => ({ width: int(rnd, 32, 2000), height: int(rnd, 32, 2000) });

function randomBox(rnd: () => number, s: Size): Xyxy {
  const xs = [rnd() * s.width, rnd() * s.width].sort((a, b) => a - b) as [number, number];
  const ys = [rnd() * s.height, rnd() * s.height].sort((a, b) => a - b) as [number, number];
  return [xs[0], ys[0], xs[1], ys[1]];
}

function expectClose(actual: readonly number[], expected: readonly number[], tol = 0.5): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((v, i) =>
    expect(Math.abs(v - expected[i]!), `index ${i}: ${v} vs ${expected[i]}`).toBeLessThanOrEqual(tol),
  );
}

const ctx = (inputSize: Size): ConvertContext => ({
  labels: new Map(),
  inputSize,
  imageSize: undefined,
  maskThreshold: 0,
  topK: 5,
  text: undefined,
  outputNames: {},
});

const SCALERS: Array<[string, Scaler]> = [
  ["stretch", stretch],
  ["letterbox", letterbox],
  ["center_crop", centerCrop],
];

describe.each(SCALERS)("scaler %s round trips", (_, scaler) => {
  it("original → toModel → toOriginal returns the box (500 random sizes)", () => {
    const rnd = prng(42);
    for (let i = 0; i < 500; i++) {
      const model = size(rnd);
      const original = size(rnd);
      const box = randomBox(rnd, original);
      const [mx1, my1] = scaler.toModel(box[0], box[1], model, original);
      const [mx2, my2] = scaler.toModel(box[2], box[3], model, original);
      const back = [
        ...scaler.toOriginal(mx1, my1, model, original),
        ...scaler.toOriginal(mx2, my2, model, original),
      ];
      expectClose(back, box);
    }
  });

  it("yolo (normalized) → scalePrediction lands on the original box, and maps back to the model box", () => {
    const rnd = prng(7);
    for (let i = 0; i < 500; i++) {
      const model = size(rnd);
      const original = size(rnd);
      const box = randomBox(rnd, original);
      const [x1, y1] = scaler.toModel(box[0], box[1], model, original);
      const [x2, y2] = scaler.toModel(box[2], box[3], model, original);
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
      const inverse = [
        ...scaler.toModel(got[0], got[1], model, original),
        ...scaler.toModel(got[2], got[3], model, original),
      ];
      expectClose(inverse, [x1, y1, x2, y2]);
    }
  });
});

describe("RLE round trips", () => {
  it("encode → decode returns random masks", () => {
    const rnd = prng(1234);
    for (let i = 0; i < 300; i++) {
      const h = int(rnd, 1, 40);
      const w = int(rnd, 1, 40);
      const density = rnd();
      const mask = new Uint8Array(h * w).map(() => (rnd() < density ? 1 : 0));
      const rle = encodeRle(mask, h, w);
      expect(rle.size).toEqual([h, w]);
      expect(rle.counts.reduce((a, b) => a + b, 0)).toBe(h * w);
      expect(decodeRle(rle)).toEqual(mask);
    }
  });

  it("compressed counts round trip, including large counts and negative deltas", () => {
    const rnd = prng(99);
    for (let i = 0; i < 300; i++) {
      const counts = Array.from({ length: int(rnd, 0, 30) }, () =>
        rnd() < 0.2 ? 0 : int(rnd, 1, rnd() < 0.3 ? 5_000_000 : 100),
      );
      const s = encodeCompressedCounts(counts);
      expect(s).toMatch(/^[0-o]*$/);
      expect(decodeCompressedCounts(s)).toEqual(counts);
    }
  });

  it("matches a hand-derived COCO compressed string", () => {
    // 100×100 mask, columns 10..19, rows 30..59: 1030 zeros, then ten 30-pixel runs 70 apart.
    // 1030 = 6 + 0·32 + 1·1024 → "V" "P" "1"; 30 has the 0x10 bit, so it needs a "0" sign group;
    // the last count is a delta: 8040 − 70 = 7970 = 2 + 25·32 + 7·1024 → "R" "i" "7".
    const mask = new Uint8Array(100 * 100);
    for (let y = 30; y < 60; y++) for (let x = 10; x < 20; x++) mask[y * 100 + x] = 1;
    const rle = encodeRle(mask, 100, 100);
    expect(rle.counts).toEqual([1030, 30, ...Array<number[]>(9).fill([70, 30]).flat(), 8040]);
    const s = encodeCompressedCounts(rle.counts);
    expect(s).toBe(`VP1n0V2${"0".repeat(17)}Ri7`);
    expect(decodeRle({ size: [100, 100], counts: decodeCompressedCounts(s) })).toEqual(mask);
  });
});

/** Even-odd point-in-polygon, the slow obvious way. */
function inside(poly: number[], px: number, py: number): boolean {
  let odd = false;
  for (let i = 0, j = poly.length / 2 - 1; i < poly.length / 2; j = i++) {
    const [xi, yi, xj, yj] = [poly[2 * i]!, poly[2 * i + 1]!, poly[2 * j]!, poly[2 * j + 1]!];
    if (xi <= px !== xj <= px && py < yi + ((px - xi) * (yj - yi)) / (xj - xi)) odd = !odd;
  }
  return odd;
}

describe("polygonsToRle", () => {
  it("fills an axis-aligned rectangle exactly", () => {
    const rle = polygonsToRle([[2, 1, 5, 1, 5, 4, 2, 4]], 6, 8);
    const mask = decodeRle(rle);
    for (let y = 0; y < 6; y++)
      for (let x = 0; x < 8; x++)
        expect(mask[y * 8 + x], `${x},${y}`).toBe(x >= 2 && x < 5 && y >= 1 && y < 4 ? 1 : 0);
  });

  it("matches a point-in-polygon test on every pixel centre of random polygons, united", () => {
    const rnd = prng(7);
    for (let i = 0; i < 200; i++) {
      const h = int(rnd, 1, 50);
      const w = int(rnd, 1, 50);
      const polys = Array.from({ length: int(rnd, 1, 3) }, () =>
        Array.from({ length: 2 * int(rnd, 3, 8) }, (_, k) =>
          k % 2 ? rnd() * (h + 4) - 2 : rnd() * (w + 4) - 2,
        ),
      );
      const mask = decodeRle(polygonsToRle(polys, h, w));
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const want = polys.some((p) => inside(p, x + 0.5, y + 0.5)) ? 1 : 0;
          expect(mask[y * w + x], `case ${i} pixel ${x},${y}`).toBe(want);
        }
    }
  });

  it("is all zeros for no polygon or a degenerate one", () => {
    expect(polygonsToRle([], 3, 4).counts).toEqual([12]);
    expect(polygonsToRle([[1, 1, 2, 2]], 3, 4).counts).toEqual([12]);
  });
});
