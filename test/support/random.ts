/** Seeded randomness for property tests and the fuzz campaign: a failure replays from its seed. */

/** mulberry32 and its uniform/normal draws live in the core (src/core/random.ts); tests share them. */
export { draws, mulberry32 } from "../../src/core/random.js";

/** A whole number from lo to hi, both included. */
export const int = (rnd: () => number, lo: number, hi: number): number =>
  lo + Math.floor(rnd() * (hi - lo + 1));
