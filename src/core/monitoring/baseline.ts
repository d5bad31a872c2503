/**
 * A baseline: the reference a model's live windows are compared with. Built from raw values (a
 * window of stored captures, or a training file), it holds per field the kind, the summary, bin
 * edges at the reference's quantiles with their exact counts, category counts, a KLL sketch, and
 * the drift method and threshold (Evidently's `auto` unless the file says otherwise). Plain JSON,
 * versioned (BASELINE_FORMAT), documented in docs/monitoring.md with a schema in
 * schema/baseline-v1.schema.json.
 */
import { mulberry32 } from "../random.js";
import { countOnEdges, DEFAULT_BINS, quantileEdges } from "./bins.js";
import {
  autoDriftMethod,
  DATASET_DRIFT_SHARE,
  DRIFT_METHODS,
  type DriftMethodName,
  type FieldKind,
} from "./drift.js";
import type { FieldSink } from "./fields.js";
import { KllSketch } from "./kll.js";
import type { BinPlan } from "./profile.js";
import { categoryName, SKETCH_K, storableText } from "./profile.js";
import { addValue, emptySummary, type NumericSummary } from "./summary.js";

export const BASELINE_FORMAT = "modeltap.baseline/v1";
/** Below this many current values nothing is marked drifted (and nothing alerts). */
export const DEFAULT_MIN_COUNT = 200;
/** Raw values kept per field while a baseline is built; further values are sampled out evenly. */
export const MAX_BASELINE_VALUES = 1_000_000;
/** Named categories a baseline keeps per field; the rest are counted as other. */
export const BASELINE_CATEGORY_BUDGET = 1000;

export interface BaselineField {
  kind: FieldKind;
  /** Values counted: numbers for a numeric field, categories for a categorical one. */
  count: number;
  missing: number;
  mismatches: number;
  summary?: NumericSummary;
  /** Interior bin edges (numeric): (−∞, e1], (e1, e2], …, (ek, +∞). */
  edges?: number[];
  /** Exact counts of the reference on `edges`. */
  bins?: number[];
  categories?: Record<string, number>;
  other?: number;
  /** Base64 KLL sketch (Apache DataSketches format) of the numbers. */
  sketch?: string;
  method: DriftMethodName;
  threshold: number;
}

export type BaselineSource =
  | { kind: "window"; from: string; to: string }
  | { kind: "file"; file: string; format: string; sha256: string; target: string | null }
  | { kind: "profile"; from: string; to: string };

export interface Baseline {
  format: typeof BASELINE_FORMAT;
  id: string;
  model: string;
  /** null: every version of the model. */
  version: string | null;
  created_at: string;
  source: BaselineSource;
  captures: number;
  instances: number;
  fields: Record<string, BaselineField>;
  /** The field whose drift is the model's prediction drift (null when it has none). */
  prediction_field: string | null;
  /** Quality reached on the labeled part of the reference, by metric name. */
  quality: { labeled: number; metrics: Record<string, number> } | null;
  dataset_drift_share: number;
  min_count: number;
}

/** The preferred prediction field, by what the reference holds. */
const PREDICTION_FIELDS = [
  "prediction.label",
  "prediction.class",
  "prediction.entity_type",
  "prediction.value",
  "llm.finish_reason",
];

/** The field whose drift is the prediction drift, by what the fields hold. */
export function predictionFieldOf(fields: Readonly<Record<string, unknown>>): string | null {
  return PREDICTION_FIELDS.find((f) => Object.hasOwn(fields, f)) ?? null;
}

interface Collected {
  /** How the extractor offered the field: declared numeric or categorical, or decided by the data. */
  declared: FieldKind | "data";
  values: unknown[];
  seen: number;
}

/** A FieldSink that keeps raw values per field (bounded), to build a baseline with exact edges. */
export class ValueCollector implements FieldSink {
  captures = 0;
  instances = 0;
  readonly fields = new Map<string, Collected>();
  /** A fixed seed, so the same input gives the same baseline. */
  private readonly random = mulberry32(0x9e3779b9);

  constructor(private readonly maxValues = MAX_BASELINE_VALUES) {}

  value(field: string, value: unknown): void {
    this.keep(field, "data", value);
  }
  numeric(field: string, value: unknown): void {
    this.keep(field, "numeric", value);
  }
  category(field: string, value: string | null | undefined): void {
    this.keep(field, "categorical", value);
  }

  private keep(raw: string, declared: Collected["declared"], value: unknown): void {
    const field = storableText(raw);
    let c = this.fields.get(field);
    if (!c) {
      if (this.fields.size >= 512) return;
      c = { declared, values: [], seen: 0 };
      this.fields.set(field, c);
    }
    c.seen += 1;
    if (c.values.length < this.maxValues) c.values.push(value);
    else {
      // Reservoir sampling (Vitter's R) with a deterministic generator: an even sample of all values.
      const j = Math.floor(this.random() * c.seen);
      if (j < this.maxValues) c.values[j] = value;
    }
  }
}

export interface BaselineMeta {
  id: string;
  model: string;
  version: string | null;
  createdAt: Date;
  source: BaselineSource;
  bins?: number;
  minCount?: number;
  quality?: Baseline["quality"];
}

/** The kind of a field from how it was offered and, for data-typed fields, from its values. */
export function fieldKind(c: Pick<Collected, "declared" | "values">): FieldKind {
  if (c.declared !== "data") return c.declared;
  let numbers = 0;
  let others = 0;
  for (const v of c.values) {
    if (v === null || v === undefined) continue;
    if (typeof v === "number") numbers += 1;
    else others += 1;
  }
  return numbers >= others && numbers > 0 ? "numeric" : "categorical";
}

export function buildBaseline(collected: ValueCollector, meta: BaselineMeta): Baseline {
  const fields: Record<string, BaselineField> = Object.create(null) as Record<string, BaselineField>;
  for (const name of [...collected.fields.keys()].sort()) {
    const c = collected.fields.get(name)!;
    const field = buildField(c, fieldKind(c), meta.bins ?? DEFAULT_BINS);
    if (field) fields[name] = field;
  }
  return {
    format: BASELINE_FORMAT,
    id: meta.id,
    model: meta.model,
    version: meta.version,
    created_at: meta.createdAt.toISOString(),
    source: meta.source,
    captures: collected.captures,
    instances: collected.instances,
    fields,
    prediction_field: predictionFieldOf(fields),
    quality: meta.quality ?? null,
    dataset_drift_share: DATASET_DRIFT_SHARE,
    min_count: meta.minCount ?? DEFAULT_MIN_COUNT,
  };
}

function buildField(c: Collected, kind: FieldKind, bins: number): BaselineField | undefined {
  const summary = emptySummary();
  for (const v of c.values) {
    if (kind === "numeric" || typeof v === "number" || v === null || v === undefined) addValue(summary, v);
  }
  if (kind === "numeric") {
    if (summary.count === 0) return undefined;
    const numbers = c.values.filter((v): v is number => typeof v === "number" && Number.isFinite(v));
    const edges = quantileEdges(numbers, bins);
    const distinct = new Set(numbers).size;
    const method = autoDriftMethod("numeric", numbers.length, distinct);
    // KS is chosen for small references (≤ 1000 values): keep those exact (a KLL sketch with k at
    // least n never compacts), so only the window's sketch adds error to the KS statistic.
    const sketch = KllSketch.create(method === "ks" ? Math.max(SKETCH_K, numbers.length) : SKETCH_K);
    for (const x of numbers) sketch.update(x);
    return {
      kind,
      count: summary.count,
      missing: summary.missing,
      mismatches: summary.mismatches,
      summary,
      edges,
      bins: countOnEdges(edges, numbers),
      sketch: Buffer.from(sketch.serialize()).toString("base64"),
      method,
      threshold: DRIFT_METHODS[method].threshold,
    };
  }
  const counts = new Map<string, number>();
  let missing = 0;
  let mismatches = 0;
  for (const v of c.values) {
    if (v === null || v === undefined) missing += 1;
    else if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") {
      const name = categoryName(String(v));
      counts.set(name, (counts.get(name) ?? 0) + 1);
    } else mismatches += 1;
  }
  if (counts.size === 0) return undefined;
  const ranked = [...counts].sort(([ka, na], [kb, nb]) => nb - na || (ka < kb ? -1 : ka > kb ? 1 : 0));
  const categories = Object.create(null) as Record<string, number>;
  let other = 0;
  ranked.forEach(([k, n], i) => {
    if (i < BASELINE_CATEGORY_BUDGET) categories[k] = n;
    else other += n;
  });
  const count = ranked.reduce((s, [, n]) => s + n, 0);
  const method = autoDriftMethod("categorical", count, counts.size);
  return {
    kind,
    count,
    missing,
    mismatches,
    categories,
    other,
    method,
    threshold: DRIFT_METHODS[method].threshold,
  };
}

/** What the profile builder counts for this baseline: each field's kind and numeric edges. */
export function binPlanOf(b: Baseline): BinPlan {
  const fields: BinPlan["fields"] = Object.fromEntries(
    Object.entries(b.fields).map(([name, f]) => [
      name,
      f.edges ? { kind: f.kind, edges: f.edges } : { kind: f.kind },
    ]),
  );
  return { id: b.id, fields };
}
