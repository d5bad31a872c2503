/**
 * A window as the reference (`--against previous|A..B`): the window's profile turned into a
 * baseline. Where the active baseline knows a field, its kind, edges and method are kept (and the
 * counts are exact when the window was counted on those edges); otherwise numeric edges are taken
 * at the window's sketch quantiles and the counts estimated from the sketch.
 */
import type { Baseline, BaselineField } from "./baseline.js";
import { BASELINE_FORMAT, DEFAULT_MIN_COUNT, predictionFieldOf } from "./baseline.js";
import { DEFAULT_BINS } from "./bins.js";
import { autoDriftMethod, DATASET_DRIFT_SHARE, DRIFT_METHODS, type FieldKind } from "./drift.js";
import { estimateBins } from "./evaluate.js";
import type { Profile } from "./profile.js";

export function referenceFromProfile(
  profile: Profile,
  window: { from: Date; to: Date; model: string },
  active: Baseline | undefined,
): Baseline {
  const sameEdges = active !== undefined && profile.baseline === active.id;
  const fields: Record<string, BaselineField> = Object.create(null) as Record<string, BaselineField>;
  for (const name of profile.fieldNames()) {
    const f = profile.get(name)!;
    const known = active && Object.hasOwn(active.fields, name) ? active.fields[name] : undefined;
    const categories = f.categories
      ? Object.values(f.categories.counts).reduce((a, b) => a + b, f.categories.other)
      : 0;
    const kind: FieldKind =
      known?.kind ?? (f.summary.count >= categories && f.summary.count > 0 ? "numeric" : "categorical");
    if (kind === "categorical") {
      if (!f.categories || categories === 0) continue;
      const method =
        known?.method ?? autoDriftMethod("categorical", categories, Object.keys(f.categories.counts).length);
      fields[name] = {
        kind,
        count: categories,
        missing: f.summary.missing,
        mismatches: f.summary.mismatches,
        categories: { ...f.categories.counts },
        other: f.categories.other,
        method,
        threshold: known?.threshold ?? DRIFT_METHODS[method].threshold,
      };
      continue;
    }
    if (!f.sketch || f.summary.count === 0) continue;
    const sketch = f.sketch;
    const edges =
      known?.edges ??
      dedupe(Array.from({ length: DEFAULT_BINS - 1 }, (_, i) => sketch.quantile((i + 1) / DEFAULT_BINS)));
    const exact = sameEdges && known?.edges !== undefined && f.bins?.length === edges.length + 1;
    const method = known?.method ?? autoDriftMethod("numeric", f.summary.count, edges.length + 1);
    fields[name] = {
      kind,
      count: f.summary.count,
      missing: f.summary.missing,
      mismatches: f.summary.mismatches,
      summary: { ...f.summary },
      edges: [...edges],
      bins: exact ? f.bins!.slice() : estimateBins(sketch, edges),
      sketch: Buffer.from(sketch.serialize()).toString("base64"),
      method,
      threshold: known?.threshold ?? DRIFT_METHODS[method].threshold,
    };
  }
  const from = window.from.toISOString();
  const to = window.to.toISOString();
  return {
    format: BASELINE_FORMAT,
    // The active baseline's id when its edges were reused: the current window's exact counts then
    // match; otherwise the window names it.
    id: active && sameEdges ? active.id : `window:${from}..${to}`,
    model: window.model,
    version: null,
    created_at: to,
    source: { kind: "profile", from, to },
    captures: profile.captures,
    instances: profile.instances,
    fields,
    prediction_field: active?.prediction_field ?? predictionFieldOf(fields),
    quality: null,
    dataset_drift_share: active?.dataset_drift_share ?? DATASET_DRIFT_SHARE,
    min_count: active?.min_count ?? DEFAULT_MIN_COUNT,
  };
}

function dedupe(xs: number[]): number[] {
  return xs.filter((x, i) => Number.isFinite(x) && (i === 0 || x > xs[i - 1]!));
}
