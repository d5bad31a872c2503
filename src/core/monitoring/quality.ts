/**
 * Model quality from ground truth, as aggregates that merge exactly and in any order, so per-minute
 * partials written by any number of workers fold into the same windows on any monitor replica
 * (issue 13). Each task has `empty…()`, `add…(aggregate, prediction, label)` (in place),
 * `merge…(a, b)` (a new aggregate; `mergeClassifications` and `mergeDetections` take many at once) and `…Metrics(aggregate)`; aggregates are plain JSON.
 * Documented in docs/monitoring.md ("Quality metrics").
 */
export * from "./quality-classes.js";
export * from "./quality-classification.js";
export * from "./quality-regression.js";
export * from "./quality-detection.js";
export * from "./quality-segmentation.js";
export * from "./quality-entities.js";
export { type ExactSum, sumValue } from "./exact-sum.js";
