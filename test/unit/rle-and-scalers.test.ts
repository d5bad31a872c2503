/** Known-value cases for RLE, the scalers and scalePrediction (expected values worked by hand). */
import { describe, expect, it } from "vitest";
import type { Prediction } from "../../src/core/canonical.js";
import { clipBox, scalePrediction } from "../../src/core/analysis/geometry.js";
import { ParseError } from "../../src/core/plugins.js";
import {
  decodeCompressedCounts,
  decodeRle,
  encodeCompressedCounts,
  encodeRle,
  maskBox,
} from "../../src/core/rle.js";
import { centerCrop } from "../../src/plugins/scalers/center-crop.js";
import { letterbox } from "../../src/plugins/scalers/letterbox.js";
import { stretch } from "../../src/plugins/scalers/stretch.js";

describe("RLE", () => {
  it("runs go down columns and start with zeros", () => {
    // Row-major [[1, 0, 1], [0, 1, 0]] read by columns: 1 0 | 0 1 | 1 0.
    const mask = Uint8Array.from([1, 0, 1, 0, 1, 0]);
    expect(encodeRle(mask, 2, 3)).toEqual({ size: [2, 3], counts: [0, 1, 2, 2, 1] });
    expect(decodeRle({ size: [2, 3], counts: [0, 1, 2, 2, 1] })).toEqual(mask);
  });

  it("encodes empty and full masks", () => {
    expect(encodeRle(new Uint8Array(6), 2, 3).counts).toEqual([6]);
    expect(encodeRle(new Uint8Array(6).fill(1), 2, 3).counts).toEqual([0, 6]);
  });

  it("rejects counts that do not cover the mask", () => {
    expect(() => decodeRle({ size: [3, 3], counts: [4, 1, 3] })).toThrow(ParseError);
    expect(() => decodeRle({ size: [2, 2], counts: [5, -1] })).toThrow(/non-negative/);
  });

  it("compresses small, large and negative-delta counts", () => {
    expect(encodeCompressedCounts([4, 1, 4])).toBe("414");
    // 100 = 4 + 3·32: "T" (4 | 0x20 continue) then "3".
    expect(encodeCompressedCounts([100])).toBe("T3");
    // The 4th count is stored as 2 − 10 = −8, whose 5-bit group 24 has the sign bit: "H".
    expect(encodeCompressedCounts([0, 10, 5, 2])).toBe("0:5H");
    expect(decodeCompressedCounts("0:5H")).toEqual([0, 10, 5, 2]);
    expect(decodeCompressedCounts("")).toEqual([]);
  });

  it("rejects malformed compressed strings", () => {
    expect(() => decodeCompressedCounts("T")).toThrow(/middle of a value/);
    expect(() => decodeCompressedCounts("4 1")).toThrow(/invalid character/);
  });

  it("finds the mask's extent", () => {
    const mask = new Uint8Array(12);
    mask[1 * 4 + 2] = 1;
    mask[2 * 4 + 1] = 1;
    expect(maskBox(mask, 3, 4)).toEqual([1, 1, 3, 3]);
    expect(maskBox(new Uint8Array(12), 3, 4)).toBeNull();
  });
});

describe("scalers", () => {
  const model = { width: 640, height: 640 };
  it("stretch scales each axis on its own", () => {
    expect(stretch.toOriginal(320, 160, model, { width: 1280, height: 960 })).toEqual([640, 240]);
    expect(stretch.toModel(640, 240, model, { width: 1280, height: 960 })).toEqual([320, 160]);
  });

  it("letterbox removes the padding, then the scale", () => {
    // 1280×720 → r = 0.5, the image is 640×360 with 140 px bars above and below.
    const original = { width: 1280, height: 720 };
    expect(letterbox.toOriginal(0, 140, model, original)).toEqual([0, 0]);
    expect(letterbox.toOriginal(640, 500, model, original)).toEqual([1280, 720]);
    expect(letterbox.toModel(1280, 720, model, original)).toEqual([640, 500]);
  });

  it("center_crop adds back the cropped margin", () => {
    // 480×640 → r = 640/480 (width covers), 640×853.3 cropped by 106.67 top and bottom.
    const original = { width: 480, height: 640 };
    const [x, y] = centerCrop.toOriginal(0, 0, model, original);
    expect(x).toBeCloseTo(0, 9);
    expect(y).toBeCloseTo(80, 9);
    const [mx, my] = centerCrop.toModel(240, 320, model, original);
    expect(mx).toBeCloseTo(320, 9);
    expect(my).toBeCloseTo(320, 9);
  });
});

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
