/**
 * Object detection quality: mAP@0.5 by COCO's rule, mergeable. Each image's predictions are matched
 * to its ground-truth boxes as pycocotools' COCOeval.evaluateImg does at IoU 0.5 (per class, in
 * descending score order, each prediction taking the unmatched ground truth of highest IoU ≥ 0.5,
 * at most MAX_DETECTIONS per image and class; there is no crowd flag in the canonical schema, so
 * nothing is ignored). What is kept per class is the ground-truth count and, per score bin, how many
 * predictions were true and false positives: merging adds them up, exactly and in any order.
 *
 * The approximation: scores are rounded to the nearest 1/SCORE_BINS, and the precision-recall curve
 * is read at the end of each bin. When no two predictions of a class share a bin (in particular
 * when scores are distinct multiples of 1/1000), AP equals pycocotools' (test/fixtures/monitoring).
 * When they do, pycocotools orders ties by image id; here a bin counts as if its false positives came
 * first, the lowest AP any order of the ties gives, and the same on every replica.
 */
import type { Box, Prediction, Xyxy } from "../canonical.js";
import { admitted, byName, getOwn, keptClasses, mean, setOwn, type Counts } from "./quality-classes.js";

type Detection = Extract<Prediction, { kind: "detection" }>;

/** Scores are rounded to the nearest 1/SCORE_BINS: bins 0..SCORE_BINS. */
export const SCORE_BINS = 1000;
export const IOU_THRESHOLD = 0.5;
/** COCOeval's maxDets for AP: the highest-scored 100 predictions per image and class count. */
export const MAX_DETECTIONS = 100;

export interface DetectionClass {
  ground_truth: number;
  /** Score bin → [true positives, false positives]. */
  bins: Counts<[number, number]>;
}

export interface DetectionQuality {
  /** Images (label and prediction pairs) counted. */
  images: number;
  /** Class → counts; at most MAX_CLASSES, the first by name. */
  classes: Counts<DetectionClass>;
  /** Some class was not kept: mAP covers the kept classes only. */
  overflowed: boolean;
}

export function emptyDetection(): DetectionQuality {
  return { images: 0, classes: {}, overflowed: false };
}

/** COCO's box IoU: areas are w×h (no +1), and boxes that only touch have none. */
export function boxIou(a: Xyxy, b: Xyxy): number {
  const w = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const h = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (w <= 0 || h <= 0) return 0;
  const inter = w * h;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

/** A prediction without a score is taken at its word: it ranks as 1. */
export function scoreOf(box: Pick<Box, "score">): number {
  return box.score ?? 1;
}

export interface Match<P> {
  prediction: P;
  /** Index of the ground truth it matched, or -1. */
  truth: number;
  iou: number;
}

/**
 * COCOeval.evaluateImg's greedy matching for one image and class: predictions by descending score
 * (ties in their given order), the first MAX_DETECTIONS, each taking the unmatched ground truth with
 * the highest IoU ≥ threshold (the last one on a tie, as pycocotools' loop does).
 */
export function matchGreedy<P extends Pick<Box, "score">, G>(
  predictions: readonly P[],
  truths: readonly G[],
  iou: (p: P, g: G) => number,
  threshold = IOU_THRESHOLD,
): Match<P>[] {
  const ranked = predictions
    .map((p, i) => ({ p, i }))
    .sort((x, y) => scoreOf(y.p) - scoreOf(x.p) || x.i - y.i)
    .slice(0, MAX_DETECTIONS);
  const taken = new Array<boolean>(truths.length).fill(false);
  return ranked.map(({ p }) => {
    let best = -1;
    let bestIou = Math.min(threshold, 1 - 1e-10);
    truths.forEach((g, gi) => {
      if (taken[gi]) return;
      const o = iou(p, g);
      if (o < bestIou) return;
      bestIou = o;
      best = gi;
    });
    if (best >= 0) taken[best] = true;
    return { prediction: p, truth: best, iou: best >= 0 ? bestIou : 0 };
  });
}

export function groupByLabel<T extends { label: string }>(items: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const group = groups.get(item.label);
    if (group) group.push(item);
    else groups.set(item.label, [item]);
  }
  return groups;
}

export function scoreBin(score: number): string {
  return String(Math.min(SCORE_BINS, Math.max(0, Math.round(score * SCORE_BINS))));
}

/** The class's counts, created if the class is kept; undefined when it goes to "other". */
function classFor(q: DetectionQuality, name: string): DetectionClass | undefined {
  return admitted(q, q.classes, name, () => ({ ground_truth: 0, bins: {} }));
}

/** Counts one image's prediction against its label into `q` (in place) and returns it. */
export function addDetection(q: DetectionQuality, prediction: Detection, label: Detection): DetectionQuality {
  q.images += 1;
  const predicted = groupByLabel(prediction.boxes);
  const truths = groupByLabel(label.boxes);
  for (const name of new Set([...predicted.keys(), ...truths.keys()])) {
    const c = classFor(q, name);
    if (c === undefined) continue;
    const gts = truths.get(name) ?? [];
    c.ground_truth += gts.length;
    for (const m of matchGreedy(predicted.get(name) ?? [], gts, (p, g) => boxIou(p.xyxy, g.xyxy))) {
      const bin = scoreBin(scoreOf(m.prediction));
      const counts = getOwn(c.bins, bin) ?? [0, 0];
      counts[m.truth >= 0 ? 0 : 1] += 1;
      setOwn(c.bins, bin, counts);
    }
  }
  return q;
}

export function mergeDetection(a: DetectionQuality, b: DetectionQuality): DetectionQuality {
  return mergeDetections([a, b]);
}

/**
 * Many aggregates at once (a window's minutes): each class's bins summed in place, so a day of
 * minutes costs their size, not their size times their number as merging them pairwise would.
 */
export function mergeDetections(parts: readonly DetectionQuality[]): DetectionQuality {
  const names = new Set<string>();
  for (const p of parts) for (const name of Object.keys(p.classes)) names.add(name);
  const kept = keptClasses(names);
  const classes: Counts<DetectionClass> = {};
  for (const name of kept) {
    const merged: DetectionClass = { ground_truth: 0, bins: {} };
    for (const p of parts) {
      const part = getOwn(p.classes, name);
      if (!part) continue;
      merged.ground_truth += part.ground_truth;
      for (const bin of Object.keys(part.bins)) {
        const [tp, fp] = getOwn(part.bins, bin) ?? [0, 0];
        const sum = getOwn(merged.bins, bin);
        if (sum) {
          sum[0] += tp;
          sum[1] += fp;
        } else setOwn(merged.bins, bin, [tp, fp]);
      }
    }
    setOwn(classes, name, merged);
  }
  return {
    images: parts.reduce((n, p) => n + p.images, 0),
    classes,
    overflowed: parts.some((p) => p.overflowed) || kept.length < names.size,
  };
}

/**
 * COCO's 101-point interpolated AP of one class, from its bins (COCOeval.accumulate): precision made
 * non-increasing from the right, read at the first point whose recall reaches each threshold, 0
 * past the last; null without ground truth (COCO leaves such a class out of the mean).
 */
export function averagePrecision(c: DetectionClass): number | null {
  if (c.ground_truth === 0) return null;
  const recall: number[] = [];
  const precision: number[] = [];
  let tp = 0;
  let fp = 0;
  for (const bin of Object.keys(c.bins).sort((x, y) => Number(y) - Number(x))) {
    const [t, f] = getOwn(c.bins, bin) ?? [0, 0];
    tp += t;
    fp += f;
    recall.push(tp / c.ground_truth);
    // pycocotools adds np.spacing(1) (= Number.EPSILON) to the denominator; so do we, to agree.
    precision.push(tp / (tp + fp + Number.EPSILON));
  }
  for (let i = precision.length - 1; i > 0; i--) {
    precision[i - 1] = Math.max(precision[i - 1] ?? 0, precision[i] ?? 0);
  }
  let sum = 0;
  let at = 0;
  for (let r = 0; r <= 100; r++) {
    // np.linspace(0, 1, 101) is r × 0.01 (e.g. 0.07000000000000001), with exactly 1 last.
    const threshold = r === 100 ? 1 : r * 0.01;
    while (at < recall.length && (recall[at] ?? 0) < threshold) at++;
    if (at < recall.length) sum += precision[at] ?? 0;
  }
  return sum / 101;
}

export interface DetectionMetrics {
  images: number;
  /** Per kept class: null when it has no ground truth. */
  per_class: Counts<{ ap: number | null; ground_truth: number }>;
  /** Mean AP@0.5 over the kept classes with ground truth; null when none has any. */
  map50: number | null;
  overflowed: boolean;
}

export function detectionMetrics(q: DetectionQuality): DetectionMetrics {
  const perClass: Counts<{ ap: number | null; ground_truth: number }> = {};
  const aps: number[] = [];
  for (const name of Object.keys(q.classes).sort(byName)) {
    const c = getOwn(q.classes, name);
    if (!c) continue;
    const ap = averagePrecision(c);
    if (ap !== null) aps.push(ap);
    setOwn(perClass, name, { ap, ground_truth: c.ground_truth });
  }
  return { images: q.images, per_class: perClass, map50: mean(aps), overflowed: q.overflowed };
}
