/** Renders a canonical RLE mask as a 1-bit-style grayscale PNG (0 background, 255 mask). */
import { encode } from "fast-png";
import type { Rle } from "../canonical.js";
import { decodeRle } from "../rle.js";

export function maskPng(rle: Rle): Uint8Array {
  const [height, width] = rle.size;
  const bits = decodeRle(rle);
  const data = new Uint8Array(width * height);
  for (let i = 0; i < bits.length; i++) data[i] = bits[i] ? 255 : 0;
  return encode({ width, height, data, channels: 1, depth: 8 });
}
