/** MonitorStore on Postgres (migration 006). All SQL is parameterized. */
import type pg from "pg";
import { ModeltapError } from "../../core/errors.js";
import type { Prediction } from "../../core/canonical.js";
import type { Baseline } from "../../core/monitoring/baseline.js";
import type { ProfileJson } from "../../core/monitoring/profile.js";
import type {
  BucketRow,
  FoldOutcome,
  LabeledPrediction,
  MonitorStore,
  PendingMinute,
  QualityRow,
  Resolution,
  ResultRow,
  StoredBaseline,
  StoredProfiledCapture,
} from "../../core/monitoring/store.js";
import { withClient } from "./pool.js";

const HOUR_MS = 3_600_000;

/** The capture columns profiling reads (fields.ts ProfiledCapture). */
const PROFILED = `id, version, received_at, status_code, duration_ms, parse_error, analysis,
  request_wire_size_bytes, request_truncated, response_wire_size_bytes, response_truncated`;

function profiledFrom(r: Record<string, unknown>): StoredProfiledCapture {
  return {
    id: r.id as string,
    version: r.version as string,
    receivedAt: r.received_at as Date,
    statusCode: Number(r.status_code),
    durationMs: Number(r.duration_ms),
    parseError: r.parse_error as string,
    analysis: r.analysis as StoredProfiledCapture["analysis"],
    request: { wireSizeBytes: Number(r.request_wire_size_bytes), truncated: r.request_truncated as boolean },
    response: {
      wireSizeBytes: Number(r.response_wire_size_bytes),
      truncated: r.response_truncated as boolean,
    },
  };
}

interface BaselineDb {
  id: string;
  model: string;
  version: string | null;
  active: boolean;
  created_at: Date;
  doc: Baseline;
}

function baselineFrom(r: BaselineDb): StoredBaseline {
  return {
    id: r.id,
    model: r.model,
    version: r.version,
    active: r.active,
    createdAt: r.created_at,
    doc: r.doc,
  };
}

function bucketFrom(r: Record<string, unknown>): BucketRow {
  return {
    model: r.model as string,
    version: r.version as string,
    resolution: r.resolution as Resolution,
    startAt: r.start_at as Date,
    captures: Number(r.captures),
    profile: r.profile as ProfileJson,
    revision: Number(r.revision),
    updatedAt: r.updated_at as Date,
  };
}

function resultFrom(r: Record<string, unknown>): ResultRow {
  return {
    model: r.model as string,
    version: r.version as string,
    window: r.window_name as string,
    windowEnd: r.window_end as Date,
    revision: Number(r.revision),
    baselineId: r.baseline_id as string | null,
    captures: Number(r.captures),
    instances: Number(r.instances),
    labeled: Number(r.labeled),
    result: r.result,
    evaluatedAt: r.evaluated_at as Date,
  };
}

/** The advisory lock a fold takes per model (rollups, rebuilds and backfills take it too). */
const foldKey = (model: string) => `modeltap-monitor-fold\n${model}`;
/** Held by `monitor backfill` for its whole run: rollups of the model wait for the next cycle. */
const backfillKey = (model: string) => `modeltap-monitor-backfill\n${model}`;

interface BucketGroup {
  version: string;
  start: Date;
  captures: number;
  profiles: ProfileJson[];
}

function hourOf(d: Date): Date {
  return new Date(Math.floor(d.getTime() / HOUR_MS) * HOUR_MS);
}

function groupBy(
  rows: ReadonlyArray<{ version: string; captures: number; profile: ProfileJson; minute: Date }>,
  startOf: (r: { minute: Date }) => Date,
): BucketGroup[] {
  const groups = new Map<string, BucketGroup>();
  for (const r of rows) {
    const start = startOf(r);
    const key = `${r.version}\u0000${start.getTime()}`;
    const g = groups.get(key) ?? { version: r.version, start, captures: 0, profiles: [] };
    g.captures += r.captures;
    g.profiles.push(r.profile);
    groups.set(key, g);
  }
  return [...groups.values()];
}

/** Merge profiles into a bucket (created when missing); true when it existed. */
async function addToBucket(
  c: pg.PoolClient,
  model: string,
  resolution: Resolution,
  g: BucketGroup,
  merge: (bucket: ProfileJson | null, partials: ProfileJson[]) => ProfileJson,
): Promise<boolean> {
  const existing = await c.query<{ profile: ProfileJson; captures: number }>(
    `SELECT profile, captures FROM monitor_buckets
      WHERE model = $1 AND version = $2 AND resolution = $3 AND start_at = $4 FOR UPDATE`,
    [model, g.version, resolution, g.start],
  );
  const before = existing.rows[0];
  await c.query(
    `INSERT INTO monitor_buckets (model, version, resolution, start_at, captures, profile)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (model, version, resolution, start_at) DO UPDATE
       SET captures = EXCLUDED.captures, profile = EXCLUDED.profile,
           revision = monitor_buckets.revision + 1, updated_at = now()`,
    [
      model,
      g.version,
      resolution,
      g.start,
      (before?.captures ?? 0) + g.captures,
      JSON.stringify(merge(before?.profile ?? null, g.profiles)),
    ],
  );
  return before !== undefined;
}

async function transaction<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  return withClient(pool, async (client) => {
    await client.query("BEGIN");
    try {
      const out = await fn(client);
      await client.query("COMMIT");
      return out;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw err;
    }
  });
}

export class PostgresMonitorRepository implements MonitorStore {
  constructor(private readonly pool: pg.Pool) {}

  async activeBaselines(): Promise<Baseline[]> {
    const res = await this.pool.query<{ doc: Baseline }>("SELECT doc FROM baselines WHERE active");
    return res.rows.map((r) => r.doc);
  }

  async baselines(model?: string): Promise<StoredBaseline[]> {
    const res = await this.pool.query<BaselineDb>(
      `SELECT id, model, version, active, created_at, doc FROM baselines
        WHERE ($1::text IS NULL OR model = $1) ORDER BY model, created_at DESC, id`,
      [model ?? null],
    );
    return res.rows.map(baselineFrom);
  }

  async baseline(id: string): Promise<StoredBaseline | undefined> {
    const res = await this.pool.query<BaselineDb>(
      "SELECT id, model, version, active, created_at, doc FROM baselines WHERE id = $1",
      [id],
    );
    return res.rows[0] ? baselineFrom(res.rows[0]) : undefined;
  }

  async activeBaseline(model: string): Promise<Baseline | undefined> {
    const res = await this.pool.query<{ doc: Baseline }>(
      "SELECT doc FROM baselines WHERE model = $1 AND active",
      [model],
    );
    return res.rows[0]?.doc;
  }

  async saveBaseline(b: Baseline, activate: boolean): Promise<void> {
    await transaction(this.pool, async (c) => {
      const res = await c.query(
        `INSERT INTO baselines (id, model, version, created_at, doc) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO NOTHING`,
        [b.id, b.model, b.version, b.created_at, JSON.stringify(b)],
      );
      if (res.rowCount === 0) throw new ModeltapError("BASELINE_EXISTS", `baseline ${b.id} already exists`);
      if (activate) await activate_(c, b.id);
    });
  }

  async activateBaseline(id: string): Promise<StoredBaseline> {
    await transaction(this.pool, (c) => activate_(c, id));
    return (await this.baseline(id))!;
  }

  async models(): Promise<string[]> {
    const res = await this.pool.query<{ model: string }>(
      // Not monitor_buckets (it grows by a row per model and minute): a model with buckets has a
      // window watermark, and one with new captures has partials.
      `SELECT model FROM monitor_partials UNION SELECT model FROM monitor_watermarks
       UNION SELECT model FROM baselines ORDER BY model`,
    );
    return res.rows.map((r) => r.model);
  }

  async heartbeat(owner: string, ttlMs: number): Promise<number> {
    await this.pool.query(
      `INSERT INTO monitor_replicas (owner, seen_at) VALUES ($1, now())
       ON CONFLICT (owner) DO UPDATE SET seen_at = now()`,
      [owner],
    );
    await this.pool.query("DELETE FROM monitor_replicas WHERE seen_at < now() - make_interval(secs => $1)", [
      (ttlMs * 3) / 1000,
    ]);
    const res = await this.pool.query<{ n: string }>(
      "SELECT count(*) AS n FROM monitor_replicas WHERE seen_at >= now() - make_interval(secs => $1)",
      [ttlMs / 1000],
    );
    return Number(res.rows[0]!.n);
  }

  async leaseModels(owner: string, ttlMs: number, share: number): Promise<string[]> {
    const secs = ttlMs / 1000;
    // Renew what this owner holds, then take free or expired leases up to its share.
    await this.pool.query(
      "UPDATE monitor_leases SET expires_at = now() + make_interval(secs => $2) WHERE owner = $1",
      [owner, secs],
    );
    const held = await this.pool.query<{ model: string }>(
      "SELECT model FROM monitor_leases WHERE owner = $1 ORDER BY model",
      [owner],
    );
    let mine = held.rows.map((r) => r.model);
    if (mine.length > share) {
      const extra = mine.slice(share);
      await this.pool.query("DELETE FROM monitor_leases WHERE owner = $1 AND model = ANY($2)", [
        owner,
        extra,
      ]);
      mine = mine.slice(0, share);
    }
    for (const model of await this.models()) {
      if (mine.length >= share) break;
      if (mine.includes(model)) continue;
      const res = await this.pool.query(
        `INSERT INTO monitor_leases (model, owner, expires_at) VALUES ($1, $2, now() + make_interval(secs => $3))
         ON CONFLICT (model) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
          WHERE monitor_leases.expires_at < now() OR monitor_leases.owner = EXCLUDED.owner
         RETURNING model`,
        [model, owner, secs],
      );
      if (res.rowCount) mine.push(model);
    }
    return mine.sort();
  }

  async releaseLeases(owner: string): Promise<void> {
    await this.pool.query("DELETE FROM monitor_leases WHERE owner = $1", [owner]);
    await this.pool.query("DELETE FROM monitor_replicas WHERE owner = $1", [owner]);
  }

  async foldPartials(
    model: string,
    closedBefore: Date,
    limit: number,
    merge: (bucket: ProfileJson | null, partials: ProfileJson[]) => ProfileJson,
  ): Promise<FoldOutcome> {
    return transaction(this.pool, async (c) => {
      // One fold of a model at a time (two replicas briefly holding it, an expired lease): two
      // folds creating the same new bucket would otherwise both see no bucket, and the second
      // upsert would overwrite the first's captures (FOR UPDATE cannot lock a row not there yet).
      // After the wait, READ COMMITTED gives the next statement the first fold's deletes and buckets.
      await c.query("SELECT pg_advisory_xact_lock(hashtext($1))", [foldKey(model)]);
      const res = await c.query<{
        id: string;
        version: string;
        minute: Date;
        captures: number;
        profile: ProfileJson;
      }>(
        `SELECT id, version, minute, captures, profile FROM monitor_partials
          WHERE model = $1 AND minute < $2 ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED`,
        [model, closedBefore, limit],
      );
      // Each partial goes into its minute bucket and into its hour bucket, in this transaction:
      // windows of whole hours merge hour buckets (24 for a day, not 1,440 minutes).
      const minutes = groupBy(res.rows, (r) => r.minute);
      const hours = groupBy(res.rows, (r) => hourOf(r.minute));
      const touched: FoldOutcome["touched"] = [];
      for (const g of minutes) {
        await addToBucket(c, model, "minute", g, merge);
        touched.push({ version: g.version, startAt: g.start, partials: g.profiles.length });
      }
      for (const g of hours) await addToBucket(c, model, "hour", g, merge);
      const ids = res.rows.map((r) => r.id);
      if (ids.length > 0) await c.query("DELETE FROM monitor_partials WHERE id = ANY($1::bigint[])", [ids]);
      return { partials: ids.length, buckets: minutes.length, touched };
    });
  }

  async buckets(model: string, version: string | null, from: Date, to: Date): Promise<BucketRow[]> {
    const res = await this.pool.query<Record<string, unknown>>(
      `SELECT model, version, resolution, start_at, captures, profile, revision, updated_at FROM monitor_buckets
        WHERE model = $1 AND ($2::text IS NULL OR version = $2) AND start_at >= $3 AND start_at < $4
        ORDER BY start_at, version, resolution`,
      [model, version, from, to],
    );
    return res.rows.map(bucketFrom);
  }

  async windowBuckets(
    model: string,
    version: string | null,
    from: Date,
    to: Date,
    withPartials: boolean,
  ): Promise<{
    buckets: BucketRow[];
    partials: Array<{ version: string; minute: Date; profile: ProfileJson }>;
  }> {
    // Whole hours inside [from, to) from their hour buckets, the rest (and any hour without an
    // hour bucket) from minute buckets; every capture is in one of each, so none counts twice.
    const hoursFrom = new Date(Math.ceil(from.getTime() / HOUR_MS) * HOUR_MS);
    const hoursTo = new Date(Math.max(hoursFrom.getTime(), hourOf(to).getTime()));
    return withClient(this.pool, async (c) => {
      // One snapshot: a fold committing between the reads would otherwise move partials into a
      // bucket already read (or out of the partials about to be).
      await c.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      try {
        const res = await c.query<Record<string, unknown>>(
          `SELECT model, version, resolution, start_at, captures, profile, revision, updated_at FROM monitor_buckets b
            WHERE model = $1 AND ($2::text IS NULL OR version = $2)
              AND ((resolution = 'hour' AND start_at >= $5 AND start_at < $6)
                OR (resolution = 'minute' AND start_at >= $3 AND start_at < $4
                    AND NOT (start_at >= $5 AND start_at < $6 AND EXISTS (
                      SELECT 1 FROM monitor_buckets h
                       WHERE h.model = b.model AND h.version = b.version AND h.resolution = 'hour'
                         AND h.start_at = date_trunc('hour', b.start_at, 'UTC')))))
            ORDER BY start_at, version, resolution`,
          [model, version, from, to, hoursFrom, hoursTo],
        );
        const partials = withPartials
          ? (
              await c.query<{ version: string; minute: Date; profile: ProfileJson }>(
                `SELECT version, minute, profile FROM monitor_partials
                  WHERE model = $1 AND ($2::text IS NULL OR version = $2) AND minute >= $3 AND minute < $4 ORDER BY id`,
                [model, version, from, to],
              )
            ).rows
          : [];
        await c.query("COMMIT");
        return { buckets: res.rows.map(bucketFrom), partials };
      } catch (err) {
        await c.query("ROLLBACK").catch(() => undefined);
        throw err;
      }
    });
  }

  async bucketsUpdatedSince(
    model: string,
    since: Date,
  ): Promise<Array<{ version: string; startAt: Date; resolution: Resolution }>> {
    const res = await this.pool.query<{ version: string; start_at: Date; resolution: Resolution }>(
      "SELECT version, start_at, resolution FROM monitor_buckets WHERE model = $1 AND updated_at > $2",
      [model, since],
    );
    return res.rows.map((r) => ({ version: r.version, startAt: r.start_at, resolution: r.resolution }));
  }

  async rollUp(
    model: string,
    before: Date,
    merge: (bucket: ProfileJson | null, partials: ProfileJson[]) => ProfileJson,
  ): Promise<number> {
    // Hour buckets are kept up to date by every fold: rolling up is dropping the minute buckets of
    // whole hours before the cutoff. An hour that has minutes and no hour bucket (minutes rebuilt
    // by a backfill) gets one made of them first.
    const cutoff = hourOf(before);
    const hours = await this.pool.query<{ version: string; hour: Date }>(
      `SELECT DISTINCT version, date_trunc('hour', start_at, 'UTC') AS hour FROM monitor_buckets
        WHERE model = $1 AND resolution = 'minute' AND start_at < $2 ORDER BY 2, 1 LIMIT 48`,
      [model, cutoff],
    );
    let dropped = 0;
    for (const h of hours.rows) {
      const n = await transaction(this.pool, async (c) => {
        // A backfill of this model rebuilds minutes and then their hours: not now.
        const free = await c.query<{ free: boolean }>(
          "SELECT pg_try_advisory_xact_lock_shared(hashtext($1)) AS free",
          [backfillKey(model)],
        );
        if (!free.rows[0]!.free) return -1;
        await c.query("SELECT pg_advisory_xact_lock(hashtext($1))", [foldKey(model)]);
        const minutes = await c.query<{ captures: number; profile: ProfileJson }>(
          `SELECT captures, profile FROM monitor_buckets
            WHERE model = $1 AND version = $2 AND resolution = 'minute'
              AND start_at >= $3 AND start_at < $3 + interval '1 hour' FOR UPDATE`,
          [model, h.version, h.hour],
        );
        const hour = await c.query(
          "SELECT 1 FROM monitor_buckets WHERE model = $1 AND version = $2 AND resolution = 'hour' AND start_at = $3",
          [model, h.version, h.hour],
        );
        if (hour.rowCount === 0 && minutes.rows.length > 0) {
          const group = {
            version: h.version,
            start: h.hour,
            captures: minutes.rows.reduce((n, m) => n + Number(m.captures), 0),
            profiles: minutes.rows.map((m) => m.profile),
          };
          await addToBucket(c, model, "hour", group, merge);
        }
        const del = await c.query(
          `DELETE FROM monitor_buckets WHERE model = $1 AND version = $2 AND resolution = 'minute'
             AND start_at >= $3 AND start_at < $3 + interval '1 hour'`,
          [model, h.version, h.hour],
        );
        return del.rowCount ?? 0;
      });
      if (n < 0) break;
      dropped += n;
    }
    return dropped;
  }

  /** Make each hour bucket of [from, to) the merge of its minute buckets (after a backfill), an hour at a time. */
  async rebuildHours(
    model: string,
    from: Date,
    to: Date,
    merge: (bucket: ProfileJson | null, partials: ProfileJson[]) => ProfileJson,
  ): Promise<number> {
    let rebuilt = 0;
    for (let hour = hourOf(from).getTime(); hour < to.getTime(); hour += HOUR_MS) {
      const start = new Date(hour);
      rebuilt += await transaction(this.pool, async (c) => {
        await c.query("SELECT pg_advisory_xact_lock(hashtext($1))", [foldKey(model)]);
        const minutes = await c.query<{
          version: string;
          start_at: Date;
          captures: number;
          profile: ProfileJson;
        }>(
          `SELECT version, start_at, captures, profile FROM monitor_buckets
            WHERE model = $1 AND resolution = 'minute' AND start_at >= $2 AND start_at < $2 + interval '1 hour'`,
          [model, start],
        );
        // No minutes: no stored captures (retention erased them): the hour keeps its profile.
        if (minutes.rows.length === 0) return 0;
        await c.query(
          "DELETE FROM monitor_buckets WHERE model = $1 AND resolution = 'hour' AND start_at = $2",
          [model, start],
        );
        const groups = groupBy(
          minutes.rows.map((m) => ({ ...m, minute: m.start_at, captures: Number(m.captures) })),
          (r) => hourOf(r.minute),
        );
        for (const g of groups) await addToBucket(c, model, "hour", g, merge);
        return groups.length;
      });
    }
    return rebuilt;
  }

  async withBackfillLock<T>(model: string, fn: () => Promise<T>): Promise<T> {
    return withClient(this.pool, async (c) => {
      await c.query("SELECT pg_advisory_lock(hashtext($1))", [backfillKey(model)]);
      try {
        return await fn();
      } finally {
        await c.query("SELECT pg_advisory_unlock(hashtext($1))", [backfillKey(model)]).catch(() => undefined);
      }
    });
  }

  async pruneResults(model: string, windows: readonly string[], before: Date): Promise<number> {
    if (windows.length === 0) return 0;
    const res = await this.pool.query(
      "DELETE FROM monitor_results WHERE model = $1 AND window_name = ANY($2) AND window_end < $3",
      [model, windows, before],
    );
    return res.rowCount ?? 0;
  }

  async expire(model: string, before: Date, limit: number): Promise<number> {
    if (before.getTime() % HOUR_MS !== 0) throw new RangeError("expire: the cutoff must be on a whole hour");
    // Each statement takes at most `limit` rows (by primary key, so one sweep never holds a large
    // lock). A bucket, partial or quality row goes once its minute or hour ends by the cutoff; the
    // cutoff is on a whole hour (UTC midnight), so that is a start before it: a plain comparison
    // on the indexed column (a range of monitor_partials_model_minute, a filter within the model's
    // part of the other primary keys) rather than an expression on every row.
    const statements = [
      `DELETE FROM monitor_buckets WHERE (model, version, resolution, start_at) IN (
         SELECT model, version, resolution, start_at FROM monitor_buckets
          WHERE model = $1 AND start_at < $2 LIMIT $3)`,
      `DELETE FROM monitor_quality WHERE (model, version, minute) IN (
         SELECT model, version, minute FROM monitor_quality WHERE model = $1 AND minute < $2 LIMIT $3)`,
      `DELETE FROM monitor_results WHERE (model, version, window_name, window_end) IN (
         SELECT model, version, window_name, window_end FROM monitor_results WHERE model = $1 AND window_end <= $2 LIMIT $3)`,
      `DELETE FROM monitor_partials WHERE id IN (
         SELECT id FROM monitor_partials WHERE model = $1 AND minute < $2 LIMIT $3)`,
      `DELETE FROM monitor_quality_pending WHERE (model, version, minute) IN (
         SELECT model, version, minute FROM monitor_quality_pending WHERE model = $1 AND minute < $2 LIMIT $3)`,
    ];
    let n = 0;
    for (const sql of statements) n += (await this.pool.query(sql, [model, before, limit])).rowCount ?? 0;
    return n;
  }

  async labelChanges(
    model: string,
    since: string,
  ): Promise<{ minutes: Array<{ version: string; minute: Date }>; newest: string | null }> {
    // Times as text: timestamptz has microseconds, a JS Date only milliseconds. The scan ends two
    // seconds ago and the returned watermark is that end, so a model with no labels moves on too;
    // it starts a minute before the watermark, so a label whose transaction committed up to a
    // minute after it began (received_at) is still read (its minute recomputed once more gives the
    // same answer, and saveQuality writes nothing that did not change).
    const bound = await this.pool.query<{ upto: string }>(
      `SELECT to_char((now() - interval '2 seconds') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS upto`,
    );
    const upto = bound.rows[0]!.upto;
    const res = await this.pool.query<{ version: string; minute: Date }>(
      `SELECT c.version, date_trunc('minute', c.received_at, 'UTC') AS minute
         FROM ground_truth g JOIN captures c ON c.id = g.capture_id
        WHERE g.capture_id <> '' AND c.model = $1
          AND g.received_at > $2::timestamptz - interval '1 minute' AND g.received_at <= $3::timestamptz
       UNION
       SELECT c.version, date_trunc('minute', c.received_at, 'UTC')
         FROM ground_truth g JOIN captures c ON c.request_id = g.request_id
        WHERE g.request_id <> '' AND c.model = $1
          AND g.received_at > $2::timestamptz - interval '1 minute' AND g.received_at <= $3::timestamptz`,
      [model, since, upto],
    );
    return { minutes: res.rows.map((r) => ({ version: r.version, minute: r.minute })), newest: upto };
  }

  async queueQuality(
    model: string,
    minutes: ReadonlyArray<{ version: string; minute: Date }>,
    watermark: string | null,
  ): Promise<void> {
    // Oldest minute first within a batch, so the queue's order is prediction time's where it can be.
    const sorted = [...minutes].sort(
      (a, b) => a.minute.getTime() - b.minute.getTime() || (a.version < b.version ? -1 : 1),
    );
    await transaction(this.pool, async (c) => {
      if (sorted.length > 0) {
        await c.query(
          `INSERT INTO monitor_quality_pending (model, version, minute)
           SELECT $1, v, m FROM unnest($2::text[], $3::timestamptz[]) AS u(v, m)
           ON CONFLICT (model, version, minute) DO NOTHING`,
          [model, sorted.map((m) => m.version), sorted.map((m) => m.minute)],
        );
      }
      if (watermark !== null) {
        await c.query(
          `INSERT INTO monitor_watermarks (model, name, at) VALUES ($1, 'labels', $2)
           ON CONFLICT (model, name) DO UPDATE SET at = GREATEST(monitor_watermarks.at, EXCLUDED.at)`,
          [model, watermark],
        );
      }
    });
  }

  async pendingQuality(model: string, limit: number): Promise<{ minutes: PendingMinute[]; total: number }> {
    // Ordered by the bigint column: an output column named seq (the text) would order "45" < "5".
    const res = await this.pool.query<{ version: string; minute: Date; seq_text: string; total: string }>(
      `SELECT version, minute, seq::text AS seq_text, count(*) OVER () AS total FROM monitor_quality_pending
        WHERE model = $1 ORDER BY seq LIMIT $2`,
      [model, limit],
    );
    return {
      minutes: res.rows.map((r) => ({ version: r.version, minute: r.minute, seq: r.seq_text })),
      total: Number(res.rows[0]?.total ?? 0),
    };
  }

  async clearQuality(model: string, minutes: readonly PendingMinute[]): Promise<void> {
    if (minutes.length === 0) return;
    await this.pool.query(
      `DELETE FROM monitor_quality_pending p USING unnest($2::text[], $3::timestamptz[], $4::bigint[]) AS u(v, m, s)
        WHERE p.model = $1 AND p.version = u.v AND p.minute = u.m AND p.seq = u.s`,
      [model, minutes.map((m) => m.version), minutes.map((m) => m.minute), minutes.map((m) => m.seq)],
    );
  }

  async labeledPredictions(
    model: string,
    version: string | null,
    from: Date,
    to: Date,
  ): Promise<LabeledPrediction[]> {
    // Per capture instance, the newest live label of any source (labels posted by request id
    // belong to every capture of the request).
    const res = await this.pool.query<{
      version: string;
      minute: Date;
      instance: number;
      prediction: Prediction | null;
      label: Prediction;
    }>(
      `SELECT DISTINCT ON (c.id, g.instance) c.version, date_trunc('minute', c.received_at, 'UTC') AS minute,
              g.instance, c.predictions -> g.instance AS prediction, g.label
         FROM captures c
         JOIN ground_truth g ON (g.capture_id = c.id OR (g.request_id <> '' AND g.request_id = c.request_id))
        WHERE c.model = $1 AND ($2::text IS NULL OR c.version = $2) AND c.received_at >= $3 AND c.received_at < $4
          AND NOT g.deleted AND g.label IS NOT NULL
        ORDER BY c.id, g.instance, g.labeled_at DESC, g.received_at DESC`,
      [model, version, from, to],
    );
    return res.rows.map((r) => ({
      version: r.version,
      minute: r.minute,
      instance: r.instance,
      prediction: r.prediction ?? null,
      label: r.label,
    }));
  }

  async partials(
    model: string,
    from: Date,
    to: Date,
  ): Promise<Array<{ version: string; minute: Date; profile: ProfileJson }>> {
    const res = await this.pool.query<{ version: string; minute: Date; profile: ProfileJson }>(
      `SELECT version, minute, profile FROM monitor_partials
        WHERE model = $1 AND minute >= $2 AND minute < $3 ORDER BY id`,
      [model, from, to],
    );
    return res.rows;
  }

  async saveQuality(row: Omit<QualityRow, "revision" | "updatedAt">): Promise<boolean> {
    const res = await this.pool.query(
      `INSERT INTO monitor_quality (model, version, minute, labeled, quality) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (model, version, minute) DO UPDATE
         SET labeled = EXCLUDED.labeled, quality = EXCLUDED.quality,
             revision = monitor_quality.revision + 1, updated_at = now()
         WHERE monitor_quality.quality IS DISTINCT FROM EXCLUDED.quality
            OR monitor_quality.labeled <> EXCLUDED.labeled`,
      [row.model, row.version, row.minute, row.labeled, JSON.stringify(row.quality)],
    );
    return (res.rowCount ?? 0) > 0;
  }

  async quality(model: string, version: string | null, from: Date, to: Date): Promise<QualityRow[]> {
    const res = await this.pool.query<Record<string, unknown>>(
      `SELECT model, version, minute, labeled, quality, revision, updated_at FROM monitor_quality
        WHERE model = $1 AND ($2::text IS NULL OR version = $2) AND minute >= $3 AND minute < $4 ORDER BY minute`,
      [model, version, from, to],
    );
    return res.rows.map((r) => ({
      model: r.model as string,
      version: r.version as string,
      minute: r.minute as Date,
      labeled: Number(r.labeled),
      quality: r.quality,
      revision: Number(r.revision),
      updatedAt: r.updated_at as Date,
    }));
  }

  async watermark(model: string, name: string): Promise<string | null> {
    const res = await this.pool.query<{ at: string }>(
      `SELECT to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at
         FROM monitor_watermarks WHERE model = $1 AND name = $2`,
      [model, name],
    );
    return res.rows[0]?.at ?? null;
  }

  async setWatermark(model: string, name: string, at: Date | string): Promise<void> {
    await this.pool.query(
      `INSERT INTO monitor_watermarks (model, name, at) VALUES ($1, $2, $3)
       ON CONFLICT (model, name) DO UPDATE SET at = GREATEST(monitor_watermarks.at, EXCLUDED.at)`,
      [model, name, at],
    );
  }

  async saveResult(row: Omit<ResultRow, "revision" | "evaluatedAt">): Promise<number> {
    const res = await this.pool.query<{ revision: number }>(
      `INSERT INTO monitor_results
         (model, version, window_name, window_end, baseline_id, captures, instances, labeled, result)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (model, version, window_name, window_end) DO UPDATE
         SET baseline_id = EXCLUDED.baseline_id, captures = EXCLUDED.captures,
             instances = EXCLUDED.instances, labeled = EXCLUDED.labeled, result = EXCLUDED.result,
             revision = monitor_results.revision + 1, evaluated_at = now()
       RETURNING revision`,
      [
        row.model,
        row.version,
        row.window,
        row.windowEnd,
        row.baselineId,
        row.captures,
        row.instances,
        row.labeled,
        JSON.stringify(row.result),
      ],
    );
    return Number(res.rows[0]!.revision);
  }

  async results(model: string, window: string, from: Date, to: Date): Promise<ResultRow[]> {
    const res = await this.pool.query<Record<string, unknown>>(
      `SELECT * FROM monitor_results WHERE model = $1 AND window_name = $2 AND window_end > $3 AND window_end <= $4
        ORDER BY window_end, version`,
      [model, window, from, to],
    );
    return res.rows.map(resultFrom);
  }

  async latestResults(): Promise<ResultRow[]> {
    const res = await this.pool.query<Record<string, unknown>>(
      // The newest result of a live window ended within the longest window (31 days) plus a day.
      `SELECT DISTINCT ON (model, version, window_name) * FROM monitor_results
        WHERE window_end > now() - interval '32 days'
        ORDER BY model, version, window_name, window_end DESC`,
    );
    return res.rows.map(resultFrom);
  }

  async addCounter(name: string, model: string, n: number): Promise<void> {
    if (n === 0) return;
    await this.pool.query(
      `INSERT INTO monitor_counters (name, model, value) VALUES ($1, $2, $3)
       ON CONFLICT (name, model) DO UPDATE SET value = monitor_counters.value + EXCLUDED.value`,
      [name, model, n],
    );
  }

  async counters(): Promise<Array<{ name: string; model: string; value: number }>> {
    const res = await this.pool.query<{ name: string; model: string; value: string }>(
      "SELECT name, model, value FROM monitor_counters ORDER BY name, model",
    );
    return res.rows.map((r) => ({ name: r.name, model: r.model, value: Number(r.value) }));
  }

  async profiledCaptures(
    model: string,
    from: Date,
    to: Date,
    after: { receivedAt: Date; id: string } | null,
    limit: number,
  ): Promise<StoredProfiledCapture[]> {
    const res = await this.pool.query<Record<string, unknown>>(
      `SELECT ${PROFILED} FROM captures
        WHERE model = $1 AND received_at >= $2 AND received_at < $3
          AND ($4::timestamptz IS NULL OR (received_at, id) > ($4, $5))
        ORDER BY received_at, id LIMIT $6`,
      [model, from, to, after?.receivedAt ?? null, after?.id ?? "", limit],
    );
    return res.rows.map(profiledFrom);
  }

  async rebuildMinute(
    model: string,
    minute: Date,
    build: (
      captures: readonly StoredProfiledCapture[],
    ) => Array<{ version: string; captures: number; profile: ProfileJson }>,
  ): Promise<{ captures: number; versions: string[] }> {
    return withClient(this.pool, async (c) => {
      // The fold's lock first, outside the transaction (its snapshot would be taken before the
      // wait): a fold waiting on it then finds the rebuilt bucket and adds to it.
      await c.query("SELECT pg_advisory_lock(hashtext($1))", [foldKey(model)]);
      // One snapshot for the delete and the read: a worker transaction committing meanwhile
      // keeps both its captures and its partial out of this rebuild, so nothing counts twice.
      await c.query("BEGIN ISOLATION LEVEL REPEATABLE READ");
      try {
        await c.query("DELETE FROM monitor_partials WHERE model = $1 AND minute = $2", [model, minute]);
        await c.query(
          "DELETE FROM monitor_buckets WHERE model = $1 AND resolution = 'minute' AND start_at = $2",
          [model, minute],
        );
        const res = await c.query<Record<string, unknown>>(
          `SELECT ${PROFILED} FROM captures
            WHERE model = $1 AND received_at >= $2 AND received_at < $2 + interval '1 minute'
            ORDER BY received_at, id`,
          [model, minute],
        );
        const rows = res.rows.map(profiledFrom);
        const built = build(rows);
        for (const b of built) {
          await c.query(
            `INSERT INTO monitor_buckets (model, version, resolution, start_at, captures, profile)
             VALUES ($1, $2, 'minute', $3, $4, $5)`,
            [model, b.version, minute, b.captures, JSON.stringify(b.profile)],
          );
        }
        await c.query("COMMIT");
        return { captures: rows.length, versions: built.map((b) => b.version) };
      } catch (err) {
        await c.query("ROLLBACK").catch(() => undefined);
        throw err;
      } finally {
        await c.query("SELECT pg_advisory_unlock(hashtext($1))", [foldKey(model)]).catch(() => undefined);
      }
    });
  }

  async knownModel(model: string): Promise<boolean> {
    const res = await this.pool.query<{ known: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM captures WHERE model = $1)
           OR EXISTS (SELECT 1 FROM monitor_buckets WHERE model = $1)
           OR EXISTS (SELECT 1 FROM baselines WHERE model = $1) AS known`,
      [model],
    );
    return res.rows[0]!.known;
  }
}

async function activate_(c: pg.PoolClient, id: string): Promise<void> {
  const res = await c.query<{ model: string }>("SELECT model FROM baselines WHERE id = $1 FOR UPDATE", [id]);
  const model = res.rows[0]?.model;
  if (model === undefined) throw new ModeltapError("BASELINE_NOT_FOUND", `no baseline ${id}`);
  await c.query("UPDATE baselines SET active = false WHERE model = $1 AND active AND id <> $2", [model, id]);
  await c.query("UPDATE baselines SET active = true WHERE id = $1", [id]);
}
