/**
 * The monitor's Prometheus metrics (docs/metrics.md). Drift, quality and window gauges are read
 * from the newest stored results at scrape time, so every replica reports the same values whoever
 * evaluated them; the cycle and lag metrics are this replica's own.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { WindowResult } from "../core/monitoring/window-result.js";
import type { MonitorStore, ResultRow } from "../core/monitoring/store.js";
import type { FieldDrift } from "../core/monitoring/evaluate.js";
import { parseWindow } from "../core/monitoring/windows.js";

type Labels = Record<string, string>;

/** Beyond two window lengths: a result is stale once this much later than that. */
const STALE_SLACK_MS = 60_000;

export function createMonitorMetrics(
  store: Pick<MonitorStore, "latestResults" | "counters">,
  maxSeries: number,
) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "modeltap_monitor_" });
  // One read per scrape: prom-client calls every gauge's collect at once, and they share it.
  let pending: Promise<void> | undefined;
  const shared = () =>
    (pending ??= collect().finally(() => {
      pending = undefined;
    }));
  const gauge = (name: string, help: string, labelNames: string[]) =>
    new Gauge({ name, help, labelNames, registers: [registry], collect: shared });
  const g = {
    featureDrift: gauge(
      "modeltap_monitor_feature_drift",
      "Drift score of a field in the newest window against the reference: a p-value for ks and chisquare, a distance otherwise",
      ["model", "version", "window", "feature", "method"],
    ),
    featureThreshold: gauge(
      "modeltap_monitor_feature_drift_threshold",
      "The field's drift threshold (p below it, or a distance at or above it, is drift)",
      ["model", "version", "window", "feature", "method"],
    ),
    featureDrifted: gauge(
      "modeltap_monitor_feature_drifted",
      "1 when the field drifted in the newest window (with at least min_count values), else 0",
      ["model", "version", "window", "feature"],
    ),
    datasetShare: gauge(
      "modeltap_monitor_dataset_drift_share",
      "Share of the input fields that drifted in the newest window",
      ["model", "version", "window"],
    ),
    datasetShareThreshold: gauge(
      "modeltap_monitor_dataset_drift_share_threshold",
      "The baseline's dataset drift share (0.5 by default)",
      ["model", "version", "window"],
    ),
    predictionDrift: gauge(
      "modeltap_monitor_prediction_drift",
      "Drift score of the prediction field in the newest window",
      ["model", "version", "window", "feature", "method"],
    ),
    predictionDrifted: gauge(
      "modeltap_monitor_prediction_drifted",
      "1 when the prediction field drifted in the newest window",
      ["model", "version", "window", "feature"],
    ),
    quality: gauge(
      "modeltap_monitor_quality",
      "Quality metric over the newest window's labeled predictions",
      ["model", "version", "window", "metric"],
    ),
    qualityBaseline: gauge(
      "modeltap_monitor_quality_baseline",
      "The quality metric the baseline reached on its labeled data",
      ["model", "version", "window", "metric"],
    ),
    instances: gauge("modeltap_monitor_window_instances", "Instances in the newest window", [
      "model",
      "version",
      "window",
    ]),
    captures: gauge("modeltap_monitor_window_captures", "Captures in the newest window", [
      "model",
      "version",
      "window",
    ]),
    labeled: gauge("modeltap_monitor_window_labeled_instances", "Labeled instances in the newest window", [
      "model",
      "version",
      "window",
    ]),
    windowEnd: gauge(
      "modeltap_monitor_window_end_timestamp_seconds",
      "End of the newest evaluated window (unix seconds)",
      ["model", "version", "window"],
    ),
    evaluatedAt: gauge(
      "modeltap_monitor_window_evaluated_timestamp_seconds",
      "When the newest window was evaluated (unix seconds)",
      ["model", "version", "window"],
    ),
    revision: gauge(
      "modeltap_monitor_window_revision",
      "Revision of the newest window's result (1: never re-evaluated)",
      ["model", "version", "window"],
    ),
    generation: gauge(
      "modeltap_monitor_generation",
      "Monitor totals across replicas, by stat: partials_folded, late_partials, result_revisions, minutes_rolled_up, rows_expired",
      ["stat", "model"],
    ),
    seriesDropped: gauge(
      "modeltap_monitor_series_dropped",
      "Field series left out of this scrape because the model is over MODELTAP_MONITOR_MAX_SERIES",
      ["model"],
    ),
  };
  const all = Object.values(g);
  async function collect(): Promise<void> {
    const [results, counters] = await Promise.all([store.latestResults(), store.counters()]);
    for (const m of all) m.reset();
    const seriesPerModel = new Map<string, number>();
    const now = Date.now();
    // Only live windows: a model or version that stopped receiving traffic writes no more results,
    // and its last one (a drift, a quality drop) must not keep alerting for days.
    for (const row of results) {
      const ms = parseWindow(row.window);
      if (ms !== undefined && row.windowEnd.getTime() < now - 2 * ms - STALE_SLACK_MS) continue;
      exportResult(row, g, seriesPerModel, maxSeries);
    }
    for (const c of counters) g.generation.set({ stat: c.name, model: c.model }, c.value);
  }
  return {
    registry,
    closeLag: new Histogram({
      name: "modeltap_monitor_window_close_lag_seconds",
      help: "From a window's end to its first result on this replica, for windows evaluated as they closed (includes MODELTAP_MONITOR_GRACE_SECONDS; not re-evaluations for late data)",
      labelNames: ["window"],
      buckets: [1, 5, 10, 15, 20, 30, 45, 60, 120, 300, 600],
      registers: [registry],
    }),
    cycleSeconds: new Histogram({
      name: "modeltap_monitor_cycle_seconds",
      help: "Time of one monitor cycle (fold, quality, windows, rollups) over the models this replica holds",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    lastCycle: new Gauge({
      name: "modeltap_monitor_last_cycle_timestamp_seconds",
      help: "When this replica last finished a cycle (unix seconds)",
      registers: [registry],
    }),
    modelsHeld: new Gauge({
      name: "modeltap_monitor_models_held",
      help: "Models this replica holds a lease on",
      registers: [registry],
    }),
    errors: new Counter({
      name: "modeltap_monitor_errors_total",
      help: "Monitor cycles that failed for a model (retried next cycle)",
      labelNames: ["model"],
      registers: [registry],
    }),
  };
}

export type MonitorMetrics = ReturnType<typeof createMonitorMetrics>;

function exportResult(
  row: ResultRow,
  g: Record<string, Gauge>,
  seriesPerModel: Map<string, number>,
  maxSeries: number,
): void {
  const r = row.result as WindowResult;
  const base: Labels = { model: row.model, version: row.version, window: row.window };
  g.instances!.set(base, row.instances);
  g.captures!.set(base, row.captures);
  g.labeled!.set(base, row.labeled);
  g.windowEnd!.set(base, row.windowEnd.getTime() / 1000);
  g.evaluatedAt!.set(base, row.evaluatedAt.getTime() / 1000);
  g.revision!.set(base, row.revision);
  for (const [metric, v] of Object.entries(r.quality ?? {})) g.quality!.set({ ...base, metric }, v);
  for (const [metric, v] of Object.entries(r.quality_baseline ?? {}))
    g.qualityBaseline!.set({ ...base, metric }, v);
  const drift = r.drift;
  if (!drift) return;
  if (drift.drift_share !== null) g.datasetShare!.set(base, drift.drift_share);
  g.datasetShareThreshold!.set(base, drift.dataset_drift_threshold);
  if (drift.prediction && drift.prediction.score !== null) {
    const p = drift.prediction;
    g.predictionDrift!.set({ ...base, feature: p.field, method: p.method }, clampScore(p.score!));
    g.predictionDrifted!.set({ ...base, feature: p.field }, p.drifted ? 1 : 0);
  }
  // Drifted fields first, so a cap never hides the one that matters.
  const fields = [...drift.fields].sort(
    (a: FieldDrift, b: FieldDrift) => Number(b.drifted) - Number(a.drifted),
  );
  for (const f of fields) {
    if (f.score === null) continue;
    const used = seriesPerModel.get(row.model) ?? 0;
    if (used + 3 > maxSeries) {
      g.seriesDropped!.inc({ model: row.model }, 1);
      continue;
    }
    seriesPerModel.set(row.model, used + 3);
    const labels = { ...base, feature: f.field, method: f.method };
    g.featureDrift!.set(labels, clampScore(f.score));
    g.featureThreshold!.set(labels, f.threshold);
    g.featureDrifted!.set({ ...base, feature: f.field }, f.drifted ? 1 : 0);
  }
}

/** JSON has no Infinity (a χ² of a new category): it is stored as null, exported as a large number. */
function clampScore(v: number): number {
  return Number.isFinite(v) ? v : Number.MAX_VALUE;
}
