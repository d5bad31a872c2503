/** src/core/sampler.ts: XXH64 as Envoy's consistent_hashing computes it, seeded; isSampled deterministic per id and seed, exact at the extremes, close to the rate, monotonic in the rate, even over sequential ids. */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  SAMPLING_MODULO,
  isSampled,
  parseSamplingSeed,
  samplingBucket,
  samplingThreshold,
  xxh64,
} from "../../src/core/sampler.js";

const ids = Array.from({ length: 20_000 }, () => randomUUID());
const SEED = 0x1234567890abcdefn;
const utf8 = (s: string) => new TextEncoder().encode(s);

describe("xxh64", () => {
  // Reference digests from the xxHash library (python-xxhash 3, xxh64_intdigest).
  it.each([
    ["", 0n, 0xef46db3751d8e999n],
    ["a", 0n, 0xd24ec4f1a98c6e5bn],
    ["abc", 0n, 0x44bc2cf5ad770999n],
    ["0f3a2c4e-1b7d-4e8a-9c2f-5d6e7f8a9b0c", 0n, 0x270c16ba24c11daan],
    ["0f3a2c4e-1b7d-4e8a-9c2f-5d6e7f8a9b0c", SEED, 0xfe2707e30584eeccn],
    ["héllo wörld, a longer string of more than thirty-two bytes", 42n, 0xacdf54273b1158can],
  ])("XXH64(%j, %d) is the reference digest", (text, seed, want) => {
    expect(xxh64(utf8(text), seed)).toBe(want);
  });
});

describe("isSampled", () => {
  it("gives the same bucket and the same answer for the same id and seed, every time", () => {
    for (const id of ids.slice(0, 500)) expect(samplingBucket(id, SEED)).toBe(samplingBucket(id, SEED));
    const first = ids.slice(0, 1000).map((id) => isSampled(id, 0.5, SEED));
    const again = ids.slice(0, 1000).map((id) => isSampled(`${id}`.slice(0), 0.5, SEED));
    expect(again).toEqual(first);
    expect(first).toContain(true);
    expect(first).toContain(false);
  });

  it("samples another set under another seed: without the seed a client cannot tell which ids are captured", () => {
    const a = ids.slice(0, 4000).map((id) => isSampled(id, 0.5, SEED));
    const b = ids.slice(0, 4000).map((id) => isSampled(id, 0.5, SEED + 1n));
    const agree = a.filter((x, i) => x === b[i]).length;
    // Independent coins agree about half the time (4 000 draws: sd 32).
    expect(Math.abs(agree - 2000)).toBeLessThan(4 * 32);
  });

  it("is XXH64(id, seed) % modulo < threshold, Envoy's consistent_hashing rule", () => {
    const id = "0f3a2c4e-1b7d-4e8a-9c2f-5d6e7f8a9b0c";
    const bucket = Number(0xfe2707e30584eeccn % BigInt(SAMPLING_MODULO));
    expect(samplingBucket(id, SEED)).toBe(bucket);
    expect(isSampled(id, (bucket + 1) / SAMPLING_MODULO, SEED)).toBe(true);
    expect(isSampled(id, bucket / SAMPLING_MODULO, SEED)).toBe(false);
    expect(samplingThreshold(0.25)).toBe(250_000);
  });

  it("never samples at rate 0 (or below) and always samples at rate 1 (or above)", () => {
    expect(ids.filter((id) => isSampled(id, 0, SEED))).toHaveLength(0);
    expect(ids.filter((id) => isSampled(id, -0.5, SEED))).toHaveLength(0);
    expect(ids.filter((id) => isSampled(id, 1, SEED))).toHaveLength(ids.length);
    expect(ids.filter((id) => isSampled(id, 2, SEED))).toHaveLength(ids.length);
  });

  it.each([0.01, 0.1, 0.25, 0.5, 0.9])("samples within 4 standard deviations of rate %f", (rate) => {
    const n = ids.length;
    const sampled = ids.filter((id) => isSampled(id, rate, SEED)).length;
    const sd = Math.sqrt(n * rate * (1 - rate));
    expect(Math.abs(sampled - n * rate)).toBeLessThan(4 * sd);
  });

  it("is monotonic: the set sampled at 0.1 is a subset of the set sampled at 0.25", () => {
    const at10 = new Set(ids.filter((id) => isSampled(id, 0.1, SEED)));
    const at25 = new Set(ids.filter((id) => isSampled(id, 0.25, SEED)));
    expect(at10.size).toBeGreaterThan(0);
    expect(at25.size).toBeGreaterThan(at10.size);
    expect([...at10].filter((id) => !at25.has(id))).toEqual([]);
  });

  it("spreads sequential ids evenly", () => {
    const seq = Array.from({ length: 10_000 }, (_, i) => `req-${i}`);
    const n = seq.filter((id) => isSampled(id, 0.5, SEED)).length;
    expect(Math.abs(n - 5000)).toBeLessThan(4 * 50);
  });
});

describe("parseSamplingSeed", () => {
  it("reads decimal and 0x hex up to 2^64-1, and nothing else", () => {
    expect(parseSamplingSeed("42")).toBe(42n);
    expect(parseSamplingSeed(" 0xFFFFFFFFFFFFFFFF ")).toBe(0xffffffffffffffffn);
    expect(parseSamplingSeed("18446744073709551616")).toBeUndefined();
    for (const bad of ["", "-1", "0x", "1e3", "abc", "0x1ffffffffffffffff"])
      expect(parseSamplingSeed(bad)).toBeUndefined();
  });
});
