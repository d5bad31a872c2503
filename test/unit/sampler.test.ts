/** src/core/sampler.ts: XXH64 as Envoy's consistent_hashing computes it, seeded; isSampled deterministic per id and seed, exact at the extremes, close to the rate, monotonic in the rate, even over sequential ids. */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  SAMPLING_MODULO,
  isSampled,
  isSampledBytes,
  parseSamplingSeed,
  samplingBucket,
  samplingBucketOfBytes,
  samplingThreshold,
  xxh64,
} from "../../src/core/sampler.js";
import { mulberry32 } from "../support/random.js";

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

/** A straightforward BigInt XXH64, as the xxHash specification states it: the reference for the limb arithmetic. */
function referenceXxh64(data: Uint8Array, seed: bigint): bigint {
  const M = 0xffff_ffff_ffff_ffffn;
  const [P1, P2, P3, P4, P5] = [
    0x9e3779b185ebca87n,
    0xc2b2ae3d27d4eb4fn,
    0x165667b19e3779f9n,
    0x85ebca77c2b2ae63n,
    0x27d4eb2f165667c5n,
  ] as const;
  const rotl = (x: bigint, r: bigint) => ((x << r) | (x >> (64n - r))) & M;
  const word = (p: number, n: number) => {
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[p + i]!);
    return v;
  };
  const round = (acc: bigint, input: bigint) => (rotl((acc + input * P2) & M, 31n) * P1) & M;
  const merge = (acc: bigint, v: bigint) => ((acc ^ round(0n, v)) * P1 + P4) & M;
  const len = data.length;
  const s = seed & M;
  let p = 0;
  let h: bigint;
  if (len >= 32) {
    const v = [(s + P1 + P2) & M, (s + P2) & M, s, (s - P1) & M];
    for (; p + 32 <= len; p += 32) for (let i = 0; i < 4; i++) v[i] = round(v[i]!, word(p + 8 * i, 8));
    h = (rotl(v[0]!, 1n) + rotl(v[1]!, 7n) + rotl(v[2]!, 12n) + rotl(v[3]!, 18n)) & M;
    for (const x of v) h = merge(h, x);
  } else h = (s + P5) & M;
  h = (h + BigInt(len)) & M;
  for (; p + 8 <= len; p += 8) h = (rotl(h ^ round(0n, word(p, 8)), 27n) * P1 + P4) & M;
  if (p + 4 <= len) {
    h = (rotl(h ^ ((word(p, 4) * P1) & M), 23n) * P2 + P3) & M;
    p += 4;
  }
  for (; p < len; p++) h = (rotl(h ^ ((BigInt(data[p]!) * P5) & M), 11n) * P1) & M;
  h = ((h ^ (h >> 33n)) * P2) & M;
  h = ((h ^ (h >> 29n)) * P3) & M;
  return h ^ (h >> 32n);
}

describe("xxh64 against a BigInt reference", () => {
  // A seeded generator, so a failing case reproduces.
  const rand = mulberry32(0x5eed);
  const u32 = () => BigInt(Math.floor(rand() * 4294967296));
  const fixedSeeds = [0n, 1n, 0xffff_ffffn, 0x1_0000_0000n, 1n << 63n, 0xffff_ffff_ffff_ffffn, SEED];
  const seedFor = (i: number) => fixedSeeds[i % 10] ?? (u32() << 32n) | u32();
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(rand() * 256));

  it("is itself right: the reference gives the library's digests", () => {
    expect(referenceXxh64(utf8(""), 0n)).toBe(0xef46db3751d8e999n);
    expect(referenceXxh64(utf8("0f3a2c4e-1b7d-4e8a-9c2f-5d6e7f8a9b0c"), SEED)).toBe(0xfe2707e30584eeccn);
    expect(referenceXxh64(utf8("héllo wörld, a longer string of more than thirty-two bytes"), 42n)).toBe(
      0xacdf54273b1158can,
    );
  });

  it("agrees on 3 030 random byte strings of every length 0..100 and random seeds, 0 and 2^64-1 among them", () => {
    let cases = 0;
    for (let len = 0; len <= 100; len++) {
      for (let k = 0; k < 30; k++) {
        const data = bytes(len);
        const seed = seedFor(k);
        expect(xxh64(data, seed), `len ${len} seed ${seed}`).toBe(referenceXxh64(data, seed));
        cases++;
      }
    }
    expect(cases).toBe(3030);
  });

  it("agrees on all-0x00 and all-0xff inputs, and on a view into a larger buffer", () => {
    for (const len of [0, 3, 4, 7, 8, 31, 32, 33, 63, 64, 65, 100, 1000]) {
      for (const seed of [0n, 0xffff_ffff_ffff_ffffn]) {
        const zeros = new Uint8Array(len);
        const ones = new Uint8Array(len).fill(0xff);
        expect(xxh64(zeros, seed)).toBe(referenceXxh64(zeros, seed));
        expect(xxh64(ones, seed)).toBe(referenceXxh64(ones, seed));
      }
    }
    const big = bytes(200);
    for (const [start, end] of [
      [1, 37],
      [3, 200],
      [77, 81],
    ] as const) {
      const view = big.subarray(start, end);
      expect(xxh64(view, SEED)).toBe(referenceXxh64(view.slice(), SEED));
    }
  });

  it("reduces the seed modulo 2^64, as a 64-bit seed", () => {
    const data = utf8("0f3a2c4e-1b7d-4e8a-9c2f-5d6e7f8a9b0c");
    expect(xxh64(data, -1n)).toBe(referenceXxh64(data, 0xffff_ffff_ffff_ffffn));
    expect(xxh64(data, (1n << 64n) + 42n)).toBe(referenceXxh64(data, 42n));
  });

  it("gives samplingBucket = XXH64(UTF-8 bytes, seed) % modulo for ASCII, non-ASCII and long ids", () => {
    const alphabets = [
      "0123456789abcdef-",
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 !~\x7f",
      "aé€𝄞ж中\u0080\u07ff\u0800\uffff",
      "a\ud800b\udc00", // lone surrogates: the encoder writes U+FFFD for each
    ];
    const ids: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const chars = [...alphabets[i % alphabets.length]!];
      const n = Math.floor(rand() * 101);
      ids.push(Array.from({ length: n }, () => chars[Math.floor(rand() * chars.length)]!).join(""));
    }
    // Long ids, around any buffer size an implementation may keep for encoding them.
    for (const c of ["x", "é", "€", "𝄞", "\ud800"])
      for (const n of [170, 171, 255, 256, 257, 341, 342, 511, 512, 513, 1023, 1024, 1025, 5000])
        ids.push(c.repeat(n), `${"z".repeat(n)}${c}`);
    for (const [i, id] of ids.entries()) {
      const seed = seedFor(i);
      const want = Number(referenceXxh64(utf8(id), seed) % BigInt(SAMPLING_MODULO));
      expect(samplingBucket(id, seed), `${JSON.stringify(id)} seed ${seed}`).toBe(want);
    }
  });
});

describe("samplingBucketOfBytes", () => {
  it("hashes a header's bytes as Envoy does: the UTF-8 bucket for UTF-8 bytes, and Latin-1 bytes as they are", () => {
    for (const id of ["req-1", "aé€𝄞", "x".repeat(100)]) {
      expect(samplingBucketOfBytes(utf8(id), SEED)).toBe(samplingBucket(id, SEED));
    }
    const latin1 = Buffer.from("\u00e9t\u00e9", "latin1"); // 3 bytes, not UTF-8
    const want = Number(referenceXxh64(latin1, SEED) % BigInt(SAMPLING_MODULO));
    expect(samplingBucketOfBytes(latin1, SEED)).toBe(want);
    expect(samplingBucket("\u00e9t\u00e9", SEED)).not.toBe(want);
  });

  it("isSampledBytes is exact at the extremes and agrees with isSampled on UTF-8 ids", () => {
    for (const id of ids.slice(0, 2000)) {
      expect(isSampledBytes(utf8(id), 0.3, SEED)).toBe(isSampled(id, 0.3, SEED));
    }
    expect(isSampledBytes(utf8("a"), 0, SEED)).toBe(false);
    expect(isSampledBytes(utf8("a"), 1, SEED)).toBe(true);
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
