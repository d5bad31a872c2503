/**
 * What `modeltap report` draws, as plain data: per field the baseline's and the window's counts on
 * the same bins (numeric: the baseline's edges; categorical: the union of both sides' categories),
 * and per sub-window a point of quality and LLM quantiles. Built from a profile and a baseline;
 * report.ts renders it. Every list is budgeted here, so the HTML stays bounded whatever the data.
 */
import type { Baseline, BaselineField } from "./baseline.js";
import { estimateBins, type DriftResult } from "./evaluate.js";
import type { Profile } from "./profile.js";
import { headlineMetrics, type QualityAggregate } from "./quality-aggregate.js";
import { describeFields, type FieldDescription } from "./window-result.js";

/** Histograms drawn; further fields are listed in the drift table only, and counted. */
export const MAX_REPORT_FIELDS = 60;
/** Bars per side in one histogram: more numeric bins are merged pairwise, more categories go to other. */
export const MAX_DRAWN_BINS = 40;
export const MAX_DRAWN_CATEGORIES = 20;
/** Equal-width bins for a numeric field the baseline does not have (or when there is no baseline). */
export const CURRENT_ONLY_BINS = 20;
/** Sub-windows in the over-time charts. */
export const MAX_REPORT_POINTS = 200;
/** The numeric LLM fields charted over time (p50 and p90 of each sub-window). */
export const LLM_QUANTILE_FIELDS = [
  "llm.ttft_ms",
  "llm.total_ms",
  "llm.prompt_tokens",
  "llm.completion_tokens",
];

export interface Histogram {
  field: string;
  kind: "numeric" | "categorical";
  /** Numeric: interior edges, bins (−∞, e1], (e1, e2], …, (ek, +∞). Empty for a categorical field. */
  edges: number[];
  /** Categorical: the category of each bar. */
  categories: string[];
  /** Categorical: the last bar is the other bucket (categories past the budget, either side's). */
  other: boolean;
  /** Categories folded into the other bar here, beyond the budget. */
  folded: number;
  /** The baseline's counts per bar (null: the baseline has no such field, or there is none). */
  baseline: number[] | null;
  current: number[];
  /** The window's counts were estimated from its quantile sketch (not counted on these edges). */
  estimated: boolean;
}

export interface ReportPoint {
  from: string;
  to: string;
  captures: number;
  labeled: number;
  metrics: Record<string, number>;
  /** p50 and p90 of each numeric LLM field in the sub-window, from its sketch. */
  llm: Record<string, { p50: number; p90: number }>;
  /** Share of completions matching a refusal pattern (null: no llm.refusal values). */
  refusal: number | null;
}

export interface ReportInput {
  model: string;
  version: string | null;
  window: string;
  from: string;
  to: string;
  generated_at: string;
  captures: number;
  instances: number;
  baseline: { id: string; quality: Baseline["quality"]; prediction_field: string | null } | null;
  /** Shown under the header, e.g. why there is no baseline. */
  note: string | null;
  drift: DriftResult | null;
  /** The whole window's quality (labeled instances and headline metrics). */
  quality: { labeled: number; metrics: Record<string, number> };
  fields: FieldDescription[];
  histograms: Histogram[];
  /** Fields with data that got no histogram (past MAX_REPORT_FIELDS). */
  omitted_fields: number;
  series: ReportPoint[];
}

/** One histogram per field of the baseline or the window (sorted by name, at most MAX_REPORT_FIELDS). */
export function reportHistograms(
  profile: Profile,
  baseline: Baseline | undefined,
): { histograms: Histogram[]; omitted: number } {
  const names = new Set([...profile.fieldNames(), ...Object.keys(baseline?.fields ?? {})]);
  const sorted = [...names].sort();
  const histograms: Histogram[] = [];
  for (const name of sorted.slice(0, MAX_REPORT_FIELDS)) {
    const ref = baseline && Object.hasOwn(baseline.fields, name) ? baseline.fields[name] : undefined;
    const h = ref ? againstBaseline(name, ref, profile, baseline!.id) : currentOnly(name, profile);
    if (h) histograms.push(h);
  }
  return { histograms, omitted: Math.max(0, sorted.length - MAX_REPORT_FIELDS) };
}

function againstBaseline(name: string, ref: BaselineField, profile: Profile, id: string): Histogram {
  const cur = profile.get(name);
  if (ref.kind === "categorical") {
    const counts = cur?.categories;
    return categorical(
      name,
      { counts: ref.categories ?? {}, other: ref.other ?? 0 },
      counts ? { counts: counts.counts, other: counts.other } : { counts: {}, other: 0 },
    );
  }
  const edges = ref.edges ?? [];
  const exact = profile.baseline === id && cur?.bins?.length === edges.length + 1;
  const current = exact
    ? cur!.bins!.slice()
    : cur?.sketch && cur.sketch.n > 0
      ? estimateBins(cur.sketch, edges)
      : new Array<number>(edges.length + 1).fill(0);
  const reference = ref.bins?.length === edges.length + 1 ? ref.bins.slice() : null;
  return {
    ...capBins(edges, reference, current),
    field: name,
    estimated: !exact && current.some((n) => n > 0),
  };
}

function currentOnly(name: string, profile: Profile): Histogram | undefined {
  const cur = profile.get(name);
  if (!cur) return undefined;
  if (cur.categories && !(cur.sketch && cur.sketch.n > 0))
    return { ...categorical(name, null, cur.categories), baseline: null };
  const s = cur.summary;
  if (!cur.sketch || cur.sketch.n === 0 || s.min === null || s.max === null) return undefined;
  const edges: number[] = [];
  if (s.max > s.min)
    for (let i = 1; i < CURRENT_ONLY_BINS; i++) edges.push(s.min + ((s.max - s.min) * i) / CURRENT_ONLY_BINS);
  return {
    field: name,
    kind: "numeric",
    edges,
    categories: [],
    other: false,
    folded: 0,
    baseline: null,
    current: estimateBins(cur.sketch, edges),
    estimated: true,
  };
}

/** Adjacent bins merged pairwise (dropping the edge between them) until at most MAX_DRAWN_BINS. */
function capBins(
  edges: number[],
  reference: number[] | null,
  current: number[],
): Omit<Histogram, "field" | "estimated"> {
  let e = edges.slice();
  let r = reference;
  let c = current;
  while (e.length + 1 > MAX_DRAWN_BINS) {
    e = e.filter((_, i) => i % 2 === 1);
    const pair = (v: number[]) =>
      v.reduce<number[]>((out, n, i) => {
        if (i % 2 === 0) out.push(n);
        else out[out.length - 1]! += n;
        return out;
      }, []);
    r = r && pair(r);
    c = pair(c);
  }
  return { kind: "numeric", edges: e, categories: [], other: false, folded: 0, baseline: r, current: c };
}

interface Counts {
  counts: Readonly<Record<string, number>>;
  other: number;
}

/** The categories with the largest share on either side, up to the budget; the rest in other. */
function categorical(name: string, ref: Counts | null, cur: Counts): Histogram {
  const total = (c: Counts) => Object.values(c.counts).reduce((a, b) => a + b, c.other);
  const refTotal = ref ? total(ref) : 0;
  const curTotal = total(cur);
  const share = (c: Counts | null, n: number, k: string) =>
    c && n > 0 && Object.hasOwn(c.counts, k) ? c.counts[k]! / n : 0;
  const keys = [...new Set([...Object.keys(ref?.counts ?? {}), ...Object.keys(cur.counts)])];
  const ranked = keys
    .map((k) => ({ k, s: Math.max(share(ref, refTotal, k), share(cur, curTotal, k)) }))
    .sort((a, b) => b.s - a.s || (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  const hasOther = ranked.length > MAX_DRAWN_CATEGORIES || (ref?.other ?? 0) > 0 || cur.other > 0;
  const named = ranked.slice(0, hasOther ? MAX_DRAWN_CATEGORIES - 1 : MAX_DRAWN_CATEGORIES).map((x) => x.k);
  const pick = (c: Counts, n: number) => {
    const v = named.map((k) => (Object.hasOwn(c.counts, k) ? c.counts[k]! : 0));
    if (hasOther) v.push(n - v.reduce((a, b) => a + b, 0));
    return v;
  };
  return {
    field: name,
    kind: "categorical",
    edges: [],
    categories: named,
    other: hasOther,
    folded: ranked.length - named.length,
    baseline: ref ? pick(ref, refTotal) : null,
    current: pick(cur, curTotal),
    estimated: false,
  };
}

/** One sub-window's point for the over-time charts. */
export function reportPoint(from: Date, to: Date, profile: Profile, quality: QualityAggregate): ReportPoint {
  const llm: ReportPoint["llm"] = {};
  for (const name of LLM_QUANTILE_FIELDS) {
    const sketch = profile.get(name)?.sketch;
    if (sketch && sketch.n > 0) llm[name] = { p50: sketch.quantile(0.5), p90: sketch.quantile(0.9) };
  }
  const refusals = profile.get("llm.refusal")?.categories;
  const yes = refusals && Object.hasOwn(refusals.counts, "true") ? refusals.counts.true! : 0;
  const no = refusals && Object.hasOwn(refusals.counts, "false") ? refusals.counts.false! : 0;
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    captures: profile.captures,
    labeled: quality.labeled,
    metrics: headlineMetrics(quality),
    llm,
    refusal: yes + no > 0 ? yes / (yes + no) : null,
  };
}

/** Everything the report shows of one window, from its profile, quality, baseline and drift. */
export function reportInput(args: {
  model: string;
  version: string | null;
  window: string;
  from: Date;
  to: Date;
  now: Date;
  profile: Profile;
  quality: QualityAggregate;
  baseline: Baseline | undefined;
  drift: DriftResult | null;
  note: string | null;
  series: ReportPoint[];
}): ReportInput {
  const { histograms, omitted } = reportHistograms(args.profile, args.baseline);
  const b = args.baseline;
  return {
    model: args.model,
    version: args.version,
    window: args.window,
    from: args.from.toISOString(),
    to: args.to.toISOString(),
    generated_at: args.now.toISOString(),
    captures: args.profile.captures,
    instances: args.profile.instances,
    baseline: b ? { id: b.id, quality: b.quality, prediction_field: b.prediction_field } : null,
    note: args.note,
    drift: args.drift,
    quality: { labeled: args.quality.labeled, metrics: headlineMetrics(args.quality) },
    fields: describeFields(args.profile),
    histograms,
    omitted_fields: omitted,
    series: args.series.slice(-MAX_REPORT_POINTS),
  };
}
