/**
 * Regression quality: sums of errors, mergeable exactly (ExactSum), so any split of the same pairs
 * gives the same MSE, MAE, RMSE and bias to the last bit. The error is prediction − truth, so a
 * positive mean error is a model that predicts too high.
 */
import type { Prediction } from "../canonical.js";
import { addToSum, mergeSums, sumValue, ZERO_SUM, type ExactSum } from "./exact-sum.js";

type Regression = Extract<Prediction, { kind: "regression" }>;

export interface RegressionQuality {
  count: number;
  sum_error: ExactSum;
  sum_abs_error: ExactSum;
  sum_squared_error: ExactSum;
  /** Pairs left out because their error or its square is not a finite double (past ~1e154). */
  skipped: number;
}

export function emptyRegression(): RegressionQuality {
  return {
    count: 0,
    sum_error: ZERO_SUM,
    sum_abs_error: ZERO_SUM,
    sum_squared_error: ZERO_SUM,
    skipped: 0,
  };
}

/** Counts one labeled prediction into `q` (in place) and returns it. */
export function addRegression(
  q: RegressionQuality,
  prediction: Regression,
  label: Regression,
): RegressionQuality {
  const error = prediction.value - label.value;
  const squared = error * error;
  if (!Number.isFinite(squared)) {
    q.skipped += 1;
    return q;
  }
  q.count += 1;
  q.sum_error = addToSum(q.sum_error, error);
  q.sum_abs_error = addToSum(q.sum_abs_error, Math.abs(error));
  q.sum_squared_error = addToSum(q.sum_squared_error, squared);
  return q;
}

export function mergeRegression(a: RegressionQuality, b: RegressionQuality): RegressionQuality {
  return {
    count: a.count + b.count,
    sum_error: mergeSums(a.sum_error, b.sum_error),
    sum_abs_error: mergeSums(a.sum_abs_error, b.sum_abs_error),
    sum_squared_error: mergeSums(a.sum_squared_error, b.sum_squared_error),
    skipped: a.skipped + b.skipped,
  };
}

export interface RegressionMetrics {
  count: number;
  /** Each null when nothing is labeled. */
  mse: number | null;
  mae: number | null;
  rmse: number | null;
  /** Mean of prediction − truth. */
  mean_error: number | null;
  skipped: number;
}

export function regressionMetrics(q: RegressionQuality): RegressionMetrics {
  const per = (sum: ExactSum): number | null => (q.count > 0 ? sumValue(sum) / q.count : null);
  const mse = per(q.sum_squared_error);
  return {
    count: q.count,
    mse,
    mae: per(q.sum_abs_error),
    rmse: mse === null ? null : Math.sqrt(mse),
    mean_error: per(q.sum_error),
    skipped: q.skipped,
  };
}
