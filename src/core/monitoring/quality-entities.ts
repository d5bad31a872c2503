/**
 * NER quality: per entity type, true positives, false positives and false negatives under strict
 * matching (a predicted entity counts only if a true one has the same start, end and type). This is
 * seqeval's strict mode with the IOB2 scheme: IOB2 tags encode exactly a set of non-overlapping
 * typed spans, and strict mode counts a span right only when its type and both its ends are
 * (test/fixtures/monitoring checks it against seqeval). Spans are sets: a duplicate counts once.
 * Micro totals stay exact whatever the number of types; at most MAX_CLASSES types are kept by name.
 */
import type { Entity, Prediction } from "../canonical.js";
import {
  admitted,
  byName,
  getOwn,
  keptClasses,
  mean,
  rates,
  setOwn,
  type Counts,
  type Rates,
} from "./quality-classes.js";

type Entities = Extract<Prediction, { kind: "entities" }>;

export interface EntityCounts {
  tp: number;
  fp: number;
  fn: number;
}

export interface EntityQuality {
  /** Texts (label and prediction pairs) counted. */
  texts: number;
  /** Over every type, kept or not. */
  total: EntityCounts;
  /** Type → counts; at most MAX_CLASSES, the first by name. */
  types: Counts<EntityCounts>;
  /** Some type was not kept: the macro average covers the kept types only. */
  overflowed: boolean;
}

export function emptyEntities(): EntityQuality {
  return { texts: 0, total: { tp: 0, fp: 0, fn: 0 }, types: {}, overflowed: false };
}

function spans(entities: readonly Entity[]): Map<string, string> {
  return new Map(entities.map((e) => [JSON.stringify([e.start, e.end, e.label]), e.label]));
}

function typeFor(q: EntityQuality, name: string): EntityCounts | undefined {
  return admitted(q, q.types, name, () => ({ tp: 0, fp: 0, fn: 0 }));
}

function count(q: EntityQuality, type: string, field: keyof EntityCounts): void {
  q.total[field] += 1;
  const c = typeFor(q, type);
  if (c) c[field] += 1;
}

/** Counts one text's predicted entities against its label into `q` (in place) and returns it. */
export function addEntities(q: EntityQuality, prediction: Entities, label: Entities): EntityQuality {
  q.texts += 1;
  const predicted = spans(prediction.entities);
  const truths = spans(label.entities);
  for (const [key, type] of predicted) count(q, type, truths.has(key) ? "tp" : "fp");
  for (const [key, type] of truths) if (!predicted.has(key)) count(q, type, "fn");
  return q;
}

export function mergeEntities(a: EntityQuality, b: EntityQuality): EntityQuality {
  const names = new Set([...Object.keys(a.types), ...Object.keys(b.types)]);
  const kept = keptClasses(names);
  const types: Counts<EntityCounts> = {};
  for (const name of kept) {
    const x = getOwn(a.types, name) ?? { tp: 0, fp: 0, fn: 0 };
    const y = getOwn(b.types, name) ?? { tp: 0, fp: 0, fn: 0 };
    setOwn(types, name, { tp: x.tp + y.tp, fp: x.fp + y.fp, fn: x.fn + y.fn });
  }
  return {
    texts: a.texts + b.texts,
    total: { tp: a.total.tp + b.total.tp, fp: a.total.fp + b.total.fp, fn: a.total.fn + b.total.fn },
    types,
    overflowed: a.overflowed || b.overflowed || kept.length < names.size,
  };
}

export interface EntityMetrics {
  texts: number;
  per_type: Counts<Rates>;
  /** From the summed counts (seqeval's micro avg), exact whatever the number of types. */
  micro: Rates;
  /** Means over the kept types (seqeval's macro avg); null with none. */
  macro: { precision: number; recall: number; f1: number } | null;
  overflowed: boolean;
}

export function entityMetrics(q: EntityQuality): EntityMetrics {
  const perType: Counts<Rates> = {};
  const all: Rates[] = [];
  for (const name of Object.keys(q.types).sort(byName)) {
    const c = getOwn(q.types, name);
    if (!c) continue;
    const r = rates(c.tp, c.fp, c.fn);
    setOwn(perType, name, r);
    all.push(r);
  }
  const f1 = mean(all.map((r) => r.f1));
  return {
    texts: q.texts,
    per_type: perType,
    micro: rates(q.total.tp, q.total.fp, q.total.fn),
    macro:
      f1 === null
        ? null
        : {
            precision: mean(all.map((r) => r.precision)) ?? 0,
            recall: mean(all.map((r) => r.recall)) ?? 0,
            f1,
          },
    overflowed: q.overflowed,
  };
}
