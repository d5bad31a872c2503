/**
 * Drift of a window against a reference: per field the baseline's method and threshold, the share
 * of drifted input fields (dataset drift), and the prediction field's drift. Bin-based methods use
 * exact counts when the window was counted on the reference's edges, and otherwise estimate the
 * counts from the window's quantile sketch (the field is then marked approximate). KS and
 * Wasserstein come from the two sketches, within their stated error.
 */
import { alignCategories, type CategoryCounts } from "./bins.js";
import type { Baseline, BaselineField } from "./baseline.js";
import { chiSquare, DRIFT_METHODS, hellinger, isDrifted, jensenShannon, lInfinity, psi } from "./drift.js";
import type { DriftMethodName, FieldKind } from "./drift.js";
import { KllSketch } from "./kll.js";
import type { Profile } from "./profile.js";
import { ksFromSketches, wassersteinFromSketches } from "./sketch-drift.js";
import { std } from "./summary.js";

export interface FieldDrift {
  field: string;
  kind: FieldKind;
  method: DriftMethodName;
  /** The method's score: a p-value for KS and χ², a distance otherwise; null when not computable. */
  score: number | null;
  threshold: number;
  drifted: boolean;
  /** Values on each side (numbers for numeric fields, categories for categorical ones). */
  reference: number;
  current: number;
  missing: number;
  mismatches: number;
  /** At least the reference's min_count current values: below it nothing is marked drifted. */
  enough: boolean;
  /** Bins estimated from the sketch, or a sketch-based method: `error` bounds the score's error. */
  approximate: boolean;
  error: number | null;
}

export interface DriftResult {
  baseline: string;
  captures: number;
  instances: number;
  min_count: number;
  fields: FieldDrift[];
  /** Input fields (features and inputs) evaluated with enough values, and how many drifted. */
  input_fields: number;
  drifted_inputs: number;
  /** drifted_inputs / input_fields (null when none could be evaluated). */
  drift_share: number | null;
  dataset_drift: boolean;
  /** The reference's dataset drift share: dataset drift when drift_share is at least this. */
  dataset_drift_threshold: number;
  prediction: FieldDrift | null;
}

/** Fields that describe the model's input: dataset drift is their drifted share. */
export function isInputField(name: string): boolean {
  return name.startsWith("feature.") || name.startsWith("input.") || name === "llm.prompt_tokens";
}

export function evaluateDrift(reference: Baseline, current: Profile): DriftResult {
  const fields = Object.keys(reference.fields)
    .sort()
    .map((name) => evaluateField(name, reference.fields[name]!, current, reference));
  const inputs = fields.filter((f) => isInputField(f.field) && f.enough && f.score !== null);
  const drifted = inputs.filter((f) => f.drifted).length;
  const share = inputs.length > 0 ? drifted / inputs.length : null;
  return {
    baseline: reference.id,
    captures: current.captures,
    instances: current.instances,
    min_count: reference.min_count,
    fields,
    input_fields: inputs.length,
    drifted_inputs: drifted,
    drift_share: share,
    dataset_drift: share !== null && share >= reference.dataset_drift_share,
    dataset_drift_threshold: reference.dataset_drift_share,
    prediction: fields.find((f) => f.field === reference.prediction_field) ?? null,
  };
}

function evaluateField(name: string, ref: BaselineField, current: Profile, baseline: Baseline): FieldDrift {
  const cur = current.get(name);
  const method = DRIFT_METHODS[ref.method];
  const summary = cur?.summary;
  const out: FieldDrift = {
    field: name,
    kind: ref.kind,
    method: ref.method,
    score: null,
    threshold: ref.threshold,
    drifted: false,
    reference: ref.count,
    current: 0,
    missing: summary?.missing ?? 0,
    mismatches: summary?.mismatches ?? 0,
    enough: false,
    approximate: method.from === "sketch",
    error: null,
  };
  if (ref.kind === "categorical") {
    const counts = cur?.categories;
    out.current = counts ? totalOf(counts) : 0;
    // Numbers where categories are expected are counted as categories when the profile knew the
    // kind; otherwise they are type mismatches.
    if (!counts || current.baseline !== baseline.id) out.mismatches += summary?.count ?? 0;
    if (counts) out.score = binScore(ref.method, ...categoryVectors(ref, counts));
  } else {
    out.current = summary?.count ?? 0;
    out.mismatches += cur?.categories ? totalOf(cur.categories) : 0;
    const sketch = cur?.sketch;
    const refSketch = ref.sketch ? KllSketch.deserialize(Buffer.from(ref.sketch, "base64")) : undefined;
    if (method.from === "sketch") {
      if (sketch && refSketch) {
        if (ref.method === "ks") {
          const ks = ksFromSketches(refSketch, sketch);
          out.score = ks.pValue;
          out.error = ks.statisticError;
        } else {
          const w = wassersteinFromSketches(refSketch, sketch);
          const sd = ref.summary ? std(ref.summary) : NaN;
          out.score = sd > 0 ? w.distance / sd : null;
          out.error = sd > 0 ? w.error / sd : null;
        }
      }
    } else if (ref.edges && ref.bins) {
      const exact = current.baseline === baseline.id && cur?.bins?.length === ref.bins.length;
      const counts = exact ? cur!.bins! : sketch ? estimateBins(sketch, ref.edges) : undefined;
      out.approximate = !exact;
      if (counts) out.score = binScore(ref.method, ref.bins, counts);
    }
  }
  if (out.score !== null && !Number.isFinite(out.score) && out.score !== Infinity) out.score = null;
  out.enough = out.current >= baseline.min_count;
  out.drifted = out.enough && out.score !== null && isDrifted(method, out.score, ref.threshold);
  return out;
}

function totalOf(c: CategoryCounts): number {
  let n = c.other;
  for (const v of Object.values(c.counts)) n += v;
  return n;
}

function categoryVectors(ref: BaselineField, cur: CategoryCounts): [number[], number[]] {
  const reference: CategoryCounts = {
    budget: Number.MAX_SAFE_INTEGER,
    counts: Object.assign(Object.create(null), ref.categories ?? {}) as Record<string, number>,
    other: ref.other ?? 0,
  };
  const aligned = alignCategories(reference, cur);
  return [aligned.reference, aligned.current];
}

/** Counts on the edges estimated from a sketch's ranks (right-closed bins, as the exact counts). */
export function estimateBins(sketch: KllSketch, edges: readonly number[]): number[] {
  const n = sketch.n;
  const out: number[] = [];
  let below = 0;
  for (const e of edges) {
    const upTo = Math.round(sketch.rank(e, true) * n);
    out.push(Math.max(0, upTo - below));
    below = Math.max(below, upTo);
  }
  out.push(Math.max(0, n - below));
  return out;
}

function binScore(method: DriftMethodName, reference: readonly number[], current: readonly number[]): number {
  switch (method) {
    case "psi":
      return psi(reference, current);
    case "jensenshannon":
      return jensenShannon(reference, current);
    case "hellinger":
      return hellinger(reference, current);
    case "linf":
      return lInfinity(reference, current);
    case "chisquare":
      return chiSquare(reference, current).pValue;
    default:
      throw new RangeError(`${method} is not computed from bins`);
  }
}
