/** src/core/rle.ts: run-length masks, COCO compressed counts and polygon rasterising; known values, then seeded round trips. */
import { describe, expect, it } from "vitest";
import { ParseError } from "../../src/core/plugins.js";
import {
  decodeCompressedCounts,
  decodeRle,
  encodeCompressedCounts,
  encodeRle,
  maskBox,
  polygonsToRle,
} from "../../src/core/rle.js";
import { int, mulberry32 } from "../support/random.js";

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

describe("RLE round trips", () => {
  it("encode → decode returns random masks", () => {
    const rnd = mulberry32(1234);
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
    const rnd = mulberry32(99);
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
    const rnd = mulberry32(7);
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
