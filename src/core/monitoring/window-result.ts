/**
 * A window's result, as stored and shown: its drift against the reference, its quality, and a
 * short description of every field (for `modeltap drift`, the report and the metrics).
 */
import type { Baseline } from "./baseline.js";
import { evaluateDrift, type DriftResult } from "./evaluate.js";
import type { Profile } from "./profile.js";
import { headlineMetrics, type QualityAggregate } from "./quality-aggregate.js";
import { std } from "./summary.js";

export interface FieldDescription {
  field: string;
  count: number;
  missing: number;
  mean: number | null;
  std: number | null;
  min: number | null;
  max: number | null;
  /** From the DDSketch for latencies, token counts and lengths (within 1% of the value), else the
   * KLL sketch (normalized rank error 1.33% at k = 200). */
  p50: number | null;
  p90: number | null;
  p99: number | null;
  /** The most frequent categories (up to 10) and their counts. */
  top: Array<[string, number]>;
}

export interface WindowResult {
  window: string;
  from: string;
  to: string;
  captures: number;
  instances: number;
  /** Captures per second over the window. */
  rate: number;
  drift: DriftResult | null;
  /** Why drift was not evaluated (no baseline). */
  drift_skipped: string | null;
  labeled: number;
  quality: Record<string, number>;
  quality_baseline: Record<string, number> | null;
  fields: FieldDescription[];
}

export function describeFields(profile: Profile): FieldDescription[] {
  return profile.fieldNames().map((name) => {
    const f = profile.get(name)!;
    const s = f.summary;
    // DDSketch where the field has one (relative error), else KLL (rank error); within [min, max].
    const q = (r: number): number | null => {
      const v =
        f.dd && f.dd.count > 0
          ? f.dd.getValueAtQuantile(r)
          : f.sketch && f.sketch.n > 0
            ? f.sketch.quantile(r)
            : null;
      return v === null || s.min === null || s.max === null ? v : Math.min(s.max, Math.max(s.min, v));
    };
    const top = f.categories
      ? Object.entries(f.categories.counts)
          .sort(([ka, a], [kb, b]) => b - a || (ka < kb ? -1 : 1))
          .slice(0, 10)
      : [];
    return {
      field: name,
      count:
        s.count +
        (f.categories ? Object.values(f.categories.counts).reduce((a, b) => a + b, f.categories.other) : 0),
      missing: s.missing,
      mean: s.count > 0 ? s.mean : null,
      std: s.count > 0 ? std(s) : null,
      min: s.min,
      max: s.max,
      p50: q(0.5),
      p90: q(0.9),
      p99: q(0.99),
      top,
    };
  });
}

export function windowResult(args: {
  window: string;
  from: Date;
  to: Date;
  profile: Profile;
  baseline: Baseline | undefined;
  quality: QualityAggregate;
}): WindowResult {
  const { profile, baseline } = args;
  const seconds = (args.to.getTime() - args.from.getTime()) / 1000;
  return {
    window: args.window,
    from: args.from.toISOString(),
    to: args.to.toISOString(),
    captures: profile.captures,
    instances: profile.instances,
    rate: seconds > 0 ? profile.captures / seconds : 0,
    drift: baseline ? evaluateDrift(baseline, profile) : null,
    drift_skipped: baseline ? null : "no active baseline",
    labeled: args.quality.labeled,
    quality: headlineMetrics(args.quality),
    quality_baseline: baseline?.quality?.metrics ?? null,
    fields: describeFields(profile),
  };
}
