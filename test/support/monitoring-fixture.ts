/** test/fixtures/monitoring/drift.json (made by tools/oracle/drift_fixtures.py) and its 1e-9 match. */
import fs from "node:fs";

/** JSON has no NaN or Infinity: the oracle writes them as strings. */
export type Num = number | "NaN" | "Infinity" | "-Infinity";

export interface DriftCase {
  name: string;
  reference: number[];
  current: number[];
  expected: {
    psi: Num;
    jensenshannon: Num;
    hellinger: Num;
    linf: Num;
    chisquare: { statistic: Num; dof: Num; p_value: Num };
  };
}

export interface BinCase {
  name: string;
  bins: number;
  reference: number[];
  current: number[];
  expected: { edges: number[]; counts: number[] };
}

export interface SummaryCase {
  name: string;
  values: unknown[];
  /** Where the values are cut into chunks that the test folds apart and merges. */
  splits: number[];
  expected: {
    count: number;
    missing: number;
    mismatches: number;
    mean: number;
    var_population: Num;
    var_sample: Num;
    min: number | null;
    max: number | null;
  };
}

export interface MonitoringFixture {
  numpy: string;
  scipy: string;
  drift: DriftCase[];
  bins: BinCase[];
  summaries: SummaryCase[];
}

export const monitoringFixture = JSON.parse(
  fs.readFileSync(new URL("../fixtures/monitoring/drift.json", import.meta.url), "utf8"),
) as MonitoringFixture;

export const num = (x: Num): number => (typeof x === "number" ? x : Number(x));

/** The tolerance: 1e-9, absolute below 1 and relative above; NaN and ±∞ match themselves. */
export function within(actual: number, expected: number, tol = 1e-9): boolean {
  if (Number.isNaN(expected)) return Number.isNaN(actual);
  if (!Number.isFinite(expected)) return actual === expected;
  return Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected));
}

/** Relative 1e-9 for p-values, which matter far below 1. */
export function withinRelative(actual: number, expected: number, tol = 1e-9): boolean {
  if (expected === 0 || !Number.isFinite(expected)) return within(actual, expected);
  return Math.abs(actual - expected) <= tol * Math.abs(expected);
}

/** Cuts `values` at `splits`. */
export function chunks<T>(values: readonly T[], splits: readonly number[]): T[][] {
  const cuts = [0, ...splits, values.length];
  return cuts.slice(1).map((end, i) => values.slice(cuts[i], end));
}
