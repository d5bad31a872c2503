/**
 * Bin-based drift between a reference and a current count vector over the same bins or categories
 * (see bins.ts), and the table of drift methods with their defaults.
 *
 * Every metric works on counts, so it is exact for any window merged from partial profiles, and it
 * matches numpy/scipy on the same counts to 1e-9 (test/fixtures/monitoring/drift.json, made by
 * tools/oracle/drift_fixtures.py). With either side empty every metric is NaN, which never alerts.
 */
import gammainc from "@stdlib/math-base-special-gammainc";

/** Proportions of each side, bins empty on both sides dropped, or undefined when a side is empty. */
function proportions(
  reference: readonly number[],
  current: readonly number[],
):
  | {
      refCounts: number[];
      curCounts: number[];
      ref: number[];
      cur: number[];
      refTotal: number;
      curTotal: number;
    }
  | undefined {
  if (reference.length !== current.length) {
    throw new RangeError(`count vectors differ in length: ${reference.length} and ${current.length}`);
  }
  const ref: number[] = [];
  const cur: number[] = [];
  for (let i = 0; i < reference.length; i++) {
    const r = reference[i]!;
    const c = current[i]!;
    if (!(r >= 0 && c >= 0)) throw new RangeError(`counts must be non-negative numbers, got ${r} and ${c}`);
    if (r === 0 && c === 0) continue;
    ref.push(r);
    cur.push(c);
  }
  const refTotal = sum(ref);
  const curTotal = sum(cur);
  if (refTotal === 0 || curTotal === 0) return undefined;
  return {
    refCounts: ref,
    curCounts: cur,
    ref: ref.map((r) => r / refTotal),
    cur: cur.map((c) => c / curTotal),
    refTotal,
    curTotal,
  };
}

/**
 * Evidently's stand-in for an empty bin's proportion (`get_binned_data`, `feel_zeroes`): a
 * millionth of the smallest non-zero proportion when that is at most 1e-4, else 1e-4. Applied to
 * each side apart, proportions not renormalised.
 */
export function psiEpsilon(props: readonly number[]): number {
  const smallest = Math.min(...props.filter((p) => p > 0));
  return smallest <= 1e-4 ? smallest / 1e6 : 1e-4;
}

/**
 * Population Stability Index, Σ (r − c) · ln(r / c) over proportions, with Evidently's epsilon
 * for empty bins (bins empty on both sides are dropped first: they carry no information).
 */
export function psi(reference: readonly number[], current: readonly number[]): number {
  const p = proportions(reference, current);
  if (!p) return Number.NaN;
  const fill = (props: number[]) => {
    const eps = psiEpsilon(props);
    return props.map((x) => (x === 0 ? eps : x));
  };
  const r = fill(p.ref);
  const c = fill(p.cur);
  return sum(r.map((ri, i) => (ri - c[i]!) * Math.log(ri / c[i]!)));
}

/**
 * Jensen-Shannon distance with the natural logarithm, as scipy.spatial.distance.jensenshannon's
 * default and Evidently's `jensenshannon` (base=None): √(½ KL(p‖m) + ½ KL(q‖m)), m = (p + q)/2,
 * between 0 and √ln 2 ≈ 0.8326. No epsilon: an empty bin contributes 0.
 */
export function jensenShannon(reference: readonly number[], current: readonly number[]): number {
  const p = proportions(reference, current);
  if (!p) return Number.NaN;
  const m = p.ref.map((r, i) => (r + p.cur[i]!) / 2);
  const left = sum(p.ref.map((r, i) => relEntr(r, m[i]!)));
  const right = sum(p.cur.map((c, i) => relEntr(c, m[i]!)));
  return Math.sqrt((left + right) / 2);
}

/**
 * Hellinger distance, √(½ Σ (√p − √q)²), between 0 and 1. Equal to Evidently's categorical
 * √(1 − Σ √(p·q)), in a form that does not cancel near 0.
 */
export function hellinger(reference: readonly number[], current: readonly number[]): number {
  const p = proportions(reference, current);
  if (!p) return Number.NaN;
  const d = sum(p.ref.map((r, i) => (Math.sqrt(r) - Math.sqrt(p.cur[i]!)) ** 2));
  return Math.min(1, Math.sqrt(d / 2));
}

/** L∞ distance: the largest absolute difference of proportions (Vertex AI's categorical distance). */
export function lInfinity(reference: readonly number[], current: readonly number[]): number {
  const p = proportions(reference, current);
  if (!p) return Number.NaN;
  return Math.max(...p.ref.map((r, i) => Math.abs(r - p.cur[i]!)));
}

export interface ChiSquareResult {
  statistic: number;
  /** k − 1 over the k bins not empty on both sides. */
  dof: number;
  pValue: number;
}

/**
 * Pearson's χ² goodness of fit of the current counts against the reference proportions, as
 * Evidently's `chisquare` (scipy.stats.chisquare(f_obs=current, f_exp=reference · n_cur/n_ref)).
 * A bin the reference never saw that the current fills makes the statistic +∞ and p 0, as scipy.
 * With one bin (dof 0) the distributions are equal: statistic 0, p 1 (scipy gives NaN).
 */
export function chiSquare(reference: readonly number[], current: readonly number[]): ChiSquareResult {
  const p = proportions(reference, current);
  if (!p) return { statistic: Number.NaN, dof: Number.NaN, pValue: Number.NaN };
  const dof = p.ref.length - 1;
  if (dof === 0) return { statistic: 0, dof, pValue: 1 };
  const scale = p.curTotal / p.refTotal;
  const statistic = sum(
    p.refCounts.map((r, i) => {
      const expected = r * scale;
      const observed = p.curCounts[i]!;
      return expected === 0 ? Number.POSITIVE_INFINITY : (observed - expected) ** 2 / expected;
    }),
  );
  return { statistic, dof, pValue: chiSquareSf(statistic, dof) };
}

/** P(X ≥ x) for χ² with `dof` degrees of freedom: the upper regularised incomplete gamma
 * Q(dof/2, x/2), computed directly so small p-values keep their precision (1 − cdf would not). */
export function chiSquareSf(x: number, dof: number): number {
  if (Number.isNaN(x) || !(dof > 0)) return Number.NaN;
  if (x === Number.POSITIVE_INFINITY) return 0;
  if (x <= 0) return 1;
  return gammainc(x / 2, dof / 2, true, true);
}

function relEntr(x: number, y: number): number {
  if (x === 0) return 0;
  return x * Math.log(x / y);
}

function sum(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}

export type FieldKind = "numeric" | "categorical";
export type DriftMethodName =
  "ks" | "wasserstein" | "chisquare" | "jensenshannon" | "psi" | "hellinger" | "linf";

export interface DriftMethod {
  name: DriftMethodName;
  /** `greater_is_drift`: drifted when score ≥ threshold; `p_below`: drifted when p < threshold. */
  direction: "greater_is_drift" | "p_below";
  /** The default, overridable per field in the baseline. */
  threshold: number;
  fields: readonly FieldKind[];
  /** Exact from bin counts, or from the quantile sketch within its stated error. */
  from: "bins" | "sketch";
  /** Where the method and its default come from. */
  source: string;
}

const EVIDENTLY = "Evidently, src/evidently/legacy/calculations/stattests/";

/** Every drift method, with its default threshold and its source. docs/monitoring.md mirrors it. */
export const DRIFT_METHODS: Readonly<Record<DriftMethodName, DriftMethod>> = {
  ks: {
    name: "ks",
    direction: "p_below",
    threshold: 0.05,
    fields: ["numeric"],
    from: "sketch",
    source: `${EVIDENTLY}ks_stattest.py (two-sample KS p-value, StatTest default 0.05)`,
  },
  wasserstein: {
    name: "wasserstein",
    direction: "greater_is_drift",
    threshold: 0.1,
    fields: ["numeric"],
    from: "sketch",
    source: `${EVIDENTLY}wasserstein_distance_norm.py (distance / reference std, default 0.1)`,
  },
  chisquare: {
    name: "chisquare",
    direction: "p_below",
    threshold: 0.05,
    fields: ["categorical", "numeric"],
    from: "bins",
    source: `${EVIDENTLY}chisquare_stattest.py (scipy.stats.chisquare p-value, StatTest default 0.05)`,
  },
  jensenshannon: {
    name: "jensenshannon",
    direction: "greater_is_drift",
    threshold: 0.1,
    fields: ["categorical", "numeric"],
    from: "bins",
    source: `${EVIDENTLY}jensenshannon.py (scipy distance, natural log, default 0.1)`,
  },
  psi: {
    name: "psi",
    direction: "greater_is_drift",
    threshold: 0.1,
    fields: ["categorical", "numeric"],
    from: "bins",
    source: `${EVIDENTLY}psi.py (default 0.1; epsilon from utils.py get_binned_data)`,
  },
  hellinger: {
    name: "hellinger",
    direction: "greater_is_drift",
    threshold: 0.1,
    fields: ["categorical", "numeric"],
    from: "bins",
    source: `${EVIDENTLY}hellinger_distance.py (default 0.1)`,
  },
  linf: {
    name: "linf",
    direction: "greater_is_drift",
    threshold: 0.1,
    fields: ["categorical", "numeric"],
    from: "bins",
    source:
      "Vertex AI Model Monitoring (ThresholdConfig: L-infinity for categorical features; no default there)",
  },
};

/** Dataset drift: the share of drifted fields at or above which the dataset has drifted (Evidently). */
export const DATASET_DRIFT_SHARE = 0.5;
/** Evidently's `auto`: a reference of at most this many values is a small sample. */
export const SMALL_SAMPLE_MAX = 1000;
/** Evidently's `auto`: a numeric field with at most this many distinct values is treated as categorical. */
export const FEW_VALUES_MAX = 5;

/**
 * Evidently's `auto` choice (registry.py `_get_default_stattest`) from the reference alone, so the
 * method is fixed in the baseline: small samples KS or χ², large ones Wasserstein or
 * Jensen-Shannon; a numeric field with few distinct values is tested as categorical. Evidently
 * uses a Z-test for two categories in small samples; modeltap uses χ² there too.
 */
export function autoDriftMethod(
  kind: FieldKind,
  referenceCount: number,
  distinctValues: number,
): DriftMethodName {
  const small = referenceCount <= SMALL_SAMPLE_MAX;
  if (kind === "categorical" || distinctValues <= FEW_VALUES_MAX)
    return small ? "chisquare" : "jensenshannon";
  return small ? "ks" : "wasserstein";
}

/** Whether `score` means drift for `method` (NaN never does). */
export function isDrifted(method: DriftMethod, score: number, threshold: number = method.threshold): boolean {
  if (Number.isNaN(score)) return false;
  return method.direction === "p_below" ? score < threshold : score >= threshold;
}
