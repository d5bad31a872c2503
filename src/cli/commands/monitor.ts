/** `modeltap monitor` (the monitoring process) and `modeltap monitor backfill`. */
import os from "node:os";
import { randomUUID } from "node:crypto";
import { startOpsServer } from "../../adapters/http/ops-server.js";
import { ConfigError, errorMessage } from "../../core/errors.js";
import { Profile } from "../../core/monitoring/profile.js";
import { binPlanOf } from "../../core/monitoring/baseline.js";
import { MINUTE_MS, minuteOf } from "../../core/monitoring/partials.js";
import { mergeProfiles, MonitorEngine } from "../../monitor/engine.js";
import { createMonitorMetrics } from "../../monitor/metrics.js";
import type { Command } from "../command.js";
import { onShutdown } from "../shutdown.js";
import { assertKnownModel, MODEL_OPTION, openMonitorDb, required, timeOption } from "./monitor-options.js";
import { windowName } from "../../core/monitoring/windows.js";

const HOUR_MS = 3_600_000;
/** Minutes a backfill rebuilds at most per run (31 days). */
const MAX_BACKFILL_MINUTES = 31 * 24 * 60;

function engineFor(
  config: Parameters<NonNullable<Command["run"]>>[0]["config"],
  db: Awaited<ReturnType<typeof openMonitorDb>>,
  log: Parameters<NonNullable<Command["run"]>>[0]["log"],
  events: ConstructorParameters<typeof MonitorEngine>[2],
  owner: string,
): MonitorEngine {
  return new MonitorEngine(
    db.monitor,
    {
      owner,
      windowsMs: config.monitor.windowsMs,
      graceMs: config.monitor.graceMs,
      intervalMs: config.monitor.intervalMs,
      rollupHours: config.monitor.rollupHours,
      retentionDays: config.monitor.retentionDays,
    },
    events,
    log,
  );
}

const backfill: Command = {
  name: "backfill",
  summary:
    "Rebuild a model's profiles from its stored captures over a time range (after a baseline is activated, or a bug fixed) and evaluate its windows again",
  options: {
    model: MODEL_OPTION,
    from: { type: "string", value: "T", description: "start (ISO 8601, or -1d); rounded down to the hour" },
    to: {
      type: "string",
      value: "T",
      description: "end (ISO 8601, -1h, now); rounded up to the hour, at most 31 days after --from",
    },
  },
  examples: ["modeltap monitor backfill --model iris --from -1d --to now"],
  async run({ config, options, log }) {
    const model = required(options, "model");
    const now = new Date();
    const fromRaw = timeOption(options, "from", now);
    const toRaw = timeOption(options, "to", now);
    if (!fromRaw || !toRaw) throw new ConfigError(["--from and --to: both required"]);
    const from = new Date(Math.floor(fromRaw.getTime() / HOUR_MS) * HOUR_MS);
    const to = new Date(Math.ceil(toRaw.getTime() / HOUR_MS) * HOUR_MS);
    const minutes = (to.getTime() - from.getTime()) / MINUTE_MS;
    if (minutes <= 0) throw new ConfigError(["--from must be before --to"]);
    if (minutes > MAX_BACKFILL_MINUTES)
      throw new ConfigError([`--from..--to: at most 31 days per run, got ${(minutes / 1440).toFixed(1)}`]);
    const db = await openMonitorDb(config);
    try {
      await assertKnownModel(db, model);
      const baseline = await db.monitor.activeBaseline(model);
      const plan = baseline ? binPlanOf(baseline) : null;
      const opts = { refusalPatterns: config.monitor.refusalPatterns };
      console.log(
        `backfill ${model}: ${from.toISOString()} .. ${to.toISOString()}, ${minutes} minutes${baseline ? `, on baseline ${baseline.id}'s edges` : ", no active baseline"}`,
      );
      // The whole run under the model's backfill lock: the monitor's rollups of the model wait, so
      // no minute rebuilt here is rolled away before its hour is rebuilt from it.
      const { captures, windows } = await db.monitor.withBackfillLock(model, async () => {
        let captures = 0;
        const last = minuteOf(new Date(Math.min(to.getTime(), now.getTime()))).getTime();
        for (let t = from.getTime(), i = 1; t <= last && t < to.getTime(); t += MINUTE_MS, i++) {
          const out = await rebuildWithRetry(() =>
            db.monitor.rebuildMinute(model, new Date(t), (rows) => {
              const byVersion = new Map<string, Profile>();
              for (const r of rows) {
                const p = byVersion.get(r.version) ?? new Profile(plan);
                p.addCapture(r, opts);
                byVersion.set(r.version, p);
              }
              return [...byVersion].map(([version, p]) => ({
                version,
                captures: p.captures,
                profile: p.toJSON(),
              }));
            }),
          );
          captures += out.captures;
          if (i % 60 === 0)
            console.log(`backfill ${model}: ${i} of ${minutes} minutes, ${captures} captures`);
        }
        const hours = await db.monitor.rebuildHours(model, from, to, mergeProfiles);
        console.log(
          `backfill ${model}: profiles rebuilt from ${captures} captures (${hours} hour buckets); evaluating windows...`,
        );
        const owner = `backfill-${randomUUID()}`;
        const engine = engineFor(
          config,
          db,
          log,
          { evaluated: () => undefined, cycle: () => undefined, failed: () => undefined },
          owner,
        );
        let windows = 0;
        for (const ms of config.monitor.windowsMs) {
          const evalTo = Math.min(
            to.getTime(),
            Math.floor((now.getTime() - config.monitor.graceMs) / ms) * ms,
          );
          for (let end = Math.ceil((from.getTime() + 1) / ms) * ms; end <= evalTo; end += ms) {
            windows += (await engine.evaluate(model, ms, new Date(end), baseline, now)).length;
          }
          console.log(`backfill ${model}: ${windowName(ms)} windows evaluated`);
        }
        return { captures, windows };
      });
      console.log(`backfill ${model}: done: ${captures} captures, ${windows} window results written`);
      return 0;
    } finally {
      await db.close();
    }
  },
};

/** A minute rebuilt while the monitor folds it conflicts (serialization or key): try again. */
async function rebuildWithRetry<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (attempt >= 5 || (code !== "40001" && code !== "23505" && code !== "40P01")) throw err;
      await new Promise((r) => setTimeout(r, 100 * attempt));
    }
  }
}

export const monitorCommand: Command = {
  name: "monitor",
  summary:
    "Fold captured profiles into windows, compute drift against each model's baseline and quality from ground truth, and export them to Prometheus (any number of replicas)",
  logs: true,
  subcommands: [backfill],
  examples: ["MODELTAP_MONITOR_WINDOWS=5m,1h,1d modeltap monitor"],
  async run({ config, log }) {
    const db = await openMonitorDb(config);
    const owner = `${os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
    const metrics = createMonitorMetrics(db.monitor, config.monitor.maxSeries);
    let ready = false;
    const ops = config.ports.monitorMetrics
      ? await startOpsServer(
          config.hosts.monitorMetrics,
          config.ports.monitorMetrics,
          metrics.registry,
          () => ready,
        )
      : undefined;
    const engine = engineFor(
      config,
      db,
      log,
      {
        evaluated: (model, window, lag, revision, closing) => {
          if (closing && revision === 1) metrics.closeLag.observe({ window }, lag);
          log.debug({ model, window, revision, lag_s: lag }, "window evaluated");
        },
        cycle: (seconds, models) => {
          metrics.cycleSeconds.observe(seconds);
          metrics.lastCycle.set(Date.now() / 1000);
          metrics.modelsHeld.set(models);
        },
        failed: (model) => metrics.errors.inc({ model }),
      },
      owner,
    );
    log.info(
      { owner, windows: config.monitor.windowsMs.map(windowName), interval_ms: config.monitor.intervalMs },
      "monitor started",
    );
    let stopped = false;
    const stop = onShutdown(log).then(() => {
      stopped = true;
    });
    ready = true;
    while (!stopped) {
      try {
        await engine.cycle(new Date());
      } catch (err) {
        log.error({ err, error: errorMessage(err) }, "monitor cycle failed; retrying");
      }
      await Promise.race([stop, new Promise((r) => setTimeout(r, config.monitor.intervalMs))]);
    }
    await db.monitor.releaseLeases(owner).catch(() => undefined);
    ops?.close();
    await db.close();
  },
};
