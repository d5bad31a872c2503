/**
 * One mergeable quality aggregate per kind of prediction, and the headline metrics of each: the
 * monitor stores one per (model, version, minute of prediction time) and merges them into windows.
 * A pair whose prediction and label are of different kinds is counted as `mismatched`.
 */
import type { Prediction } from "../canonical.js";
import {
  addClassification,
  addDetection,
  addEntities,
  addRegression,
  addSegmentation,
  classificationMetrics,
  detectionMetrics,
  emptyClassification,
  emptyDetection,
  emptyEntities,
  emptyRegression,
  emptySegmentation,
  entityMetrics,
  mergeClassification,
  mergeClassifications,
  mergeDetection,
  mergeDetections,
  mergeEntities,
  mergeRegression,
  mergeSegmentation,
  regressionMetrics,
  segmentationMetrics,
  type ClassificationQuality,
  type DetectionQuality,
  type EntityQuality,
  type RegressionQuality,
  type SegmentationQuality,
} from "./quality.js";

export interface QualityAggregate {
  labeled: number;
  mismatched: number;
  classification?: ClassificationQuality;
  regression?: RegressionQuality;
  detection?: DetectionQuality;
  segmentation?: SegmentationQuality;
  entities?: EntityQuality;
}

export function emptyQuality(): QualityAggregate {
  return { labeled: 0, mismatched: 0 };
}

/** Counts one labeled prediction (in place). A missing prediction or a kind mismatch is `mismatched`. */
export function addLabeled(
  q: QualityAggregate,
  prediction: Prediction | null,
  label: Prediction,
): QualityAggregate {
  q.labeled += 1;
  if (!prediction || prediction.kind !== label.kind) {
    q.mismatched += 1;
    return q;
  }
  switch (prediction.kind) {
    case "classification":
      addClassification((q.classification ??= emptyClassification()), prediction, label as typeof prediction);
      break;
    case "regression":
      addRegression((q.regression ??= emptyRegression()), prediction, label as typeof prediction);
      break;
    case "detection":
      addDetection((q.detection ??= emptyDetection()), prediction, label as typeof prediction);
      break;
    case "segmentation":
      addSegmentation((q.segmentation ??= emptySegmentation()), prediction, label as typeof prediction);
      break;
    case "entities":
      addEntities((q.entities ??= emptyEntities()), prediction, label as typeof prediction);
      break;
    default:
      q.mismatched += 1;
  }
  return q;
}

/**
 * Many aggregates at once (a window's minute rows): the same as merging them pairwise in order,
 * but the confusion matrix and the detection bins are summed in one pass.
 */
export function mergeQualities(list: readonly QualityAggregate[]): QualityAggregate {
  const out = emptyQuality();
  for (const q of list) {
    out.labeled += q.labeled;
    out.mismatched += q.mismatched;
  }
  const parts = <K extends Exclude<keyof QualityAggregate, "labeled" | "mismatched">>(k: K) =>
    list.map((q) => q[k]).filter((x): x is NonNullable<QualityAggregate[K]> => x !== undefined);
  const c = parts("classification");
  const r = parts("regression");
  const d = parts("detection");
  const s = parts("segmentation");
  const e = parts("entities");
  if (c.length > 0) out.classification = c.length === 1 ? c[0] : mergeClassifications(c);
  if (r.length > 0) out.regression = r.reduce(mergeRegression);
  if (d.length > 0) out.detection = d.length === 1 ? d[0] : mergeDetections(d);
  if (s.length > 0) out.segmentation = s.reduce(mergeSegmentation);
  if (e.length > 0) out.entities = e.reduce(mergeEntities);
  return out;
}

function both<T>(a: T | undefined, b: T | undefined, merge: (x: T, y: T) => T): T | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return merge(a, b);
}

export function mergeQuality(a: QualityAggregate, b: QualityAggregate): QualityAggregate {
  const out: QualityAggregate = { labeled: a.labeled + b.labeled, mismatched: a.mismatched + b.mismatched };
  const c = both(a.classification, b.classification, mergeClassification);
  const r = both(a.regression, b.regression, mergeRegression);
  const d = both(a.detection, b.detection, mergeDetection);
  const s = both(a.segmentation, b.segmentation, mergeSegmentation);
  const e = both(a.entities, b.entities, mergeEntities);
  if (c) out.classification = c;
  if (r) out.regression = r;
  if (d) out.detection = d;
  if (s) out.segmentation = s;
  if (e) out.entities = e;
  return out;
}

/** The headline metrics, by name (what Prometheus exports as modeltap_monitor_quality{metric}). */
export function headlineMetrics(q: QualityAggregate): Record<string, number> {
  const out: Record<string, number> = {};
  const put = (name: string, v: number | null) => {
    if (v !== null && Number.isFinite(v)) out[name] = v;
  };
  if (q.classification) {
    const m = classificationMetrics(q.classification);
    put("accuracy", m.accuracy);
    put("macro_f1", m.macro_f1);
  }
  if (q.regression) {
    const m = regressionMetrics(q.regression);
    put("mse", m.mse);
    put("mae", m.mae);
  }
  if (q.detection) put("map50", detectionMetrics(q.detection).map50);
  if (q.segmentation) put("mean_mask_iou", segmentationMetrics(q.segmentation).mean_iou);
  if (q.entities) put("entity_f1", entityMetrics(q.entities).micro.f1);
  return out;
}

/**
 * Labeled instances a window needs before the shipped QualityDrop rule (docs/ops/alerts.yml) judges
 * it: below it one window's accuracy varies by about the rule's 0.05 margin (standard error 0.03 at
 * p = 0.9 with 100 labels). Kept in step with the rule by test/unit/docs-sync.test.ts.
 */
export const QUALITY_ALERT_MIN_LABELED = 100;

/** Metrics where lower is better (a quality drop is a rise). */
export const LOWER_IS_BETTER: ReadonlySet<string> = new Set(["mse", "mae"]);
