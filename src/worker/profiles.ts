/**
 * The worker's monitoring profiles: partial profiles of exactly the captures a batch inserted,
 * counted on the edges of each model's active baseline (read from the database and refreshed every
 * `refreshMs`, so a newly activated baseline is used within that time).
 */
import { binPlanOf } from "../core/monitoring/baseline.js";
import { partialProfiles } from "../core/monitoring/partials.js";
import type { BinPlan } from "../core/monitoring/profile.js";
import type { MonitorStore } from "../core/monitoring/store.js";
import type { CaptureRow, PartialProfileWrite } from "../core/ports.js";
import type { Logger } from "../log.js";
import type { WorkerMetrics } from "./metrics.js";

export class WorkerProfiles {
  private plans = new Map<string, BinPlan>();
  private loadedAt = 0;

  constructor(
    private readonly store: Pick<MonitorStore, "activeBaselines">,
    private readonly deps: {
      metrics: WorkerMetrics;
      log: Logger;
      refusalPatterns: readonly RegExp[];
      refreshMs: number;
    },
  ) {}

  /** Load the active baselines now if they are older than refreshMs (a failure keeps the old ones). */
  async refresh(now = Date.now()): Promise<void> {
    if (now - this.loadedAt < this.deps.refreshMs) return;
    try {
      const baselines = await this.store.activeBaselines();
      this.plans = new Map(baselines.map((b) => [b.model, binPlanOf(b)]));
      this.loadedAt = now;
    } catch (err) {
      this.deps.log.warn({ err }, "could not read the active baselines; profiles keep the ones loaded");
    }
  }

  readonly partialsFor = (inserted: readonly CaptureRow[]): PartialProfileWrite[] => {
    const { partials, errors } = partialProfiles(inserted, (model) => this.plans.get(model) ?? null, {
      refusalPatterns: this.deps.refusalPatterns,
    });
    this.deps.metrics.profilePartials.inc(partials.length);
    if (errors > 0) this.deps.metrics.profileErrors.inc(errors);
    return partials;
  };
}
