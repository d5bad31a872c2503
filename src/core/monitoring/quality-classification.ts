/**
 * Classification quality: a confusion matrix over label names, mergeable across minutes and
 * replicas. Accuracy is exact whatever the number of classes. At most MAX_CLASSES classes are kept
 * by name (the first by name, see keptClasses); the rest share one "other" row and column, so
 * per-class precision, recall and F1 of every kept class stay exact, and `overflowed` says that
 * the macro average covers the kept classes only.
 */
import type { Prediction } from "../canonical.js";
import {
  addOwn,
  admission,
  byName,
  getOwn,
  hasName,
  keptClasses,
  mean,
  rates,
  setOwn,
  type Counts,
  type Rates,
} from "./quality-classes.js";

type Classification = Extract<Prediction, { kind: "classification" }>;

export interface ClassificationQuality {
  /** Labeled predictions. */
  count: number;
  /** Predictions whose label equals the true label (counted before any class goes to "other"). */
  correct: number;
  /** The kept classes, sorted by name. */
  classes: string[];
  /** True class → predicted class → count, both kept. */
  matrix: Counts<Counts<number>>;
  /** True class (kept) → count predicted as a class that is not kept. */
  predicted_other: Counts<number>;
  /** Predicted class (kept) → count whose true class is not kept. */
  actual_other: Counts<number>;
  /** Neither class kept. */
  both_other: number;
  /** Some class was not kept: macro F1 covers `classes` only. */
  overflowed: boolean;
}

export function emptyClassification(): ClassificationQuality {
  return {
    count: 0,
    correct: 0,
    classes: [],
    matrix: {},
    predicted_other: {},
    actual_other: {},
    both_other: 0,
    overflowed: false,
  };
}

/** A cell of the matrix; null is "other". */
type Cell = [actual: string | null, predicted: string | null, count: number];

function* cells(q: ClassificationQuality): Generator<Cell> {
  for (const actual of Object.keys(q.matrix)) {
    const row = getOwn(q.matrix, actual) ?? {};
    for (const predicted of Object.keys(row)) yield [actual, predicted, getOwn(row, predicted) ?? 0];
  }
  for (const a of Object.keys(q.predicted_other)) yield [a, null, getOwn(q.predicted_other, a) ?? 0];
  for (const p of Object.keys(q.actual_other)) yield [null, p, getOwn(q.actual_other, p) ?? 0];
  if (q.both_other > 0) yield [null, null, q.both_other];
}

/** Adds `n` to a cell, a class that is not kept counting as "other". */
function pour(q: ClassificationQuality, [actual, predicted, n]: Cell): void {
  const a = actual !== null && hasName(q.classes, actual) ? actual : null;
  const p = predicted !== null && hasName(q.classes, predicted) ? predicted : null;
  if (a !== null && p !== null) {
    let row = getOwn(q.matrix, a);
    if (row === undefined) setOwn(q.matrix, a, (row = {}));
    addOwn(row, p, n);
  } else if (a !== null) addOwn(q.predicted_other, a, n);
  else if (p !== null) addOwn(q.actual_other, p, n);
  else q.both_other += n;
}

/** The same counts over another set of kept classes (a subset of the cells' classes, or more). */
function refold(from: readonly ClassificationQuality[], classes: string[]): ClassificationQuality {
  const out = emptyClassification();
  out.classes = classes;
  for (const q of from) {
    out.count += q.count;
    out.correct += q.correct;
    out.overflowed ||= q.overflowed;
    for (const cell of cells(q)) pour(out, cell);
  }
  return out;
}

/** Folds a kept class into "other": its row, its column and its other-cells. */
function evict(q: ClassificationQuality, name: string): void {
  const row = getOwn(q.matrix, name);
  if (row !== undefined) {
    for (const p of Object.keys(row)) {
      const n = getOwn(row, p) ?? 0;
      if (p === name) q.both_other += n;
      else addOwn(q.actual_other, p, n);
    }
    delete q.matrix[name];
  }
  for (const a of Object.keys(q.matrix)) {
    const cells = getOwn(q.matrix, a) ?? {};
    const n = getOwn(cells, name);
    if (n === undefined) continue;
    addOwn(q.predicted_other, a, n);
    delete cells[name];
    if (Object.keys(cells).length === 0) delete q.matrix[a];
  }
  q.both_other += (getOwn(q.predicted_other, name) ?? 0) + (getOwn(q.actual_other, name) ?? 0);
  delete q.predicted_other[name];
  delete q.actual_other[name];
  q.classes = q.classes.filter((c) => c !== name);
}

function admit(q: ClassificationQuality, name: string): void {
  if (hasName(q.classes, name)) return;
  const where = admission(q.classes.length, q.classes[q.classes.length - 1], name);
  if (!where.keep || where.evict !== undefined) q.overflowed = true;
  if (!where.keep) return;
  if (where.evict !== undefined) evict(q, where.evict);
  q.classes = [...q.classes, name].sort(byName);
}

/** Counts one labeled prediction into `q` (in place) and returns it. */
export function addClassification(
  q: ClassificationQuality,
  prediction: Classification,
  label: Classification,
): ClassificationQuality {
  admit(q, label.label);
  admit(q, prediction.label);
  q.count += 1;
  if (prediction.label === label.label) q.correct += 1;
  pour(q, [label.label, prediction.label, 1]);
  return q;
}

/** The exact merge of two aggregates (neither is changed): the same whatever the order or split. */
export function mergeClassification(
  a: ClassificationQuality,
  b: ClassificationQuality,
): ClassificationQuality {
  return mergeClassifications([a, b]);
}

/** Many aggregates at once (a window's minutes), each poured once into one matrix. */
export function mergeClassifications(parts: readonly ClassificationQuality[]): ClassificationQuality {
  const names = new Set<string>();
  for (const p of parts) for (const c of p.classes) names.add(c);
  const classes = keptClasses(names);
  const merged = refold(parts, classes);
  if (classes.length < names.size) merged.overflowed = true;
  return merged;
}

export interface ClassificationMetrics {
  count: number;
  /** null when nothing is labeled. */
  accuracy: number | null;
  /** Per kept class, as scikit-learn's classification_report with zero_division left at its default. */
  per_class: Counts<Rates>;
  /** Mean F1 over the kept classes (scikit-learn's f1_score average="macro"); null with none. */
  macro_f1: number | null;
  overflowed: boolean;
}

export function classificationMetrics(q: ClassificationQuality): ClassificationMetrics {
  const perClass: Counts<Rates> = {};
  for (const c of q.classes) {
    const row = getOwn(q.matrix, c) ?? {};
    const tp = getOwn(row, c) ?? 0;
    let rowSum = getOwn(q.predicted_other, c) ?? 0;
    for (const p of Object.keys(row)) rowSum += getOwn(row, p) ?? 0;
    let columnSum = getOwn(q.actual_other, c) ?? 0;
    for (const a of Object.keys(q.matrix)) columnSum += getOwn(getOwn(q.matrix, a) ?? {}, c) ?? 0;
    setOwn(perClass, c, rates(tp, columnSum - tp, rowSum - tp));
  }
  return {
    count: q.count,
    accuracy: q.count > 0 ? q.correct / q.count : null,
    per_class: perClass,
    macro_f1: mean(q.classes.map((c) => getOwn(perClass, c)?.f1 ?? 0)),
    overflowed: q.overflowed,
  };
}
