/**
 * src/core/monitoring/ks-pvalue.ts (with kstwo.ts and smirnov.ts) against scipy.stats.ks_2samp's
 * default p-value and scipy.stats.kstwo.sf (test/fixtures/monitoring/ks.json from
 * tools/oracle/ks_fixtures.py).
 *
 * Match: |ours − scipy's| ≤ 1e-9 · scipy's (relative, so it holds for p-values far below 1 and is
 * the absolute 1e-9 near 1); below 1e-300, where scipy's own answers are subnormal and carry few
 * bits, |ours − scipy's| ≤ 1e-300.
 */
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { KllSketch } from "../../src/core/monitoring/kll.js";
import { KS_EXACT_MAX_N, ks2sampPValue } from "../../src/core/monitoring/ks-pvalue.js";
import { kstwoSf } from "../../src/core/monitoring/kstwo.js";
import { ksFromSketches } from "../../src/core/monitoring/sketch-drift.js";
import { draws } from "../support/random.js";

interface SampleCase {
  name: string;
  n: number;
  m: number;
  d: number;
  p_value: number;
  reference?: number[];
  current?: number[];
}

const fixture = JSON.parse(
  fs.readFileSync(new URL("../fixtures/monitoring/ks.json", import.meta.url), "utf8"),
) as { samples: SampleCase[]; kstwo: { x: number; n: number; sf: number }[] };

function matches(actual: number, expected: number): boolean {
  if (expected < 1e-300) return Math.abs(actual - expected) <= 1e-300;
  return Math.abs(actual - expected) <= 1e-9 * expected;
}

const sketchOf = (values: readonly number[]): KllSketch => {
  const s = KllSketch.create();
  for (const x of values) s.update(x);
  return s;
};

function timed<T>(f: () => T): { value: T; ms: number } {
  const t0 = performance.now();
  const value = f();
  return { value, ms: performance.now() - t0 };
}

describe("ks2sampPValue is scipy.stats.ks_2samp's p-value", () => {
  it("has the grid the oracle promises", () => {
    const sizes = fixture.samples.map((c) => [c.n, c.m] as const);
    expect(sizes.some(([n, m]) => n === m)).toBe(true);
    expect(sizes.some(([n, m]) => n === 90 && m === 120)).toBe(true);
    expect(sizes.some(([n, m]) => Math.max(n, m) > KS_EXACT_MAX_N)).toBe(true);
    expect(sizes.some(([n, m]) => Math.max(n, m) <= 10)).toBe(true);
    expect(fixture.samples.some((c) => c.d === 0)).toBe(true);
    expect(fixture.samples.some((c) => c.d === 1)).toBe(true);
  });

  it.each(fixture.samples.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const p = ks2sampPValue(c.d, c.n, c.m);
    expect(p, `D=${c.d}: got ${p}, scipy ${c.p_value}`).toSatisfy((v: number) => matches(v, c.p_value));
  });

  it("gives scipy's 0.056 for kll.json's 120 vs 90 pair, where Kolmogorov's limit said 0.063", () => {
    const c = fixture.samples.find((s) => s.name === "kll.json: same distribution");
    expect(c?.n).toBe(120);
    expect(ks2sampPValue(c?.d ?? NaN, 120, 90)).toBeCloseTo(0.0564071363, 9);
  });

  it("is NaN for sizes that are not positive whole numbers, or a NaN D", () => {
    expect(ks2sampPValue(0.5, 0, 3)).toBeNaN();
    expect(ks2sampPValue(0.5, 2.5, 3)).toBeNaN();
    expect(ks2sampPValue(NaN, 2, 3)).toBeNaN();
  });

  it.each([
    [7, 7],
    [90, 120],
    [200, 1000],
    [10001, 50],
    [12000, 30000],
  ])("lies in [0, 1] and never rises with D (n=%i, m=%i)", (n, m) => {
    let previous = 1;
    for (let i = 0; i <= 200; i++) {
      const p = ks2sampPValue(i / 200, n, m);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThanOrEqual(previous);
      previous = p;
    }
    expect(ks2sampPValue(0, n, m)).toBe(1);
  });
});

describe("kstwoSf is scipy.stats.kstwo.sf", () => {
  it.each(fixture.kstwo.map((c) => [`n=${c.n}, x=${c.x}`, c] as const))("%s", (_name, c) => {
    const sf = kstwoSf(c.x, c.n);
    expect(sf, `got ${sf}, scipy ${c.sf}`).toSatisfy((v: number) => matches(v, c.sf));
  });
});

describe("ksFromSketches on exact-mode sketches", () => {
  const sketchable = fixture.samples.filter((c) => c.reference && c.current);

  it("covers at least 100 pairs", () => {
    expect(sketchable.length).toBeGreaterThanOrEqual(100);
  });

  it.each(sketchable.map((c) => [c.name, c] as const))(
    "%s gives scipy's D and p on the raw samples",
    (_n, c) => {
      const ks = ksFromSketches(sketchOf(c.reference ?? []), sketchOf(c.current ?? []));
      // The sketch's CDFs are share-of-weight quotients, scipy's count quotients: D can differ in its last bit.
      expect(Math.abs(ks.statistic - c.d)).toBeLessThanOrEqual(1e-12);
      expect(ks.pValue).toSatisfy((v: number) => matches(v, c.p_value));
    },
  );
});

describe("at the sizes the monitor meets", () => {
  // The monitor evaluates hundreds of fields a minute. scipy's exact count for n ≠ m walks m
  // columns of a band 2·D·n wide: O(D·n·m), worst at 10 000 a side and D near 1. What that costs is
  // printed here and measured in `npm run bench:monitor` (window evaluation), not asserted: this
  // box's timings vary by tens of percent.
  it("the exact path at 10 000 vs 9 999 answers at a no-drift D and at D = 1", () => {
    const typical = timed(() => ks2sampPValue(0.014, 10000, 9999));
    const worst = timed(() => ks2sampPValue(1, 10000, 9999));
    console.log(`ks 10000 vs 9999: D=0.014 ${typical.ms.toFixed(1)} ms, D=1 ${worst.ms.toFixed(1)} ms`);
    expect(typical.value).toBeGreaterThan(0.2);
    expect(worst.value).toBe(0);
  });

  it("the asymptotic path answers up to a million values a side", () => {
    for (const [n, d] of [
      [250_000, 0.006],
      [1_000_000, 0.0025],
    ] as const) {
      const r = timed(() => ks2sampPValue(d, n, n));
      console.log(`ks ${n} vs ${n} at D=${d}: ${r.ms.toFixed(1)} ms`);
      expect(r.value).toBeGreaterThan(0);
      expect(r.value).toBeLessThan(0.05);
    }
  });
});

describe("KS on a sketched window stays near its nominal false-alarm rate", () => {
  // What the monitor does: an exact baseline of 1000 values (KS baselines are stored with k ≥ n)
  // against a window merged from ten minute sketches (k = 200, so estimation mode) of 3000 values.
  // The sketch's rank error pushes D up a little: over 1000 seeded pairs from one distribution,
  // p < 0.05 for 5.7% of the raw samples and 6.6% of the sketches (docs/monitoring.md). Over 300
  // pairs here: the sketched rate within 3 points of the raw one on the same pairs and under 10%,
  // and a 0.15 sd shift still caught in at least 90%. Seeded, so it never flickers; it fails if
  // merging, the sketched statistic or the p-value loses calibration.
  const TRIALS = 300;
  function rawD(a: number[], b: number[]): number {
    a.sort((x, y) => x - y);
    b.sort((x, y) => x - y);
    let i = 0;
    let j = 0;
    let d = 0;
    while (i < a.length && j < b.length) {
      const x = Math.min(a[i]!, b[j]!);
      while (i < a.length && a[i] === x) i++;
      while (j < b.length && b[j] === x) j++;
      d = Math.max(d, Math.abs(i / a.length - j / b.length));
    }
    return d;
  }
  function rejections(shiftSd: number): { raw: number; sketched: number } {
    let raw = 0;
    let sketched = 0;
    for (let t = 0; t < TRIALS; t++) {
      const { normal } = draws(70_000 + t);
      const reference = KllSketch.create(1000);
      const referenceValues: number[] = [];
      for (let i = 0; i < 1000; i++) {
        const x = normal();
        reference.update(x);
        referenceValues.push(x);
      }
      const window = KllSketch.create();
      const windowValues: number[] = [];
      for (let minute = 0; minute < 10; minute++) {
        const part = KllSketch.create();
        for (let i = 0; i < 300; i++) {
          const x = normal() + shiftSd;
          part.update(x);
          windowValues.push(x);
        }
        window.merge(part);
      }
      expect(window.isEstimationMode).toBe(true);
      if (ksFromSketches(reference, window).pValue < 0.05) sketched++;
      if (ks2sampPValue(rawD(referenceValues, windowValues), 1000, 3000) < 0.05) raw++;
    }
    return { raw: raw / TRIALS, sketched: sketched / TRIALS };
  }

  it("within 3 points of the raw samples' rate and under 10%; a 0.15 sd shift caught in 90%", () => {
    const nominal = rejections(0);
    const shifted = rejections(0.15);
    console.log(
      `KS p < 0.05 unshifted: raw ${nominal.raw}, sketched ${nominal.sketched}; shifted 0.15 sd: raw ${shifted.raw}, sketched ${shifted.sketched}`,
    );
    expect(Math.abs(nominal.sketched - nominal.raw)).toBeLessThanOrEqual(0.03);
    expect(nominal.sketched).toBeLessThan(0.1);
    expect(shifted.sketched).toBeGreaterThanOrEqual(0.9);
  }, 60_000);
});
