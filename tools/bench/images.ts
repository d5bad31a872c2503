/** Test images for the benchmarks. */
import { encode } from "fast-png";

/** A photo-sized PNG: random pixels do not compress, so the body is as big as a real image's. */
export function noisyPng(width: number, height: number): Buffer {
  let seed = 42;
  const data = new Uint8Array(width * height * 3).map(() => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed >>> 24;
  });
  return Buffer.from(encode({ width, height, data, channels: 3, depth: 8 }));
}
