/** src/adapters/label-studio/brush-rle.ts: masks to and from Label Studio's brush RLE (rle-pack over RGBA pixels). */
import { decodeBinary } from "@thi.ng/rle-pack";
import { describe, expect, it } from "vitest";
import { lsRleToMask, maskToLsRle } from "../../src/adapters/label-studio/brush-rle.js";
import { LabelingFormatError } from "../../src/adapters/label-studio/errors.js";
import { thrown } from "../support/errors.js";
import { circleMask } from "../support/masks.js";

/** "0101 1" → bytes, zero-padded at the end as a bit stream is. */
function packBits(...groups: string[]): number[] {
  const bits = groups.join("").replace(/\s+/g, "");
  const out: number[] = [];
  for (let i = 0; i < bits.length; i += 8) out.push(parseInt(bits.slice(i, i + 8).padEnd(8, "0"), 2));
  return out;
}

describe("brush RLE", () => {
  it("encodes the RGBA pixels with the mask in every channel", () => {
    const mask = circleMask();
    const rgba = decodeBinary(Uint8Array.from(maskToLsRle(mask, 37, 23)));
    expect(rgba).toHaveLength(4 * 37 * 23);
    mask.forEach((inside, i) => {
      expect(Array.from(rgba.subarray(4 * i, 4 * i + 4))).toEqual(
        inside ? [255, 255, 255, 255] : [0, 0, 0, 0],
      );
    });
  });

  it("pins the wire format on a 2×1 mask", () => {
    const expected = packBits(
      "00000000 00000000 00000000 00001000", // 32-bit value count: 2 pixels × 4 channels = 8
      "00111", // word size − 1 = 7: 8-bit words
      "0010 0011 0111 1111", // repeat-count sizes − 1: 3, 4, 8 and 16 bits
      "1 00 011 11111111", // a repeat, size class 0 (3-bit count), count − 1 = 3: four times 255
      "1 00 011 00000000", // four times 0
    );
    expect(expected).toEqual([0, 0, 0, 8, 57, 27, 252, 127, 241, 128, 0]);
    expect(maskToLsRle(Uint8Array.of(1, 0), 2, 1)).toEqual(expected);
    expect(lsRleToMask(expected, 2, 1)).toEqual(Uint8Array.of(1, 0));
  });

  it("reads any non-zero alpha as inside and ignores the colour channels", () => {
    // Two pixels as literal words: chunk flag 0, size class 0, count − 1 = 7, then 8 bytes.
    const rle = packBits(
      "00000000 00000000 00000000 00001000",
      "00111",
      "0010 0011 0111 1111",
      "0 00 111",
      "11111111 00000000 00000000 00000000", // red, alpha 0: outside
      "00000000 00000000 00000000 00000001", // black, alpha 1: inside
    );
    expect(lsRleToMask(rle, 2, 1)).toEqual(Uint8Array.of(0, 1));
  });

  // Runs of exactly 65536 values are where rle-pack's repeat counts wrap.
  it.each([
    [128, 128, "full"],
    [16385, 1, "full"],
    [181, 181, "full"],
    [128, 256, "half"],
    [300, 219, "random"],
  ] as const)("round-trips a %i×%i %s mask", (w, h, fill) => {
    let seed = 7;
    const mask = new Uint8Array(w * h).map((_, i) => {
      if (fill === "full") return 1;
      if (fill === "half") return i < (w * h) / 2 + 1 ? 1 : 0;
      seed = (seed * 48271) % 2147483647;
      return seed % 7 === 0 ? 1 : 0;
    });
    expect(lsRleToMask(maskToLsRle(mask, w, h), w, h)).toEqual(mask);
  });

  it("rejects a mask of the wrong size", () => {
    expect(thrown(LabelingFormatError, () => maskToLsRle(new Uint8Array(5), 2, 3)).message).toMatch(
      /5 pixels, expected 2×3/,
    );
    expect(thrown(LabelingFormatError, () => lsRleToMask([0, 0, 0], 1, 1)).message).toMatch(
      /shorter than the 7-byte header/,
    );
  });
});
