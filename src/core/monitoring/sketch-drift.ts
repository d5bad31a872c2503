/**
 * Two-sample KS and the 1-Wasserstein distance between a reference and a current KLL sketch, each
 * with the bound the sketches' rank error puts on it. Both read the step CDF of each sketch's
 * retained items (an exact-mode sketch retains every value, so both then equal scipy's answers on
 * the raw samples). With either side empty every answer is NaN, which never marks drift.
 */
import type { KllSketch, KllSortedView } from "./kll.js";
import { ks2sampPValue } from "./ks-pvalue.js";

export interface KsResult {
  /** D = sup over x of |F_ref(x) − F_cur(x)|. */
  statistic: number;
  /**
   * scipy.stats.ks_2samp's p-value for D with these n and m (exact path counting up to 10 000
   * values a side, kstwo beyond): for an estimation-mode sketch, scipy's p-value for the sketch's D.
   */
  pValue: number;
  /** |D − D on the raw samples| is at most this (0 when both sketches are exact). */
  statisticError: number;
}

export interface WassersteinResult {
  distance: number;
  /** |distance − the raw samples' distance| is at most this (0 when both sketches are exact). */
  error: number;
}

/** A sketch's single-sided rank error, 0 while it still holds every value. */
function rankError(s: KllSketch): number {
  return s.isEstimationMode ? s.normalizedRankError(false) : 0;
}

/**
 * Walks the union of both sketches' distinct retained items in ascending order, calling visit with
 * each item and both CDFs there (the share of weight at or below it).
 */
function walkCdfs(
  a: KllSortedView,
  b: KllSortedView,
  visit: (x: number, fa: number, fb: number) => void,
): void {
  let i = 0;
  let j = 0;
  const na = a.items.length;
  const nb = b.items.length;
  while (i < na || j < nb) {
    const x =
      j >= nb || (i < na && (a.items[i] as number) <= (b.items[j] as number))
        ? (a.items[i] as number)
        : (b.items[j] as number);
    while (i < na && a.items[i] === x) i++;
    while (j < nb && b.items[j] === x) j++;
    const fa = i === 0 ? 0 : (a.cumulativeWeights[i - 1] as number) / a.totalWeight;
    const fb = j === 0 ? 0 : (b.cumulativeWeights[j - 1] as number) / b.totalWeight;
    visit(x, fa, fb);
  }
}

export function ksFromSketches(ref: KllSketch, cur: KllSketch): KsResult {
  if (ref.isEmpty || cur.isEmpty) return { statistic: NaN, pValue: NaN, statisticError: NaN };
  let d = 0;
  walkCdfs(ref.sortedView(), cur.sortedView(), (_x, fr, fc) => {
    d = Math.max(d, Math.abs(fr - fc));
  });
  return {
    statistic: d,
    pValue: ks2sampPValue(d, ref.n, cur.n),
    statisticError: rankError(ref) + rankError(cur),
  };
}

/**
 * ∫ |F_ref(x) − F_cur(x)| dx over the step CDFs, as scipy.stats.wasserstein_distance sums it. Each
 * CDF is within its rank error of the true one at every x, and both are 0 below the smaller minimum
 * and 1 above the larger maximum (exact in a sketch), so the error is at most
 * (ε_ref + ε_cur) · (max − min) over both sketches.
 */
export function wassersteinFromSketches(ref: KllSketch, cur: KllSketch): WassersteinResult {
  if (ref.isEmpty || cur.isEmpty) return { distance: NaN, error: NaN };
  let distance = 0;
  let previous = NaN;
  let gap = 0;
  walkCdfs(ref.sortedView(), cur.sortedView(), (x, fr, fc) => {
    if (!Number.isNaN(previous)) distance += gap * (x - previous);
    previous = x;
    gap = Math.abs(fr - fc);
  });
  const span = Math.max(ref.max, cur.max) - Math.min(ref.min, cur.min);
  return { distance, error: (rankError(ref) + rankError(cur)) * span };
}
