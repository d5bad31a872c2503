/**
 * Instance segmentation quality: the mean mask IoU of matched instances (panoptic quality's
 * "segmentation quality"), mergeable as an exact sum of IoUs and a count of pairs. Instances are
 * matched per class as for detection (quality-detection.ts: descending score, IoU ≥ 0.5, COCO's
 * greedy rule) on mask IoU, computed from the two RLEs' runs without drawing either (O(runs), so
 * within the masks' pixel budgets by construction). When either instance has no RLE (polygons
 * only) or the sizes differ, their box IoU stands in, and the pair is counted in `box_pairs`.
 */
import type { Prediction, Rle, SegmentInstance } from "../canonical.js";
import { addToSum, mergeSums, sumValue, ZERO_SUM, type ExactSum } from "./exact-sum.js";
import { boxIou, groupByLabel, matchGreedy } from "./quality-detection.js";

type Segmentation = Extract<Prediction, { kind: "segmentation" }>;

export interface SegmentationQuality {
  /** Sum of the IoUs of matched pairs. */
  iou_sum: ExactSum;
  /** Matched (prediction, ground truth) pairs. */
  pairs: number;
  /** Matched pairs whose IoU is of boxes, for want of masks. */
  box_pairs: number;
  predictions: number;
  ground_truth: number;
}

export function emptySegmentation(): SegmentationQuality {
  return { iou_sum: ZERO_SUM, pairs: 0, box_pairs: 0, predictions: 0, ground_truth: 0 };
}

function area(counts: readonly number[]): number {
  let sum = 0;
  for (let i = 1; i < counts.length; i += 2) sum += counts[i] ?? 0;
  return sum;
}

/** IoU of two column-major COCO RLEs of the same size (pycocotools' rleIou), walking both runs. */
export function rleIou(a: Rle, b: Rle): number {
  let i = 0;
  let j = 0;
  let leftA = a.counts[0] ?? 0;
  let leftB = b.counts[0] ?? 0;
  let onA = false;
  let onB = false;
  let inter = 0;
  while (i < a.counts.length && j < b.counts.length) {
    const step = Math.min(leftA, leftB);
    if (onA && onB) inter += step;
    leftA -= step;
    leftB -= step;
    if (leftA === 0) {
      i++;
      onA = !onA;
      leftA = a.counts[i] ?? 0;
    }
    if (leftB === 0) {
      j++;
      onB = !onB;
      leftB = b.counts[j] ?? 0;
    }
  }
  const union = area(a.counts) + area(b.counts) - inter;
  return union > 0 ? inter / union : 0;
}

function sameSize(a: Rle, b: Rle): boolean {
  return a.size[0] === b.size[0] && a.size[1] === b.size[1];
}

function masked(p: SegmentInstance, g: SegmentInstance): boolean {
  return p.rle !== undefined && g.rle !== undefined && sameSize(p.rle, g.rle);
}

/** Mask IoU when both have a mask of one size, else box IoU. */
export function instanceIou(p: SegmentInstance, g: SegmentInstance): number {
  return masked(p, g) && p.rle && g.rle ? rleIou(p.rle, g.rle) : boxIou(p.xyxy, g.xyxy);
}

/** Counts IoUs of pairs matched elsewhere (precomputed) into `q` (in place) and returns it. */
export function addMatchedIous(q: SegmentationQuality, ious: readonly number[]): SegmentationQuality {
  for (const iou of ious) {
    if (!Number.isFinite(iou) || iou < 0 || iou > 1) throw new RangeError(`an IoU is in [0, 1], got ${iou}`);
    q.iou_sum = addToSum(q.iou_sum, iou);
    q.pairs += 1;
  }
  return q;
}

/** Matches one image's instances against its label and counts them into `q` (in place). */
export function addSegmentation(
  q: SegmentationQuality,
  prediction: Segmentation,
  label: Segmentation,
): SegmentationQuality {
  q.predictions += prediction.instances.length;
  q.ground_truth += label.instances.length;
  const truths = groupByLabel(label.instances);
  for (const [name, predicted] of groupByLabel(prediction.instances)) {
    const gts = truths.get(name) ?? [];
    for (const m of matchGreedy(predicted, gts, instanceIou)) {
      const truth = gts[m.truth];
      if (truth === undefined) continue;
      addMatchedIous(q, [m.iou]);
      if (!masked(m.prediction, truth)) q.box_pairs += 1;
    }
  }
  return q;
}

export function mergeSegmentation(a: SegmentationQuality, b: SegmentationQuality): SegmentationQuality {
  return {
    iou_sum: mergeSums(a.iou_sum, b.iou_sum),
    pairs: a.pairs + b.pairs,
    box_pairs: a.box_pairs + b.box_pairs,
    predictions: a.predictions + b.predictions,
    ground_truth: a.ground_truth + b.ground_truth,
  };
}

export interface SegmentationMetrics {
  /** Mean IoU of matched pairs; null with none. */
  mean_iou: number | null;
  pairs: number;
  box_pairs: number;
  predictions: number;
  ground_truth: number;
}

export function segmentationMetrics(q: SegmentationQuality): SegmentationMetrics {
  return {
    mean_iou: q.pairs > 0 ? sumValue(q.iou_sum) / q.pairs : null,
    pairs: q.pairs,
    box_pairs: q.box_pairs,
    predictions: q.predictions,
    ground_truth: q.ground_truth,
  };
}
