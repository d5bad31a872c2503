/** Seeded randomness for property tests and the fuzz campaign: a failure replays from its seed. */

/** mulberry32: a tiny, fast PRNG, good enough to drive tests; numbers in [0, 1). */
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

/** A whole number from lo to hi, both included. */
export const int = (rnd: () => number, lo: number, hi: number): number =>
  lo + Math.floor(rnd() * (hi - lo + 1));

/** Seeded uniform draws in (0, 1] and standard-normal ones (Box-Muller on mulberry32). */
export function draws(seed: number): { uniform: () => number; normal: () => number } {
  const next = mulberry32(seed);
  const uniform = () => (next() * 4294967296 + 1) / 4294967297;
  return { uniform, normal: () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()) };
}
