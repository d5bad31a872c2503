/**
 * A profile: what a set of captures looked like, per monitored field (fields.ts), in a form that
 * merges exactly and in any order. The worker writes one partial profile per (model, version,
 * minute) in the transaction that inserts the captures; the monitor folds partials into minute
 * buckets and windows into merges of buckets. Stored as plain JSON (ProfileJson).
 *
 * Per field: the numeric summary (count, missing, mismatches, Welford moments, min, max), a KLL
 * quantile sketch of the numbers, exact counts on the active baseline's bin edges, and budgeted
 * category counts (the top-K: the most frequent categories stay named, the rest count as other).
 */
import {
  addCategory,
  addToBins,
  emptyBinCounts,
  emptyCategoryCounts,
  mergeBinCounts,
  mergeCategoryCounts,
} from "./bins.js";
import type { CategoryCounts } from "./bins.js";
import type { FieldKind } from "./drift.js";
import { observeCapture, type FieldSink, type ObserveOptions, type ProfiledCapture } from "./fields.js";
import { DDSketch } from "@datadog/sketches-js";
import { KllSketch } from "./kll.js";
import { addValue, emptySummary, mergeSummaries, type NumericSummary } from "./summary.js";

export const PROFILE_VERSION = 1;
/** Distinct fields a profile holds; observations of further fields are only counted. */
export const MAX_PROFILE_FIELDS = 512;
/** Named categories per field in a profile (the top-K); the rest are counted as other. */
export const PROFILE_CATEGORY_BUDGET = 200;
/** Longer category values are cut to this many characters (and marked with …). */
export const MAX_CATEGORY_CHARS = 200;
/** The KLL sketch's k: single-sided normalized rank error about 1.33% (kll.ts). */
export const SKETCH_K = 200;

/** DDSketch's relative accuracy for the fields below: a quantile within 1% of its true value. */
export const DDSKETCH_RELATIVE_ACCURACY = 0.01;
/**
 * Latencies, token counts and lengths: long-tailed fields whose high quantiles matter (p99 latency),
 * which DDSketch (@datadog/sketches-js) answers within a relative error; the KLL sketch beside it
 * still serves the drift tests, whose error is in rank.
 */
export const DDSKETCH_FIELDS: ReadonlySet<string> = new Set([
  "route.latency_ms",
  "route.request_bytes",
  "route.response_bytes",
  "input.text_length",
  "llm.prompt_tokens",
  "llm.completion_tokens",
  "llm.ttft_ms",
  "llm.total_ms",
  "llm.completion_chars",
]);

export interface FieldProfileJson {
  summary: NumericSummary;
  /** Strings and booleans (and numbers of a field the baseline declares categorical). */
  categories?: CategoryCounts;
  /** Base64 of the KLL sketch of the numbers, in Apache DataSketches' format. */
  sketch?: string;
  /** Base64 of the DDSketch (its protobuf form) of the numbers, for DDSKETCH_FIELDS. */
  dd?: string;
  /** Exact counts of the numbers on the baseline's edges (ProfileJson.baseline). */
  bins?: number[];
}

export interface ProfileJson {
  v: number;
  captures: number;
  instances: number;
  /** The baseline whose bin edges `bins` are counted on; null when none was active. */
  baseline: string | null;
  fields: Record<string, FieldProfileJson>;
  /** Observations of fields past MAX_PROFILE_FIELDS, counted only. */
  dropped: number;
}

/** What the profile builder needs of the active baseline: its id and, per field, kind and edges. */
export interface BinPlan {
  id: string;
  fields: Readonly<Record<string, { kind: FieldKind; edges?: readonly number[] }>>;
}

interface FieldState {
  summary: NumericSummary;
  categories?: CategoryCounts;
  sketch?: KllSketch;
  dd?: DDSketch;
  bins?: number[];
}

// NUL is what Postgres' jsonb refuses, so the pattern names it on purpose.
const LONE_SURROGATE_OR_NUL =
  // eslint-disable-next-line no-control-regex
  /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]|\u0000/g;

/**
 * Text as Postgres' jsonb can store it: a lone surrogate (a cut emoji) or a NUL, which it refuses
 * (and with it the worker's whole transaction), becomes U+FFFD. Field names and categories are
 * captured data.
 */
export function storableText(text: string): string {
  return text.replace(LONE_SURROGATE_OR_NUL, "\uFFFD");
}

/** A category value cut to MAX_CATEGORY_CHARS (marked with …), storable. */
export function categoryName(value: string): string {
  return storableText(value.length > MAX_CATEGORY_CHARS ? `${value.slice(0, MAX_CATEGORY_CHARS)}…` : value);
}

/** A profile being built or merged: field states in memory, JSON in and out. */
export class Profile implements FieldSink {
  captures = 0;
  instances = 0;
  dropped = 0;
  private readonly fields = new Map<string, FieldState>();

  constructor(private binPlan: BinPlan | null = null) {}

  /** The bin plan the numbers are counted on (null once profiles on different edges were merged). */
  get plan(): BinPlan | null {
    return this.binPlan;
  }

  get baseline(): string | null {
    return this.binPlan?.id ?? null;
  }

  fieldNames(): string[] {
    return [...this.fields.keys()].sort();
  }

  /** One capture: its route fields and every instance's fields. */
  addCapture(c: ProfiledCapture, opts: ObserveOptions): void {
    this.captures += 1;
    this.instances += Array.isArray(c.analysis?.instances) ? c.analysis.instances.length : 0;
    observeCapture(c, this, opts);
  }

  value(field: string, value: unknown): void {
    if (typeof value === "string" || typeof value === "boolean") this.category(field, String(value));
    else this.numeric(field, value);
  }

  numeric(field: string, value: unknown): void {
    const f = this.field(field);
    if (!f) return;
    addValue(f.summary, value);
    if (typeof value !== "number" || !Number.isFinite(value)) return;
    (f.sketch ??= KllSketch.create(SKETCH_K)).update(value);
    if (DDSKETCH_FIELDS.has(field)) (f.dd ??= newDd()).accept(value);
    const plan = this.binPlan;
    const key = plan ? storableText(field) : field;
    const planned = plan && Object.hasOwn(plan.fields, key) ? plan.fields[key] : undefined;
    if (planned?.edges) addToBins((f.bins ??= emptyBinCounts(planned.edges)), planned.edges, value);
    if (planned?.kind === "categorical") this.countCategory(f, String(value));
  }

  category(field: string, value: string | null | undefined): void {
    const f = this.field(field);
    if (!f) return;
    if (value === null || value === undefined) f.summary.missing += 1;
    else this.countCategory(f, value);
  }

  /** Both profiles' observations together (in place); bins only when both counted the same edges. */
  merge(other: Profile): this {
    this.captures += other.captures;
    this.instances += other.instances;
    this.dropped += other.dropped;
    const sameEdges = this.baseline === other.baseline;
    for (const [name, b] of other.fields) {
      const a = this.fields.get(name);
      if (!a) {
        if (this.fields.size >= MAX_PROFILE_FIELDS) {
          this.dropped += observedIn(b);
          continue;
        }
        this.fields.set(name, cloneState(b, sameEdges));
        continue;
      }
      a.summary = mergeSummaries(a.summary, b.summary);
      if (b.categories)
        a.categories = a.categories
          ? mergeCategoryCounts(a.categories, b.categories)
          : { ...b.categories, counts: { ...b.categories.counts } };
      if (b.sketch) (a.sketch ??= KllSketch.create(SKETCH_K)).merge(b.sketch);
      if (b.dd) (a.dd ??= newDd()).merge(b.dd);
      a.bins =
        sameEdges && a.bins && b.bins
          ? mergeBinCounts(a.bins, b.bins)
          : sameEdges
            ? (a.bins ?? b.bins?.slice())
            : undefined;
    }
    if (!sameEdges) {
      for (const f of this.fields.values()) delete f.bins;
      this.binPlan = null;
    }
    return this;
  }

  toJSON(): ProfileJson {
    const fields: Record<string, FieldProfileJson> = Object.create(null) as Record<string, FieldProfileJson>;
    for (const name of this.fieldNames()) {
      const f = this.fields.get(name)!;
      const out: FieldProfileJson = { summary: f.summary };
      if (f.categories) out.categories = f.categories;
      if (f.sketch) out.sketch = Buffer.from(f.sketch.serialize()).toString("base64");
      if (f.dd) out.dd = Buffer.from(f.dd.toProto()).toString("base64");
      if (f.bins) out.bins = f.bins;
      fields[name] = out;
    }
    return {
      v: PROFILE_VERSION,
      captures: this.captures,
      instances: this.instances,
      baseline: this.baseline,
      fields,
      dropped: this.dropped,
    };
  }

  /** A profile from its JSON; throws a RangeError on a shape it does not know. */
  static fromJSON(json: ProfileJson): Profile {
    if (json.v !== PROFILE_VERSION)
      throw new RangeError(`profile version ${String(json.v)} is not ${PROFILE_VERSION}`);
    const p = new Profile(json.baseline === null ? null : { id: json.baseline, fields: {} });
    p.captures = json.captures;
    p.instances = json.instances;
    p.dropped = json.dropped;
    for (const [name, f] of Object.entries(json.fields)) {
      const state: FieldState = { summary: { ...f.summary } };
      if (f.categories)
        state.categories = {
          ...f.categories,
          counts: Object.assign(Object.create(null), f.categories.counts) as Record<string, number>,
        };
      if (f.sketch) state.sketch = KllSketch.deserialize(Buffer.from(f.sketch, "base64"));
      if (f.dd) state.dd = DDSketch.fromProto(Buffer.from(f.dd, "base64"));
      if (f.bins) state.bins = f.bins.slice();
      p.fields.set(name, state);
    }
    return p;
  }

  /** The merge of profiles (an empty profile for none). */
  static mergeAll(profiles: Iterable<Profile>): Profile {
    let out: Profile | undefined;
    for (const p of profiles) out = out ? out.merge(p) : new Profile(p.plan).merge(p);
    return out ?? new Profile();
  }

  /** The state of one field, for evaluation (read-only use). */
  get(field: string): Readonly<FieldState> | undefined {
    return this.fields.get(field);
  }

  private field(raw: string): FieldState | undefined {
    const name = storableText(raw);
    let f = this.fields.get(name);
    if (f) return f;
    if (this.fields.size >= MAX_PROFILE_FIELDS) {
      this.dropped += 1;
      return undefined;
    }
    f = { summary: emptySummary() };
    this.fields.set(name, f);
    return f;
  }

  private countCategory(f: FieldState, value: string): void {
    addCategory((f.categories ??= emptyCategoryCounts(PROFILE_CATEGORY_BUDGET)), categoryName(value));
  }
}

function cloneState(s: FieldState, keepBins: boolean): FieldState {
  const out: FieldState = { summary: { ...s.summary } };
  if (s.categories)
    out.categories = mergeCategoryCounts(emptyCategoryCounts(s.categories.budget), s.categories);
  if (s.sketch) {
    out.sketch = KllSketch.create(SKETCH_K);
    out.sketch.merge(s.sketch);
  }
  if (s.dd) {
    out.dd = newDd();
    out.dd.merge(s.dd);
  }
  if (keepBins && s.bins) out.bins = s.bins.slice();
  return out;
}

function newDd(): DDSketch {
  return new DDSketch({ relativeAccuracy: DDSKETCH_RELATIVE_ACCURACY });
}

function observedIn(s: FieldState): number {
  const categories = s.categories
    ? Object.values(s.categories.counts).reduce((a, b) => a + b, s.categories.other)
    : 0;
  return s.summary.count + s.summary.missing + s.summary.mismatches + categories;
}
