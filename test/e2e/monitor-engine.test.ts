/**
 * The monitor engine and its Postgres store against the stack's real Postgres, without traffic:
 * captures inserted the way the worker inserts them (rows and their partial profiles in one
 * transaction), then the engine driven with explicit `now` values an hour or more in the past, so
 * minutes and windows close without waiting. Every model is this file's own (`engine-<random>`),
 * and each is leased to its test's own owner before any data exists, so the stack's running
 * monitor never takes it; everything is deleted afterwards.
 */
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import path from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { PostgresCaptureRepository } from "../../src/adapters/postgres/capture-repository.js";
import { PostgresMonitorRepository } from "../../src/adapters/postgres/monitor-repository.js";
import type { Prediction } from "../../src/core/canonical.js";
import { partialProfiles } from "../../src/core/monitoring/partials.js";
import { Profile, type ProfileJson } from "../../src/core/monitoring/profile.js";
import type { StoredProfiledCapture } from "../../src/core/monitoring/store.js";
import type { WindowResult } from "../../src/core/monitoring/window-result.js";
import { expiryCutoff } from "../../src/core/monitoring/windows.js";
import { headlineMetrics, type QualityAggregate } from "../../src/core/monitoring/quality-aggregate.js";
import type { CaptureRow } from "../../src/core/ports.js";
import { createLogger } from "../../src/log.js";
import { MonitorEngine, mergeProfiles, QUALITY_MINUTES } from "../../src/monitor/engine.js";
import { PACKAGE_ROOT } from "../../src/config.js";
import { productEnv } from "../../tools/stack/settings.js";
import { captureRow } from "../support/captures.js";
import { config, deleteModels } from "./helpers.js";

const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 6 });
pool.on("error", () => undefined);
const repo = new PostgresMonitorRepository(pool);
const captures = new PostgresCaptureRepository(pool);
const log = createLogger("silent", "monitor-engine-test");

const MIN = 60_000;
const HOUR = 3_600_000;
const GRACE = 10_000;
const OPTS = { refusalPatterns: [] };
/** An hour yesterday: every minute used here is long closed for the stack's own monitor too. */
const T0 = Math.floor(Date.now() / HOUR) * HOUR - 30 * HOUR;
const at = (ms: number) => new Date(T0 + ms);

const models: string[] = [];
const owners: string[] = [];

afterAll(async () => {
  await deleteModels(pool, models);
  await pool.query("DELETE FROM monitor_leases WHERE owner = ANY($1)", [owners]);
  await pool.query("DELETE FROM monitor_replicas WHERE owner = ANY($1)", [owners]);
  await pool.end();
});

/** The repository with only these models in view (the real SQL otherwise), for cycle() and leases. */
class ScopedRepository extends PostgresMonitorRepository {
  constructor(private readonly only: readonly string[]) {
    super(pool);
  }
  override async models(): Promise<string[]> {
    return [...this.only].sort();
  }
}

function owner(): string {
  const o = `engine-test-${randomUUID().slice(0, 8)}`;
  owners.push(o);
  return o;
}

/** A fresh model, leased to a fresh owner for ten minutes, and an engine running as that owner. */
async function fresh(rollupHours = 0, retentionDays = 0) {
  const model = `engine-${randomUUID().slice(0, 8)}`;
  models.push(model);
  const me = owner();
  await pool.query(
    "INSERT INTO monitor_leases (model, owner, expires_at) VALUES ($1, $2, now() + interval '10 minutes')",
    [model, me],
  );
  const evaluated: Array<{ window: string; revision: number }> = [];
  const opts = {
    owner: me,
    windowsMs: [MIN, 5 * MIN, HOUR],
    graceMs: GRACE,
    intervalMs: 5000,
    rollupHours,
    retentionDays,
  };
  const events = {
    evaluated: (_m: string, window: string, _lag: number, revision: number) =>
      evaluated.push({ window, revision }),
    cycle: () => undefined,
    failed: (_m: string, err: unknown) => {
      throw err;
    },
  };
  const engine = new MonitorEngine(new ScopedRepository([model]), opts, events, log);
  /** Another engine on the same model and lease, keeping monitoring rows `days` (0: forever). */
  const keeping = (days: number) =>
    new MonitorEngine(new ScopedRepository([model]), { ...opts, retentionDays: days }, events, log);
  return { model, engine, evaluated, keeping };
}

/** A tabular capture of this model at T0 + ms, feature x, predicting `label`. */
function row(model: string, ms: number, x: number, label = "a", id = randomUUID()): CaptureRow {
  const prediction: Prediction = { kind: "classification", label, score: 0.9 };
  return captureRow(id, "tabular_classification", [{ input: { features: { x } }, prediction }], {
    model,
    receivedAt: at(ms),
  });
}

const partialsFor = (inserted: readonly CaptureRow[]) => partialProfiles(inserted, () => null, OPTS).partials;

/** One worker transaction: the rows and the partial profiles of those actually inserted. */
const ingest = (rows: CaptureRow[]) => captures.insertCaptures(rows, partialsFor);

/** The model's buckets of one resolution ("minute" by default; "any" for both). */
async function bucketsOf(
  model: string,
  from = 0,
  to = 3 * HOUR,
  resolution: "minute" | "hour" | "any" = "minute",
) {
  const all = await repo.buckets(model, null, at(from), at(to));
  return resolution === "any" ? all : all.filter((b) => b.resolution === resolution);
}

async function partialRows(model: string) {
  const res = await pool.query<{ minute: Date; captures: number }>(
    "SELECT minute, captures FROM monitor_partials WHERE model = $1 ORDER BY id",
    [model],
  );
  return res.rows;
}

async function result(model: string, window: string, endMs: number) {
  const res = await pool.query<{ revision: number; captures: number; labeled: number; result: WindowResult }>(
    "SELECT revision, captures, labeled, result FROM monitor_results WHERE model = $1 AND window_name = $2 AND window_end = $3",
    [model, window, at(endMs)],
  );
  return res.rows[0];
}

async function counter(model: string, name: string): Promise<number> {
  return (await repo.counters()).find((c) => c.model === model && c.name === name)?.value ?? 0;
}

const xCount = (p: ProfileJson) => p.fields["feature.x"]!.summary.count;

/** What `modeltap monitor backfill` builds from a minute's stored captures. */
function build(rows: readonly StoredProfiledCapture[]) {
  const byVersion = new Map<string, Profile>();
  for (const r of rows) {
    const p = byVersion.get(r.version) ?? new Profile(null);
    p.addCapture(r, OPTS);
    byVersion.set(r.version, p);
  }
  return [...byVersion].map(([version, p]) => ({ version, captures: p.captures, profile: p.toJSON() }));
}

describe("folding partials", () => {
  it("folds each partial once: bucket captures are the partials' sum, and a second fold adds nothing", async () => {
    const { model } = await fresh();
    await ingest([row(model, 0, 1), row(model, 10_000, 2)]);
    await ingest([row(model, 20_000, 3), row(model, MIN + 1, 4), row(model, MIN + 2, 5)]);
    await ingest([0, 1, 2, 3].map((i) => row(model, 2 * MIN + i * 1000, 10 + i)));
    expect((await partialRows(model)).map((p) => p.captures)).toEqual([2, 1, 2, 4]);

    const out = await repo.foldPartials(model, at(3 * MIN), 2000, mergeProfiles);
    expect(out).toMatchObject({ partials: 4, buckets: 3 });
    const buckets = await bucketsOf(model);
    expect(
      buckets.map((b) => [b.startAt.getTime() - T0, b.captures, b.profile.captures, xCount(b.profile)]),
    ).toEqual([
      [0, 3, 3, 3],
      [MIN, 2, 2, 2],
      [2 * MIN, 4, 4, 4],
    ]);
    expect(await partialRows(model)).toEqual([]);

    const again = await repo.foldPartials(model, at(3 * MIN), 2000, mergeProfiles);
    expect(again).toMatchObject({ partials: 0, buckets: 0 });
    expect((await bucketsOf(model)).map((b) => [b.captures, b.revision])).toEqual([
      [3, 1],
      [2, 1],
      [4, 1],
    ]);
  });

  it("never loses or double-counts a capture when two folds race on the same new buckets", async () => {
    const { model } = await fresh();
    let total = 0;
    for (let round = 0; round < 5; round++) {
      // Single-capture partials, so two folds of two partials each split one new minute between them.
      for (let i = 0; i < 8; i++) await ingest([row(model, round * MIN + (i % 2) * 30_000 + i, i)]);
      total += 8;
      while ((await partialRows(model)).length > 0) {
        await Promise.all([
          repo.foldPartials(model, at(10 * MIN), 2, mergeProfiles),
          repo.foldPartials(model, at(10 * MIN), 2, mergeProfiles),
          repo.foldPartials(model, at(10 * MIN), 2, mergeProfiles),
        ]);
      }
      const buckets = await bucketsOf(model);
      expect(buckets.reduce((s, b) => s + b.captures, 0)).toBe(total);
      expect(buckets.reduce((s, b) => s + b.profile.captures, 0)).toBe(total);
    }
  });
});

describe("captures and partials in one transaction", () => {
  it("profiles only the rows a batch inserted, and a redelivered batch adds no partial", async () => {
    const { model } = await fresh();
    const rows = [0, 1, 2, 3, 4].map((i) => row(model, i * 1000, i));
    expect(await ingest(rows.slice(0, 2))).toBe(2);
    expect(await ingest(rows)).toBe(3);
    const partials = await partialRows(model);
    expect(partials.map((p) => p.captures)).toEqual([2, 3]);
    const stored = await repo.partials(model, at(0), at(MIN));
    expect(stored.map((p) => [p.profile.captures, xCount(p.profile)])).toEqual([
      [2, 2],
      [3, 3],
    ]);
    expect(await ingest(rows)).toBe(0);
    expect(await partialRows(model)).toHaveLength(2);
  });
});

describe("the engine's cycle", () => {
  it("re-folds a late partial: bucket and 1m result revision 2, counted", async () => {
    const { model, engine } = await fresh();
    const now = at(2 * MIN + GRACE + 1);
    await ingest([row(model, 1000, 1), row(model, 2000, 2)]);
    expect(await engine.cycle(now)).toEqual([model]);
    expect(await result(model, "1m", MIN)).toMatchObject({ revision: 1, captures: 2 });
    expect((await bucketsOf(model)).map((b) => [b.captures, b.revision])).toEqual([[2, 1]]);

    await ingest([row(model, 30_000, 3)]);
    await engine.cycle(now);
    expect((await bucketsOf(model)).map((b) => [b.captures, b.revision])).toEqual([[3, 2]]);
    const late = await result(model, "1m", MIN);
    expect(late).toMatchObject({ revision: 2, captures: 3 });
    expect(late!.result.captures).toBe(3);
    expect(await counter(model, "late_partials")).toBe(1);
    expect(await counter(model, "result_revisions")).toBe(1);
    expect(await counter(model, "partials_folded")).toBe(2);
  });

  it("evaluates each closed window once as the merge of its minute buckets", async () => {
    const { model, engine, evaluated } = await fresh();
    // Minute i holds i + 1 captures, x = i.
    for (let i = 0; i < 10; i++)
      await ingest(Array.from({ length: i + 1 }, (_, k) => row(model, i * MIN + k, i)));
    const now = at(10 * MIN + GRACE);
    await engine.cycle(now);
    const five = await result(model, "5m", 5 * MIN);
    const ten = await result(model, "5m", 10 * MIN);
    expect([five?.captures, ten?.captures]).toEqual([15, 40]);
    const buckets = await bucketsOf(model);
    const sumX = (from: number, to: number) =>
      buckets
        .filter((b) => b.startAt >= at(from) && b.startAt < at(to))
        .reduce((s, b) => s + xCount(b.profile), 0);
    const field = (r: typeof five) => r!.result.fields.find((f) => f.field === "feature.x")!;
    expect([field(five).count, field(ten).count]).toEqual([sumX(0, 5 * MIN), sumX(5 * MIN, 10 * MIN)]);
    expect(field(ten)).toMatchObject({ min: 5, max: 9 });
    expect(field(ten).mean).toBeCloseTo((5 * 6 + 6 * 7 + 7 * 8 + 8 * 9 + 9 * 10) / 40, 12);
    for (let i = 1; i <= 10; i++) expect(await result(model, "1m", i * MIN)).toMatchObject({ captures: i });
    const first = evaluated.length;
    expect(first).toBe(12);

    // Nothing changed: no window evaluated again, however many cycles, also with later (empty) windows.
    for (const t of [now, now, at(12 * MIN + GRACE), at(15 * MIN + GRACE)]) await engine.cycle(t);
    expect(evaluated.length).toBe(first);
    const revs = await pool.query<{ revision: number }>(
      "SELECT DISTINCT revision FROM monitor_results WHERE model = $1",
      [model],
    );
    expect(revs.rows).toEqual([{ revision: 1 }]);
  });
});

describe("leases", () => {
  it("splits models between owners, takes over an expired lease, and frees leases on release", async () => {
    const names = [0, 1, 2, 3].map(() => `engine-${randomUUID().slice(0, 8)}`);
    models.push(...names);
    const scoped = new ScopedRepository(names);
    const [a, b, c] = [owner(), owner(), owner()];
    const ofA = await scoped.leaseModels(a, 60_000, 2);
    const ofB = await scoped.leaseModels(b, 60_000, 2);
    expect(ofA).toHaveLength(2);
    expect(ofB).toHaveLength(2);
    expect([...ofA, ...ofB].sort()).toEqual([...names].sort());
    expect(await scoped.leaseModels(a, 60_000, 2)).toEqual(ofA);
    // A third owner finds nothing free while both leases live.
    expect(await scoped.leaseModels(c, 60_000, 4)).toEqual([]);

    await pool.query("UPDATE monitor_leases SET expires_at = now() - interval '1 second' WHERE owner = $1", [
      a,
    ]);
    expect(await scoped.leaseModels(c, 60_000, 4)).toEqual(ofA);
    const table = await pool.query<{ model: string; owner: string }>(
      "SELECT model, owner FROM monitor_leases WHERE model = ANY($1) ORDER BY model",
      [names],
    );
    expect(table.rows).toEqual([...names].sort().map((m) => ({ model: m, owner: ofA.includes(m) ? c : b })));
    expect(await scoped.leaseModels(a, 60_000, 2)).toEqual([]);

    await scoped.releaseLeases(c);
    expect(await scoped.leaseModels(b, 60_000, 4)).toEqual([...names].sort());
    await scoped.releaseLeases(b);
    const left = await pool.query("SELECT 1 FROM monitor_leases WHERE model = ANY($1)", [names]);
    expect(left.rowCount).toBe(0);
  });
});

describe("rollups", () => {
  it("rolls old minutes into hours exactly, and a 1h window over them gives the same captures", async () => {
    const { model, engine } = await fresh(1);
    const hourMinutes = [0, 10, 59];
    for (const [i, m] of hourMinutes.entries()) {
      await ingest(Array.from({ length: i + 2 }, (_, k) => row(model, m * MIN + k, m + k * 0.37)));
    }
    await ingest([row(model, HOUR + 5 * MIN, 1), row(model, HOUR + 6 * MIN, 2)]);
    // First a cycle whose rollup cutoff (now - 1 h, to the hour) is T0: nothing rolls up yet.
    await engine.model(model, at(HOUR + 7 * MIN + GRACE));
    const minutes = (await bucketsOf(model, 0, HOUR)).map((b) => Profile.fromJSON(b.profile));
    expect(minutes).toHaveLength(3);
    const expected = Profile.mergeAll(minutes).toJSON();
    const hourly = await result(model, "1h", HOUR);
    expect(hourly?.captures).toBe(9);
    // Every fold keeps the hour bucket: before any rollup it already holds the hour's 9 captures.
    const eager = await bucketsOf(model, 0, HOUR, "hour");
    expect(eager.map((b) => b.captures)).toEqual([9]);
    expect(eager[0]!.profile.fields["feature.x"]!.summary.count).toBe(
      expected.fields["feature.x"]!.summary.count,
    );

    // Two hours later with rollups after 1 h: the first hour rolls up, the second is kept.
    await engine.model(model, at(2 * HOUR + 30 * MIN));
    const rolled = await bucketsOf(model, 0, HOUR, "any");
    expect(rolled.map((b) => [b.resolution, b.startAt.getTime() - T0, b.captures])).toEqual([["hour", 0, 9]]);
    const got = rolled[0]!.profile;
    expect([got.captures, got.instances]).toEqual([expected.captures, expected.instances]);
    const [g, e] = [got.fields["feature.x"]!.summary, expected.fields["feature.x"]!.summary];
    expect([g.count, g.min, g.max]).toEqual([e.count, e.min, e.max]);
    expect(Math.abs(g.mean - e.mean)).toBeLessThan(1e-9);
    expect((await bucketsOf(model, HOUR, 2 * HOUR)).map((b) => b.resolution)).toEqual(["minute", "minute"]);
    expect(await counter(model, "minutes_rolled_up")).toBe(3);

    const [again] = await engine.evaluate(model, HOUR, at(HOUR), undefined, at(2 * HOUR + 30 * MIN));
    expect(again?.captures).toBe(9);
    expect(again?.fields.find((f) => f.field === "feature.x")?.count).toBe(e.count);
  });
});

describe("expiry", () => {
  it("deletes buckets, quality, results and partials before the cutoff day, keeps the rest, about hourly", async () => {
    const { model, engine, keeping } = await fresh();
    const DAY = 24 * HOUR;
    const now = at(2 * DAY);
    const cutoff = expiryCutoff(now, 1).getTime() - T0;
    const [older, newer] = [cutoff - 2 * MIN, cutoff + 2 * MIN];
    const old = [row(model, older, 1), row(model, older + 1000, 2)];
    const kept = row(model, newer, 3);
    await ingest([...old, kept]);
    const labelled = (id: string) =>
      pool.query(
        `INSERT INTO ground_truth (capture_id, request_id, instance, source, source_ref, label, labeled_at, received_at)
         VALUES ($1, '', 0, 'api', '', $2, now(), now())`,
        [id, JSON.stringify({ kind: "classification", label: "a", score: null })],
      );
    await labelled(old[0]!.id);
    await labelled(kept.id);
    await engine.model(model, now);
    for (const end of [older + MIN - (older % MIN), newer + MIN - (newer % MIN)]) {
      await engine.evaluate(model, MIN, at(end), undefined, now);
    }
    const rows = async () => {
      const q = async (sql: string) =>
        (await pool.query<{ t: Date }>(sql, [model])).rows.map((r) => r.t.getTime() - T0);
      return {
        buckets: await q("SELECT start_at AS t FROM monitor_buckets WHERE model = $1 ORDER BY 1"),
        quality: await q("SELECT minute AS t FROM monitor_quality WHERE model = $1 ORDER BY 1"),
        // Every window over the old minute (1m, 5m, 1h) was evaluated when it was folded.
        results: await q("SELECT window_end AS t FROM monitor_results WHERE model = $1 ORDER BY 1"),
        partials: await q("SELECT minute AS t FROM monitor_partials WHERE model = $1 ORDER BY 1"),
      };
    };
    const before = await rows();
    expect(before.buckets.filter((t) => t < cutoff).length).toBe(2); // the old minute and its hour
    expect(before.quality).toEqual([older - (older % MIN), newer - (newer % MIN)]);
    expect(before.results.filter((t) => t <= cutoff).length).toBe(3);

    const expiring = keeping(1);
    await expiring.model(model, now);
    const after = await rows();
    expect(after.buckets.every((t) => t >= cutoff)).toBe(true);
    expect(after.buckets.length).toBe(before.buckets.length - 2);
    expect(after.quality).toEqual([newer - (newer % MIN)]);
    expect(after.results.every((t) => t > cutoff)).toBe(true);
    expect(after.results.length).toBe(before.results.length - 3);
    expect(await counter(model, "rows_expired")).toBe(2 + 1 + 3);

    // A late capture and a late label for the expired minute: the capture folds again (its
    // buckets go with the next sweep, an hour later), but neither brings back a quality row or
    // evaluates a window that starts before the cutoff over what is left of it.
    await ingest([row(model, older + 2000, 4)]);
    await labelled(old[1]!.id);
    await expiring.model(model, new Date(now.getTime() + 10 * MIN));
    const late = await rows();
    expect(late.buckets.filter((t) => t < cutoff).length).toBe(2);
    expect(late.quality.filter((t) => t < cutoff)).toEqual([]);
    expect(late.results.filter((t) => t <= cutoff)).toEqual([]);
    await expiring.model(model, new Date(now.getTime() + HOUR));
    expect((await rows()).buckets.filter((t) => t < cutoff)).toEqual([]);
  });

  it("deletes partials not folded yet before the cutoff, and only those", async () => {
    const { model } = await fresh();
    const cutoff = expiryCutoff(at(2 * 24 * HOUR), 1);
    const rel = cutoff.getTime() - T0;
    await ingest([row(model, rel - MIN, 1), row(model, rel - 1, 2), row(model, rel, 3)]);
    expect((await partialRows(model)).length).toBe(2);
    expect(await repo.expire(model, cutoff, 5000)).toBe(1);
    expect((await partialRows(model)).map((p) => p.minute.getTime())).toEqual([cutoff.getTime()]);
    await expect(repo.expire(model, new Date(cutoff.getTime() + MIN), 5000)).rejects.toThrow(/whole hour/);
  });
});

describe("backfill: rebuildMinute", () => {
  it("rebuilds a minute to the fold's count, consuming its partials, never counting twice", async () => {
    const { model } = await fresh();
    await ingest([row(model, 1000, 1), row(model, 2000, 2)]);
    await ingest([row(model, 3000, 3)]);
    await repo.foldPartials(model, at(MIN), 2000, mergeProfiles);
    const folded = (await bucketsOf(model))[0]!;
    expect(folded.captures).toBe(3);

    const out = await repo.rebuildMinute(model, at(0), build);
    expect(out).toEqual({ captures: 3, versions: ["1"] });
    const rebuilt = (await bucketsOf(model))[0]!;
    expect([rebuilt.captures, xCount(rebuilt.profile)]).toEqual([3, xCount(folded.profile)]);
    expect(rebuilt.profile.fields["feature.x"]!.summary.mean).toBeCloseTo(2, 12);

    // A partial of the minute not folded yet: the rebuild reads its captures and drops it.
    await ingest([row(model, 4000, 4), row(model, 5000, 5)]);
    expect(await partialRows(model)).toHaveLength(1);
    expect((await repo.rebuildMinute(model, at(0), build)).captures).toBe(5);
    expect(await partialRows(model)).toEqual([]);
    expect((await repo.foldPartials(model, at(MIN), 2000, mergeProfiles)).partials).toBe(0);
    expect((await bucketsOf(model)).map((b) => b.captures)).toEqual([5]);
  });
});

describe("quality", () => {
  const label = (l: string) => JSON.stringify({ kind: "classification", label: l, score: null });

  it("computes accuracy from labels, recomputes it when a label changes, and reads each label once", async () => {
    const { model, engine } = await fresh();
    const rows = ["a", "a", "b", "b"].map((l, i) => row(model, i * 1000, i, l));
    await ingest(rows);
    const truth = ["a", "b", "b", "b"];
    for (const [i, r] of rows.entries()) {
      await pool.query(
        `INSERT INTO ground_truth (capture_id, request_id, instance, source, source_ref, label, labeled_at, received_at)
         VALUES ($1, '', 0, 'api', '', $2, now() - interval '2 hours', now() - interval '1 hour')`,
        [r.id, label(truth[i]!)],
      );
    }
    const now = at(MIN + GRACE);
    const quality = async () =>
      (
        await pool.query<{ labeled: number; revision: number; quality: QualityAggregate }>(
          "SELECT labeled, revision, quality FROM monitor_quality WHERE model = $1",
          [model],
        )
      ).rows;
    await engine.model(model, now);
    let q = await quality();
    expect(q.map((r) => [r.labeled, r.revision, headlineMetrics(r.quality).accuracy])).toEqual([
      [4, 1, 0.75],
    ]);
    let res = await result(model, "1m", MIN);
    expect(res).toMatchObject({ revision: 1, labeled: 4 });
    expect(res!.result.quality.accuracy).toBe(0.75);

    // The second capture's label corrected later: its minute and its window again.
    await pool.query(
      `UPDATE ground_truth SET label = $2, labeled_at = now() - interval '30 minutes', received_at = now() - interval '10 seconds'
        WHERE capture_id = $1`,
      [rows[1]!.id, label("a")],
    );
    await engine.model(model, now);
    q = await quality();
    expect(q.map((r) => [r.labeled, r.revision, headlineMetrics(r.quality).accuracy])).toEqual([[4, 2, 1]]);
    res = await result(model, "1m", MIN);
    expect(res).toMatchObject({ revision: 2, labeled: 4 });
    expect(res!.result.quality.accuracy).toBe(1);

    // The watermark is past that label: a third cycle reads nothing again.
    await engine.model(model, now);
    expect((await quality()).map((r) => r.revision)).toEqual([2]);
    expect((await result(model, "1m", MIN))?.revision).toBe(2);
  });
});

describe("a burst of label changes", () => {
  it("recomputes QUALITY_MINUTES minutes a cycle, in queue order, the rest the next cycles", async () => {
    const { model, engine } = await fresh();
    const n = QUALITY_MINUTES + 60;
    const rows = Array.from({ length: n }, (_, i) => row(model, i * MIN, i));
    await ingest(rows);
    const now = at(n * MIN + GRACE);
    await engine.model(model, now); // folds every minute; no label yet, so no quality row
    await pool.query(
      `INSERT INTO ground_truth (capture_id, request_id, instance, source, source_ref, label, labeled_at, received_at)
       SELECT id, '', 0, 'api', '', $2, now(), now() - interval '10 seconds' FROM unnest($1::text[]) AS id`,
      [rows.map((r) => r.id), JSON.stringify({ kind: "classification", label: "a", score: null })],
    );
    const minutes = async () =>
      (
        await pool.query<{ minute: Date }>(
          "SELECT minute FROM monitor_quality WHERE model = $1 ORDER BY minute",
          [model],
        )
      ).rows.map((r) => (r.minute.getTime() - T0) / MIN);
    await engine.model(model, now);
    expect(await minutes()).toEqual(Array.from({ length: QUALITY_MINUTES }, (_, i) => i));
    expect((await repo.pendingQuality(model, 1)).total).toBe(60);
    // A minute later the label scan no longer looks back at these labels (it re-reads the last
    // minute's, for transactions that commit late): the queue then drains.
    await repo.setWatermark(model, "labels", new Date(Date.now() + 2 * MIN));
    await engine.model(model, now);
    expect(await minutes()).toEqual(Array.from({ length: n }, (_, i) => i));
    expect((await repo.pendingQuality(model, 1)).total).toBe(0);
    // Every 1m window over a labeled minute was evaluated again with its label.
    expect((await result(model, "1m", n * MIN))?.labeled).toBe(1);
  });

  it("keeps a queued minute's place, and clears only the entry it read", async () => {
    const { model } = await fresh();
    const [a, b] = [at(5 * MIN), at(0)].map((minute) => ({ version: "1", minute }));
    await repo.queueQuality(model, [a!], null);
    await repo.queueQuality(model, [b!, a!], null); // a keeps its place before b
    const read = await repo.pendingQuality(model, 10);
    expect(read.minutes.map((p) => p.minute)).toEqual([a!.minute, b!.minute]);
    // Another replica clears a and queues it again after its recompute: a new entry, kept.
    await repo.clearQuality(model, read.minutes.slice(0, 1));
    await repo.queueQuality(model, [a!], null);
    await repo.clearQuality(model, read.minutes);
    const left = await repo.pendingQuality(model, 10);
    expect(left.minutes.map((p) => p.minute)).toEqual([a!.minute]);
    expect(left.total).toBe(1);
  });
});

describe("modeltap monitor backfill", () => {
  it("rebuilds minutes and hours from stored captures, keeps counts exact, and evaluates the range", async () => {
    const { model } = await fresh();
    // Captures stored with no profile at all (before monitoring existed): 4 in minute 2, 3 in minute 40.
    const rows = [
      ...Array.from({ length: 4 }, (_, k) => row(model, 2 * MIN + k * 1000, k)),
      ...Array.from({ length: 3 }, (_, k) => row(model, 40 * MIN + k * 1000, 10 + k)),
    ];
    await captures.insertCaptures(rows);
    // And one captured the usual way, whose partial is still unfolded: the backfill counts it once.
    await ingest([row(model, 40 * MIN + 30_000, 20)]);
    const out = execFileSync(
      process.execPath,
      [
        path.join(PACKAGE_ROOT, "bin", "modeltap.js"),
        "monitor",
        "backfill",
        "--model",
        model,
        `--from=${at(0).toISOString()}`,
        `--to=${at(HOUR).toISOString()}`,
      ],
      { env: { ...productEnv(process.env), MODELTAP_MONITOR_WINDOWS: "1m,1h" }, encoding: "utf8" },
    );
    expect(out).toMatch(/profiles rebuilt from 8 captures \(1 hour buckets\)/);
    expect((await bucketsOf(model)).map((b) => [b.startAt.getTime() - T0, b.captures])).toEqual([
      [2 * MIN, 4],
      [40 * MIN, 4],
    ]);
    expect((await bucketsOf(model, 0, HOUR, "hour")).map((b) => b.captures)).toEqual([8]);
    expect(await partialRows(model)).toEqual([]);
    expect((await result(model, "1h", HOUR))?.captures).toBe(8);
    expect((await result(model, "1m", 3 * MIN))?.captures).toBe(4);
  });
});
