/**
 * Seeded randomness (mulberry32): the same seed gives the same numbers on every run and platform,
 * so what is drawn from a seed replays exactly (a baseline's reservoir sample, a benchmark's cell
 * order, the demo's traffic, a failing property test). Pure: no I/O, no clock. Not for secrets or
 * ids: use node:crypto for anything that must be unpredictable.
 */

/** mulberry32: numbers in [0, 1), each a 32-bit integer over 2^32. The seed is taken modulo 2^32. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Seeded uniform draws in (0, 1] ((k + 1) / (2^32 + 1) for mulberry32's integer k: never 0, so a
 * log is finite) and standard-normal ones (Box-Muller, two uniform draws each).
 */
export function draws(seed: number): { uniform: () => number; normal: () => number } {
  const next = mulberry32(seed);
  const uniform = () => (next() * 4294967296 + 1) / 4294967297;
  return { uniform, normal: () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()) };
}
