/**
 * A mergeable numeric summary of one field: counts, Welford's running mean and M2, min and max.
 *
 * It is a plain JSON object so a partial profile can be stored as it is and merged later, by any
 * replica, in any order: merging is Chan, Golub and LeVeque's parallel combination (1979), exact up
 * to float rounding, so a window's summary does not depend on how its partials were split.
 */

export interface NumericSummary {
  /** Finite numbers folded into the moments. */
  count: number;
  /** null, undefined or NaN: the field was there to fill and was not. */
  missing: number;
  /** A value that is not a finite number where one is expected: a string, a boolean, an object,
   * or ±Infinity (JSON's `1e999` parses to Infinity). */
  mismatches: number;
  mean: number;
  /** Sum of squared deviations from the mean (Welford's M2). */
  m2: number;
  /** null while `count` is 0 (JSON has no Infinity). */
  min: number | null;
  max: number | null;
}

export function emptySummary(): NumericSummary {
  return { count: 0, missing: 0, mismatches: 0, mean: 0, m2: 0, min: null, max: null };
}

/** Folds one observed value into `s` (in place) and returns `s`. */
export function addValue(s: NumericSummary, value: unknown): NumericSummary {
  if (value === null || value === undefined || (typeof value === "number" && Number.isNaN(value))) {
    s.missing += 1;
    return s;
  }
  if (typeof value !== "number" || !Number.isFinite(value)) {
    s.mismatches += 1;
    return s;
  }
  s.count += 1;
  const delta = value - s.mean;
  s.mean += delta / s.count;
  s.m2 += delta * (value - s.mean);
  s.min = s.min === null || value < s.min ? value : s.min;
  s.max = s.max === null || value > s.max ? value : s.max;
  return s;
}

/** The summary of both inputs' values together; neither input is changed. */
export function mergeSummaries(a: NumericSummary, b: NumericSummary): NumericSummary {
  const missing = a.missing + b.missing;
  const mismatches = a.mismatches + b.mismatches;
  if (b.count === 0) return { ...a, missing, mismatches };
  if (a.count === 0) return { ...b, missing, mismatches };
  const count = a.count + b.count;
  const delta = b.mean - a.mean;
  return {
    count,
    missing,
    mismatches,
    mean: a.mean + (delta * b.count) / count,
    m2: a.m2 + b.m2 + (delta * delta * a.count * b.count) / count,
    min: Math.min(a.min!, b.min!),
    max: Math.max(a.max!, b.max!),
  };
}

/** Every value offered: counted, missing or mismatched. */
export function observed(s: NumericSummary): number {
  return s.count + s.missing + s.mismatches;
}

/**
 * `population` divides M2 by n (numpy's default, ddof=0); `sample` by n − 1 (ddof=1). NaN when
 * there are too few values (n < 1, or n < 2 for `sample`).
 */
export type VarianceKind = "population" | "sample";

export function variance(s: NumericSummary, kind: VarianceKind = "population"): number {
  const dof = kind === "population" ? s.count : s.count - 1;
  return dof > 0 ? s.m2 / dof : Number.NaN;
}

export function std(s: NumericSummary, kind: VarianceKind = "population"): number {
  return Math.sqrt(variance(s, kind));
}
