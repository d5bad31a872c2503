/**
 * src/core/monitoring/kll.ts against Apache DataSketches (PyPI `datasketches`) byte for byte, and
 * sketch-drift.ts against scipy (test/fixtures/monitoring/kll.json from tools/oracle/kll_fixtures.py).
 */
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { KllFormatError, KllSketch, kllNormalizedRankError } from "../../src/core/monitoring/kll.js";
import { ks2sampPValue } from "../../src/core/monitoring/ks-pvalue.js";
import { ksFromSketches, wassersteinFromSketches } from "../../src/core/monitoring/sketch-drift.js";
import { within } from "../support/monitoring-fixture.js";
import { mulberry32 } from "../support/random.js";

interface SketchCase {
  name: string;
  bytes: string;
  k: number;
  n: number;
  values?: number[];
  merge_of?: [number[], number[]];
  min?: number;
  max?: number;
  num_retained?: number;
  estimation_mode?: boolean;
  rank_error?: number;
  rank_error_pmf?: number;
  quantiles?: { rank: number; inclusive: number; exclusive: number }[];
  ranks?: { value: number; inclusive: number; exclusive: number }[];
}

interface PairCase {
  name: string;
  exact: boolean;
  reference?: number[];
  current?: number[];
  reference_bytes?: string;
  current_bytes?: string;
  ks_statistic: number;
  ks_p_value: number;
  wasserstein: number;
}

const fixture = JSON.parse(
  fs.readFileSync(new URL("../fixtures/monitoring/kll.json", import.meta.url), "utf8"),
) as {
  sketches: SketchCase[];
  pairs: PairCase[];
};

const bytesOf = (b64: string): Uint8Array => new Uint8Array(Buffer.from(b64, "base64"));
const hex = (b: Uint8Array): string => Buffer.from(b).toString("hex");
const sketchOf = (values: readonly number[], k = 200): KllSketch => {
  const s = KllSketch.create(k);
  for (const x of values) s.update(x);
  return s;
};

/** Seeded standard normals (Box-Muller), rounded so duplicates are rare but possible. */
function normals(seed: number, count: number, mean = 0, sd = 1): number[] {
  const rnd = mulberry32(seed);
  return Array.from({ length: count }, () => {
    const z = Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
    return Math.round((mean + sd * z) * 1e6) / 1e6;
  });
}

/** The true inclusive rank of x in sorted values. */
function trueRank(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo / sorted.length;
}

const { sketches, pairs } = fixture;
const exactCases = sketches.filter((c) => c.values !== undefined);

describe("KLL bytes match DataSketches", () => {
  it("has the oracle's cases", () => {
    expect(exactCases.length).toBeGreaterThanOrEqual(7);
    expect(sketches.filter((c) => c.estimation_mode === true).length).toBeGreaterThanOrEqual(5);
  });

  it.each(exactCases.map((c) => [c.name, c] as const))("built from the same values: %s", (_n, c) => {
    expect(hex(sketchOf(c.values ?? [], c.k).serialize())).toBe(hex(bytesOf(c.bytes)));
  });

  it("an exact-mode merge gives DataSketches' bytes", () => {
    const c = sketches.find((s) => s.merge_of !== undefined);
    if (c?.merge_of === undefined) throw new Error("the fixture lacks the merged pair");
    const merged = sketchOf(c.merge_of[0]);
    merged.merge(sketchOf(c.merge_of[1]));
    expect(hex(merged.serialize())).toBe(hex(bytesOf(c.bytes)));
  });

  it.each(sketches.map((c) => [c.name, c] as const))("loads and rewrites the same bytes: %s", (_n, c) => {
    const s = KllSketch.deserialize(bytesOf(c.bytes));
    expect(hex(s.serialize())).toBe(hex(bytesOf(c.bytes)));
    expect([s.k, s.n]).toEqual([c.k, c.n]);
    if (c.n === 0) {
      expect(s.isEmpty).toBe(true);
      expect(() => s.quantile(0.5)).toThrow(RangeError);
      return;
    }
    expect([s.min, s.max, s.numRetained, s.isEstimationMode]).toEqual([
      c.min,
      c.max,
      c.num_retained,
      c.estimation_mode,
    ]);
    expect(s.normalizedRankError(false)).toBeCloseTo(c.rank_error as number, 15);
    expect(s.normalizedRankError(true)).toBeCloseTo(c.rank_error_pmf as number, 15);
    for (const q of c.quantiles ?? []) {
      expect([q.rank, s.quantile(q.rank, true), s.quantile(q.rank, false)]).toEqual([
        q.rank,
        q.inclusive,
        q.exclusive,
      ]);
    }
    for (const r of c.ranks ?? []) {
      expect([r.value, s.rank(r.value, true), s.rank(r.value, false)]).toEqual([
        r.value,
        r.inclusive,
        r.exclusive,
      ]);
    }
    // Queries leave the sketch as it was.
    expect(hex(s.serialize())).toBe(hex(bytesOf(c.bytes)));
  });

  it("states DataSketches' rank error", () => {
    expect(kllNormalizedRankError(200)).toBeCloseTo(0.013294757464848584, 15);
    expect(kllNormalizedRankError(200, true)).toBeCloseTo(0.01651561908528982, 15);
  });
});

describe("KLL in estimation mode", () => {
  const values = normals(7, 100_000, 3, 2);
  const sorted = Float64Array.from(values).sort();
  const eps = kllNormalizedRankError(200);

  function expectWithinError(s: KllSketch): void {
    expect(s.n).toBe(values.length);
    expect(s.min).toBe(sorted[0]);
    expect(s.max).toBe(sorted[sorted.length - 1]);
    expect(s.isEstimationMode).toBe(true);
    expect(s.numRetained).toBeLessThan(3 * 200 + 8 * 20);
    for (let r = 0.01; r < 1; r += 0.01) {
      expect(Math.abs(trueRank(sorted, s.quantile(r)) - r)).toBeLessThanOrEqual(eps);
      const x = sorted[Math.floor(r * sorted.length)] as number;
      expect(Math.abs(s.rank(x) - trueRank(sorted, x))).toBeLessThanOrEqual(eps);
    }
  }

  it("keeps n, min and max exact and ranks within the stated error", () => {
    expectWithinError(sketchOf(values));
  });

  it("merges any split in any order within the error, n exact", () => {
    const rnd = mulberry32(11);
    for (let trial = 0; trial < 3; trial++) {
      const cuts = [
        0,
        ...Array.from({ length: 6 }, () => Math.floor(rnd() * values.length)).sort((a, b) => a - b),
        values.length,
      ];
      const parts = cuts.slice(1).map((end, i) => sketchOf(values.slice(cuts[i], end)));
      if (trial === 1) parts.reverse();
      const merged = KllSketch.create();
      for (const p of parts) merged.merge(trial === 2 ? KllSketch.deserialize(p.serialize()) : p);
      expectWithinError(merged);
    }
  });

  it("is deterministic: the same values in the same order give the same bytes", () => {
    const a = sketchOf(values).serialize();
    expect(hex(sketchOf(values).serialize())).toBe(hex(a));
    const half = values.length / 2;
    const viaBytes = KllSketch.deserialize(sketchOf(values.slice(0, half)).serialize());
    for (const x of values.slice(half)) viaBytes.update(x);
    expect(hex(viaBytes.serialize())).toBe(hex(a));
  });

  it("goes through many levels at k = 8 and DataSketches reads the result back the same", () => {
    const s = sketchOf(values, 8);
    expect(s.n).toBe(values.length);
    const again = KllSketch.deserialize(s.serialize());
    expect(hex(again.serialize())).toBe(hex(s.serialize()));
    expect(Math.abs(trueRank(sorted, s.quantile(0.5)) - 0.5)).toBeLessThanOrEqual(
      kllNormalizedRankError(8) * 2,
    );
  });

  it("ignores NaN and refuses k outside 8..65535", () => {
    const s = sketchOf([1, NaN, 2]);
    expect(s.n).toBe(2);
    expect(() => KllSketch.create(7)).toThrow(RangeError);
    expect(() => KllSketch.create(65536)).toThrow(RangeError);
    expect(() => s.quantile(1.5)).toThrow(RangeError);
  });
});

describe("KLL refuses malformed bytes", () => {
  const good = bytesOf((sketches.find((c) => c.estimation_mode === true) as SketchCase).bytes);
  const patched = (at: number, value: number, width = 1): Uint8Array => {
    const b = good.slice();
    const view = new DataView(b.buffer);
    if (width === 1) view.setUint8(at, value);
    else if (width === 2) view.setUint16(at, value, true);
    else view.setUint32(at, value, true);
    return b;
  };

  it.each([
    ["empty input", new Uint8Array(0)],
    ["truncated preamble", good.slice(0, 12)],
    ["truncated items", good.slice(0, good.length - 8)],
    ["trailing bytes", Uint8Array.of(...good, 0)],
    ["wrong family", patched(2, 7)],
    ["wrong serial version", patched(1, 3)],
    ["wrong preamble ints", patched(0, 2)],
    ["unknown flags", patched(3, 0x10)],
    ["k below 8", patched(4, 4, 2)],
    ["min k above k", patched(16, 201, 2)],
    ["hostile level count", patched(18, 255)],
    ["levels past the capacity", patched(20, 0xffff_ffff, 4)],
    ["n that the levels do not weigh", patched(8, 12345, 4)],
    ["n past 2^53", patched(12, 0xffff_ffff, 4)],
    ["M other than 8", patched(6, 16)],
  ])("%s", (_name, bytes) => {
    expect(() => KllSketch.deserialize(bytes)).toThrow(KllFormatError);
  });

  it("a KllFormatError is a RangeError", () => {
    expect(() => KllSketch.deserialize(patched(2, 7))).toThrow(RangeError);
  });
});

describe("KS and Wasserstein from sketches match scipy", () => {
  it("has the oracle's pairs", () => {
    expect(pairs.filter((p) => p.exact).length).toBeGreaterThanOrEqual(5);
    expect(pairs.filter((p) => !p.exact).length).toBeGreaterThanOrEqual(2);
  });

  it.each(pairs.filter((p) => p.exact).map((p) => [p.name, p] as const))("exact: %s", (_n, p) => {
    const ref = sketchOf(p.reference ?? []);
    const cur = sketchOf(p.current ?? []);
    const ks = ksFromSketches(ref, cur);
    expect(within(ks.statistic, p.ks_statistic)).toBe(true);
    // ks_p_value here is kstwobign's; scipy's ks_2samp p-value is checked in monitoring-ks.test.ts.
    expect(ks.pValue).toBe(ks2sampPValue(ks.statistic, ref.n, cur.n));
    expect(ks.statisticError).toBe(0);
    const w = wassersteinFromSketches(ref, cur);
    expect(within(w.distance, p.wasserstein)).toBe(true);
    expect(w.error).toBe(0);
  });

  it.each(pairs.filter((p) => !p.exact).map((p) => [p.name, p] as const))("within the bound: %s", (_n, p) => {
    const ref = KllSketch.deserialize(bytesOf(p.reference_bytes ?? ""));
    const cur = KllSketch.deserialize(bytesOf(p.current_bytes ?? ""));
    const ks = ksFromSketches(ref, cur);
    expect(ks.statisticError).toBeCloseTo(ref.normalizedRankError() + cur.normalizedRankError(), 15);
    expect(Math.abs(ks.statistic - p.ks_statistic)).toBeLessThanOrEqual(ks.statisticError);
    expect(ks.pValue).toBe(ks2sampPValue(ks.statistic, ref.n, cur.n));
    const w = wassersteinFromSketches(ref, cur);
    expect(w.error).toBeGreaterThan(0);
    expect(Math.abs(w.distance - p.wasserstein)).toBeLessThanOrEqual(w.error);
  });

  it("gives NaN with an empty side", () => {
    const empty = KllSketch.create();
    expect(ksFromSketches(empty, sketchOf([1, 2])).statistic).toBeNaN();
    expect(wassersteinFromSketches(sketchOf([1, 2]), empty).distance).toBeNaN();
  });
});
