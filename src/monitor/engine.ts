/**
 * The monitor's cycle, for the models this replica holds a lease on:
 *   1. fold the partial profiles of closed minutes into minute buckets (late ones re-fold);
 *   2. recompute the quality of minutes whose labels changed;
 *   3. evaluate every closed window (and again every window whose buckets or labels changed);
 *   4. roll old minute buckets up into hours;
 *   5. about hourly, expire what is older than the monitoring retention.
 * Replicas split the models with leases (MonitorStore.leaseModels); everything written is keyed so
 * that two replicas briefly holding one model write the same thing.
 */
import type { Baseline } from "../core/monitoring/baseline.js";
import { Profile, type ProfileJson } from "../core/monitoring/profile.js";
import {
  addLabeled,
  emptyQuality,
  mergeQualities,
  type QualityAggregate,
} from "../core/monitoring/quality-aggregate.js";
import type { MonitorStore } from "../core/monitoring/store.js";
import { windowResult, type WindowResult } from "../core/monitoring/window-result.js";
import { MINUTE_MS } from "../core/monitoring/partials.js";
import {
  closedBefore,
  expiryCutoff,
  lastClosedEnd,
  windowEndOf,
  windowName,
} from "../core/monitoring/windows.js";
import { errorMessage } from "../core/errors.js";
import type { Logger } from "../log.js";

const HOUR_MS = 3_600_000;
/** Partials folded per transaction. */
const FOLD_LIMIT = 2000;
/** Closed windows a model catches up on per cycle and window length (the rest next cycle). */
const CATCH_UP = 60;
/** Minutes whose labels changed that a model's quality is recomputed for per cycle (in queue order). */
export const QUALITY_MINUTES = 240;
/** Rows per table and statement an expiry deletes, and statements per table and cycle. */
const EXPIRE_BATCH = 5000;
const EXPIRE_ROUNDS = 10;

export interface MonitorOptions {
  owner: string;
  windowsMs: readonly number[];
  graceMs: number;
  intervalMs: number;
  rollupHours: number;
  /** Days monitoring rows are kept (whole UTC days); 0: forever. */
  retentionDays: number;
}

export interface MonitorEvents {
  /**
   * A window evaluated: its end-to-result lag and revision; `closing` when it was evaluated because
   * it closed (not again for late data), the lag the close-lag histogram measures.
   */
  evaluated(model: string, window: string, lagSeconds: number, revision: number, closing: boolean): void;
  cycle(seconds: number, models: number): void;
  failed(model: string, err: unknown): void;
}

/** Merge stored profiles (and a bucket's previous profile) into one. */
export function mergeProfiles(bucket: ProfileJson | null, partials: readonly ProfileJson[]): ProfileJson {
  const all = bucket ? [bucket, ...partials] : [...partials];
  return Profile.mergeAll(all.map((p) => Profile.fromJSON(p))).toJSON();
}

export class MonitorEngine {
  /** When each model's expiry last finished (ms since the epoch). */
  private readonly expiredAt = new Map<string, number>();

  constructor(
    private readonly store: MonitorStore,
    private readonly opts: MonitorOptions,
    private readonly events: MonitorEvents,
    private readonly log: Logger,
  ) {}

  /** Rows from this time on are kept (ms since the epoch; -Infinity with no monitoring retention). */
  private keptFrom(now: Date): number {
    return this.opts.retentionDays > 0 ? expiryCutoff(now, this.opts.retentionDays).getTime() : -Infinity;
  }

  /** One cycle at `now`; returns the models this replica held. */
  async cycle(now = new Date()): Promise<string[]> {
    const started = performance.now();
    const replicas = await this.store.heartbeat(this.opts.owner, this.leaseMs());
    const all = await this.store.models();
    const share = Math.max(1, Math.ceil(all.length / Math.max(1, replicas)));
    const mine = await this.store.leaseModels(this.opts.owner, this.leaseMs(), share);
    for (const model of mine) {
      try {
        await this.model(model, now);
      } catch (err) {
        this.events.failed(model, err);
        this.log.error({ err, model, error: errorMessage(err) }, "monitor cycle failed for a model");
      }
    }
    this.events.cycle((performance.now() - started) / 1000, mine.length);
    return mine;
  }

  private leaseMs(): number {
    return Math.max(30_000, this.opts.intervalMs * 6);
  }

  async model(model: string, now: Date): Promise<void> {
    const touched = new Map<string, Set<number>>();
    const touch = (version: string, minute: Date) => {
      const set = touched.get(version) ?? new Set<number>();
      set.add(minute.getTime());
      touched.set(version, set);
    };
    // 1. Fold, in bounded transactions, until nothing closed is left. A partial is late when a
    // result already covers its minute (the shortest window's watermark is past it).
    const shortest = Math.min(...this.opts.windowsMs);
    const markText = await this.store.watermark(model, `window:${windowName(shortest)}`);
    const evaluatedTo = markText === null ? -Infinity : new Date(markText).getTime();
    const folded: Array<{ version: string; startAt: Date }> = [];
    const before = closedBefore(now, this.opts.graceMs);
    for (;;) {
      const out = await this.store.foldPartials(model, before, FOLD_LIMIT, mergeProfiles);
      const late = out.touched
        .filter((t) => windowEndOf(t.startAt, shortest).getTime() <= evaluatedTo)
        .reduce((n, t) => n + t.partials, 0);
      if (late > 0) await this.store.addCounter("late_partials", model, late);
      if (out.partials > 0) await this.store.addCounter("partials_folded", model, out.partials);
      for (const t of out.touched) {
        touch(t.version, t.startAt);
        folded.push(t);
      }
      if (out.partials < FOLD_LIMIT) break;
    }
    // 2. Quality. Minutes whose labels changed are queued together with the label watermark (one
    // transaction), then recomputed at most QUALITY_MINUTES a cycle in queue order, so a bulk import
    // of labels is worked through over the next cycles and survives a restart. The minutes just
    // folded are recomputed now: a label may have arrived before its capture was stored, and the
    // capture brings it into its minute's quality. Minutes past the monitoring retention are not
    // brought back (their rows are expired).
    const kept = this.keptFrom(now);
    const since = (await this.store.watermark(model, "labels")) ?? "1970-01-01T00:00:00Z";
    const changes = await this.store.labelChanges(model, since);
    await this.store.queueQuality(
      model,
      changes.minutes.filter((m) => m.minute.getTime() >= kept),
      changes.newest,
    );
    const pending = await this.store.pendingQuality(model, QUALITY_MINUTES);
    if (pending.total > pending.minutes.length) {
      this.log.info(
        { model, queued: pending.total, now: pending.minutes.length },
        "labels changed in more minutes than one cycle recomputes: the rest in the next cycles",
      );
    }
    const minutes = new Map<string, { version: string; minute: Date; labelsChanged: boolean }>();
    for (const f of folded)
      minutes.set(`${f.version}\u0000${f.startAt.getTime()}`, {
        version: f.version,
        minute: f.startAt,
        labelsChanged: false,
      });
    for (const m of pending.minutes)
      minutes.set(`${m.version}\u0000${m.minute.getTime()}`, {
        version: m.version,
        minute: m.minute,
        labelsChanged: true,
      });
    for (const m of minutes.values()) {
      if (m.minute.getTime() < kept) continue;
      const q = emptyQuality();
      const pairs = await this.store.labeledPredictions(
        model,
        m.version,
        m.minute,
        new Date(m.minute.getTime() + MINUTE_MS),
      );
      if (pairs.length === 0 && !m.labelsChanged) continue;
      for (const p of pairs) addLabeled(q, p.prediction, p.label);
      const changed = await this.store.saveQuality({
        model,
        version: m.version,
        minute: m.minute,
        labeled: q.labeled,
        quality: q,
      });
      if (changed) touch(m.version, m.minute);
    }
    await this.store.clearQuality(model, pending.minutes);
    // 3. Windows.
    const baseline = await this.store.activeBaseline(model);
    for (const windowMs of this.opts.windowsMs) await this.windows(model, windowMs, now, baseline, touched);
    // 4. Rollups: minute buckets of whole hours past the cutoff are dropped (every fold keeps the
    // hour buckets), and with them the results of windows that are not whole hours, which cannot
    // be evaluated again without their minutes.
    if (this.opts.rollupHours > 0) {
      const cutoff = new Date(now.getTime() - this.opts.rollupHours * HOUR_MS);
      const rolled = await this.store.rollUp(model, cutoff, mergeProfiles);
      if (rolled > 0) await this.store.addCounter("minutes_rolled_up", model, rolled);
      const minuteWindows = this.opts.windowsMs.filter((ms) => ms % HOUR_MS !== 0).map(windowName);
      await this.store.pruneResults(model, minuteWindows, cutoff);
    }
    // 5. Expiry, once an hour per model (every cycle while a backlog remains).
    if (this.opts.retentionDays > 0 && now.getTime() - (this.expiredAt.get(model) ?? 0) >= HOUR_MS) {
      const before = expiryCutoff(now, this.opts.retentionDays);
      let expired = 0;
      let done = false;
      for (let round = 0; round < EXPIRE_ROUNDS && !done; round++) {
        const n = await this.store.expire(model, before, EXPIRE_BATCH);
        expired += n;
        done = n < EXPIRE_BATCH;
      }
      if (expired > 0) await this.store.addCounter("rows_expired", model, expired);
      if (done) this.expiredAt.set(model, now.getTime());
    }
  }

  private async windows(
    model: string,
    windowMs: number,
    now: Date,
    baseline: Baseline | undefined,
    touched: ReadonlyMap<string, ReadonlySet<number>>,
  ): Promise<void> {
    const name = windowName(windowMs);
    const last = lastClosedEnd(now, windowMs, this.opts.graceMs);
    const markText = await this.store.watermark(model, `window:${name}`);
    const mark = markText === null ? null : new Date(markText);
    const ends = new Set<number>();
    const closing = new Set<number>();
    // New closed windows since the last evaluated one (the latest only on a first run).
    // At most CATCH_UP of them per cycle (after an outage, the rest next cycle: the watermark moves
    // only as far as what was evaluated).
    const first = mark ? mark.getTime() + windowMs : last.getTime();
    let reached = mark ? mark.getTime() : -Infinity;
    for (let end = first; end <= last.getTime() && closing.size < CATCH_UP; end += windowMs) {
      ends.add(end);
      closing.add(end);
      reached = end;
    }
    // Closed windows holding a bucket or labels that changed: evaluated again (a new revision).
    for (const minutes of touched.values()) {
      for (const m of minutes) {
        const end = windowEndOf(new Date(m), windowMs).getTime();
        if (end <= last.getTime() && (!mark || end <= mark.getTime())) ends.add(end);
      }
    }
    // A window that starts before the monitoring retention's cutoff has lost rows to expiry: its
    // stored result stands (evaluating it again would count only what is left).
    const kept = this.keptFrom(now);
    for (const end of [...ends].sort((a, b) => a - b)) {
      if (end - windowMs < kept) continue;
      await this.evaluate(model, windowMs, new Date(end), baseline, now, closing.has(end));
    }
    if (Number.isFinite(reached) && (!mark || reached > mark.getTime()))
      await this.store.setWatermark(model, `window:${name}`, new Date(reached));
  }

  /** Evaluate one window of a model, per version with data in it; returns the results. */
  async evaluate(
    model: string,
    windowMs: number,
    end: Date,
    baseline: Baseline | undefined,
    now: Date,
    closing = false,
  ): Promise<WindowResult[]> {
    const from = new Date(end.getTime() - windowMs);
    const { buckets } = await this.store.windowBuckets(model, null, from, end, false);
    const qualityRows = await this.store.quality(model, null, from, end);
    const versions = new Set([...buckets.map((b) => b.version), ...qualityRows.map((q) => q.version)]);
    const name = windowName(windowMs);
    const out: WindowResult[] = [];
    for (const version of [...versions].sort()) {
      const profile = Profile.mergeAll(
        buckets.filter((b) => b.version === version).map((b) => Profile.fromJSON(b.profile)),
      );
      const quality = mergeQualities(
        qualityRows.filter((q) => q.version === version).map((q) => q.quality as QualityAggregate),
      );
      const result = windowResult({ window: name, from, to: end, profile, baseline, quality });
      const revision = await this.store.saveResult({
        model,
        version,
        window: name,
        windowEnd: end,
        baselineId: baseline?.id ?? null,
        captures: result.captures,
        instances: result.instances,
        labeled: result.labeled,
        result,
      });
      if (revision > 1) await this.store.addCounter("result_revisions", model, 1);
      this.events.evaluated(model, name, (now.getTime() - end.getTime()) / 1000, revision, closing);
      out.push(result);
    }
    return out;
  }
}
