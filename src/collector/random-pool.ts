/**
 * Cryptographic random bytes, drawn from a pool refilled in one call: the collector takes 10 bytes
 * per capture id, and one `randomFillSync` per id cost more than the rest of making the id. Every
 * draw is a fresh slice of the pool, never handed out twice; the pool is refilled once used up.
 */
import { randomFillSync } from "node:crypto";

/** Returns a function that gives `size` new random bytes per call, valid until the pool refills (copy them at once). */
export function randomPool(size: number, draws = 256): () => Uint8Array {
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError("randomPool: size must be a positive integer");
  const pool = new Uint8Array(size * draws);
  let next = pool.byteLength;
  return () => {
    if (next + size > pool.byteLength) {
      randomFillSync(pool);
      next = 0;
    }
    const out = pool.subarray(next, next + size);
    next += size;
    return out;
  };
}
