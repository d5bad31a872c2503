/**
 * Reading monitoring data for the commands (`drift`, `quality`, `report`, `baseline create`):
 * a window's profile from its buckets plus any partials the monitor has not folded yet (so the
 * answer is exact whether or not a monitor runs), its quality straight from captures and labels,
 * and a baseline built from stored captures.
 */
import {
  buildBaseline,
  ValueCollector,
  type Baseline,
  type BaselineMeta,
} from "../core/monitoring/baseline.js";
import { observeCapture, type ObserveOptions } from "../core/monitoring/fields.js";
import { minuteOf } from "../core/monitoring/partials.js";
import { Profile } from "../core/monitoring/profile.js";
import {
  addLabeled,
  emptyQuality,
  headlineMetrics,
  type QualityAggregate,
} from "../core/monitoring/quality-aggregate.js";
import type { MonitorStore } from "../core/monitoring/store.js";

const PAGE = 2000;

/**
 * The merged profile of [from, to): hour buckets for its whole hours, minute buckets for the rest,
 * and the partials not folded yet, read in one snapshot (MonitorStore.windowBuckets). Times are
 * taken to whole minutes (a bucket is a minute).
 */
export async function windowProfile(
  store: MonitorStore,
  model: string,
  from: Date,
  to: Date,
  version: string | null = null,
): Promise<Profile> {
  const { buckets, partials } = await store.windowBuckets(model, version, minuteOf(from), minuteOf(to), true);
  return Profile.mergeAll(
    [...buckets.map((b) => b.profile), ...partials.map((p) => p.profile)].map((p) => Profile.fromJSON(p)),
  );
}

/** Labeled predictions read at a time: ten minutes of captures (60 MB of detections at 100/s). */
const QUALITY_SLICE_MS = 10 * 60_000;

/**
 * The quality of [from, to) from every labeled prediction in it, read ten minutes at a time so a
 * month-long window holds one slice in memory, not the month.
 */
export async function windowQuality(
  store: MonitorStore,
  model: string,
  from: Date,
  to: Date,
  version: string | null = null,
): Promise<QualityAggregate> {
  const q = emptyQuality();
  for (let t = from.getTime(); t < to.getTime(); t += QUALITY_SLICE_MS) {
    const end = new Date(Math.min(to.getTime(), t + QUALITY_SLICE_MS));
    for (const p of await store.labeledPredictions(model, version, new Date(t), end))
      addLabeled(q, p.prediction, p.label);
  }
  return q;
}

/**
 * A baseline from the captures of [from, to) (raw values, so its edges are exact quantiles) and the
 * quality reached on their labels. `progress` is told every PAGE captures.
 */
export async function baselineFromWindow(
  store: MonitorStore,
  meta: BaselineMeta & { source: { kind: "window"; from: string; to: string } },
  window: { from: Date; to: Date; version: string | null },
  opts: ObserveOptions,
  progress: (captures: number) => void,
): Promise<Baseline> {
  const values = new ValueCollector();
  let after: { receivedAt: Date; id: string } | null = null;
  for (;;) {
    const page = await store.profiledCaptures(meta.model, window.from, window.to, after, PAGE);
    for (const c of page) {
      if (window.version !== null && c.version !== window.version) continue;
      values.captures += 1;
      values.instances += Array.isArray(c.analysis?.instances) ? c.analysis.instances.length : 0;
      observeCapture(c, values, opts);
    }
    if (page.length < PAGE) break;
    const last = page[page.length - 1]!;
    after = { receivedAt: last.receivedAt, id: last.id };
    progress(values.captures);
  }
  const quality = await windowQuality(store, meta.model, window.from, window.to, window.version);
  return buildBaseline(values, {
    ...meta,
    quality: quality.labeled > 0 ? { labeled: quality.labeled, metrics: headlineMetrics(quality) } : null,
  });
}
