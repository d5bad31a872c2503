/**
 * Label Studio brush masks: a canonical binary mask to and from the RLE bytes of a brush result's
 * value.rle. Pure: no I/O.
 *
 * Brush masks travel as @thi.ng/rle-pack's bit-packed RLE of the RGBA pixels (8-bit words, repeat
 * sizes [3, 4, 8, 16]), the mask value (255 or 0) in all four channels; Label Studio reads the
 * alpha channel. The header starts with the value count as a 32-bit big-endian number, which is
 * checked before decoding so a corrupt header cannot make us allocate gigabytes.
 *
 * rle-pack 3.2's encoder drops the last value when the final run is 1 more than a multiple of
 * 65536 long. Every run of RGBA-replicated values is a multiple of 4 long, so that never happens.
 */
import { decodeBinary, encodeBinary } from "@thi.ng/rle-pack";
import { errorMessage } from "../../core/errors.js";
import { checkSize, describe, LabelingFormatError } from "./errors.js";

/** Binary mask (row-major, h×w, non-zero = inside) → Label Studio brush RLE bytes. */
export function maskToLsRle(mask: Uint8Array, width: number, height: number): number[] {
  checkSize(width, height);
  if (mask.length !== width * height) {
    throw new LabelingFormatError(
      `mask has ${mask.length} pixels, expected ${width}×${height} = ${width * height}`,
    );
  }
  const rgba = new Uint8Array(mask.length * 4);
  for (let i = 0; i < mask.length; i++) if (mask[i]) rgba.fill(255, 4 * i, 4 * i + 4);
  return Array.from(encodeBinary(rgba, rgba.length, 8));
}

/** Label Studio brush RLE bytes → binary mask (row-major, h×w, 1 = inside). */
export function lsRleToMask(rle: readonly number[], width: number, height: number): Uint8Array {
  checkSize(width, height);
  const bad = rle.findIndex((b) => !Number.isInteger(b) || b < 0 || b > 255);
  if (bad >= 0) {
    throw new LabelingFormatError(`byte ${bad} is ${describe(rle[bad])}, not an integer from 0 to 255`);
  }
  // 32-bit count, 5-bit word size, four 4-bit repeat sizes: 53 bits.
  if (rle.length < 7) throw new LabelingFormatError(`${rle.length} bytes is shorter than the 7-byte header`);
  const bytes = Uint8Array.from(rle);
  const count = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
  const expected = 4 * width * height;
  if (count !== expected) {
    throw new LabelingFormatError(
      `decodes to ${count} values, expected 4 channels × ${width}×${height} pixels = ${expected}`,
    );
  }
  const wordSize = (bytes[4]! >> 3) + 1;
  if (wordSize !== 8) throw new LabelingFormatError(`word size is ${wordSize} bits, expected 8`);
  let rgba: ArrayLike<number>;
  try {
    rgba = decodeBinary(bytes);
  } catch (err) {
    throw new LabelingFormatError(`truncated or corrupt: ${errorMessage(err)}`, { cause: err });
  }
  const mask = new Uint8Array(width * height);
  for (let i = 0; i < mask.length; i++) mask[i] = rgba[4 * i + 3]! > 0 ? 1 : 0;
  return mask;
}
