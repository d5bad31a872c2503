/**
 * src/core/monitoring/summary.ts against numpy (test/fixtures/monitoring/drift.json, from
 * tools/oracle/drift_fixtures.py) to 1e-9: one pass, and chunks merged in every order.
 */
import { describe, expect, it } from "vitest";
import {
  type NumericSummary,
  addValue,
  emptySummary,
  mergeSummaries,
  observed,
  std,
  variance,
} from "../../src/core/monitoring/summary.js";
import { type SummaryCase, chunks, monitoringFixture, num, within } from "../support/monitoring-fixture.js";
import { mulberry32 } from "../support/random.js";

const fold = (values: readonly unknown[]) => values.reduce<NumericSummary>(addValue, emptySummary());

function expectMatches(s: NumericSummary, e: SummaryCase["expected"], how: string): void {
  expect([s.count, s.missing, s.mismatches], how).toEqual([e.count, e.missing, e.mismatches]);
  expect(within(s.mean, e.mean), `${how}: mean ${s.mean}, numpy ${e.mean}`).toBe(true);
  const vp = variance(s, "population");
  const vs = variance(s, "sample");
  expect(within(vp, num(e.var_population)), `${how}: population variance ${vp}`).toBe(true);
  expect(within(vs, num(e.var_sample)), `${how}: sample variance ${vs}`).toBe(true);
  expect([s.min, s.max], how).toEqual([e.min, e.max]);
}

/** Merges pairwise, as a tree of replicas would. */
function mergeTree(parts: NumericSummary[]): NumericSummary {
  if (parts.length === 1) return parts[0]!;
  const mid = parts.length >> 1;
  return mergeSummaries(mergeTree(parts.slice(0, mid)), mergeTree(parts.slice(mid)));
}

describe("numeric summaries match numpy", () => {
  const rnd = mulberry32(2026);

  it.each(monitoringFixture.summaries.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    expectMatches(fold(c.values), c.expected, "one pass");
    const parts = chunks(c.values, c.splits).map(fold);
    expectMatches(parts.reduce(mergeSummaries), c.expected, "merged left to right");
    expectMatches(
      parts.reduceRight((acc, p) => mergeSummaries(p, acc)),
      c.expected,
      "merged right to left",
    );
    expectMatches(mergeTree(parts), c.expected, "merged as a tree");
    const shuffled = [...parts].sort(() => rnd() - 0.5);
    expectMatches(shuffled.reduce(mergeSummaries), c.expected, "merged in a shuffled order");
    const stored = JSON.parse(JSON.stringify(parts)) as NumericSummary[];
    expectMatches(stored.reduce(mergeSummaries), c.expected, "merged after a JSON round trip");
  });
});

describe("a numeric summary", () => {
  it("counts NaN, null and undefined as missing, and non-numbers and ±Infinity as mismatches", () => {
    const s = fold([1, Number.NaN, null, undefined, "2", true, Infinity, -Infinity, {}, 3]);
    expect(s).toMatchObject({ count: 2, missing: 3, mismatches: 5, mean: 2, min: 1, max: 3 });
    expect(observed(s)).toBe(10);
  });

  it("has no spread before it has values, and std is the root of the variance", () => {
    const s = emptySummary();
    expect(variance(s)).toBeNaN();
    addValue(s, 5);
    expect(variance(s)).toBe(0);
    expect(variance(s, "sample")).toBeNaN();
    addValue(s, 7);
    expect(std(s)).toBe(1);
    expect(std(s, "sample")).toBeCloseTo(Math.SQRT2, 15);
  });

  it("merges with an empty one into itself, and leaves its inputs alone", () => {
    const a = fold([1, 2, 3, null]);
    const before = structuredClone(a);
    expect(mergeSummaries(a, emptySummary())).toEqual(a);
    expect(mergeSummaries({ ...emptySummary(), missing: 2 }, a)).toEqual({ ...a, missing: 3 });
    expect(a).toEqual(before);
  });
});
