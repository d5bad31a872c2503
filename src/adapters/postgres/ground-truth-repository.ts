/** GroundTruthRepository and LabelExportRepository on Postgres. All SQL is parameterized. */
import type pg from "pg";
import { withClient } from "./pool.js";
import type { Prediction } from "../../core/canonical.js";
import type {
  ExportClaim,
  ExportedTask,
  GroundTruthRepository,
  GroundTruthRow,
  GroundTruthWrite,
  LabelExportRepository,
  LabelingProject,
} from "../../core/ports.js";

type Key = { captureId: string; instance: number };
const keyArrays = (keys: readonly Key[]) => [keys.map((k) => k.captureId), keys.map((k) => k.instance)];

export class PostgresGroundTruthRepository implements GroundTruthRepository, LabelExportRepository {
  constructor(private readonly pool: pg.Pool) {}

  async upsertGroundTruth(rows: readonly GroundTruthWrite[]): Promise<number> {
    if (rows.length === 0) return 0;
    // A redelivered or out-of-order older version never replaces a newer one; a repeat of the label
    // in place (same label, not deleted) changes nothing, so it keeps the time it was first given.
    const res = await this.pool.query(
      `INSERT INTO ground_truth (capture_id, request_id, instance, source, source_ref, label, deleted, labeled_at)
       SELECT c, q, i, s, r, l::jsonb, false, t
         FROM unnest($1::text[], $7::text[], $2::int[], $3::text[], $4::text[], $5::text[], $6::timestamptz[]) AS u(c, q, i, s, r, l, t)
       ON CONFLICT (capture_id, request_id, instance, source, source_ref) DO UPDATE
         SET label = EXCLUDED.label, deleted = false, labeled_at = EXCLUDED.labeled_at, received_at = now()
         WHERE ground_truth.labeled_at <= EXCLUDED.labeled_at
           AND (ground_truth.label IS DISTINCT FROM EXCLUDED.label OR ground_truth.deleted)`,
      [
        rows.map((r) => r.captureId),
        rows.map((r) => r.instance),
        rows.map((r) => r.source),
        rows.map((r) => r.sourceRef),
        rows.map((r) => JSON.stringify(r.label)),
        rows.map((r) => r.labeledAt),
        rows.map((r) => r.requestId ?? ""),
      ],
    );
    return res.rowCount ?? 0;
  }

  async deleteGroundTruth(
    source: string,
    sourceRefs: readonly string[],
    at: Date,
    projectRef?: string,
  ): Promise<number> {
    if (sourceRefs.length === 0) return 0;
    const res = await this.pool.query(
      `UPDATE ground_truth g SET deleted = true, labeled_at = GREATEST(g.labeled_at, $3), received_at = now()
        WHERE g.source = $1 AND g.source_ref = ANY($2::text[]) AND NOT g.deleted
          AND ($4::text IS NULL OR EXISTS (
                SELECT 1 FROM label_exports le
                 WHERE le.capture_id = g.capture_id AND le.instance = g.instance
                   AND le.state = 'exported' AND le.project_ref = $4))`,
      [source, sourceRefs, at, projectRef ?? null],
    );
    return res.rowCount ?? 0;
  }

  async deleteMissing(
    source: string,
    projectRef: string,
    liveRefs: readonly string[],
    before: Date,
  ): Promise<number> {
    const res = await this.pool.query(
      `UPDATE ground_truth g SET deleted = true, received_at = now()
        WHERE g.source = $1 AND NOT g.deleted AND g.received_at < $4
          AND NOT (g.source_ref = ANY($3::text[]))
          AND EXISTS (SELECT 1 FROM label_exports le
                       WHERE le.capture_id = g.capture_id AND le.instance = g.instance AND le.project_ref = $2)`,
      [source, projectRef, liveRefs, before],
    );
    return res.rowCount ?? 0;
  }

  async storedVersions(source: string, sourceRefs: readonly string[]): Promise<Map<string, Date>> {
    if (sourceRefs.length === 0) return new Map();
    const res = await this.pool.query<{ source_ref: string; labeled_at: Date }>(
      "SELECT source_ref, max(labeled_at) AS labeled_at FROM ground_truth WHERE source = $1 AND source_ref = ANY($2::text[]) GROUP BY source_ref",
      [source, sourceRefs],
    );
    return new Map(res.rows.map((r) => [r.source_ref, r.labeled_at]));
  }

  async groundTruthFor(captureId: string, requestId = ""): Promise<GroundTruthRow[]> {
    const res = await this.pool.query<{
      capture_id: string;
      request_id: string;
      instance: number;
      source: string;
      source_ref: string;
      label: Prediction | null;
      deleted: boolean;
      labeled_at: Date;
      received_at: Date;
    }>(
      `SELECT capture_id, request_id, instance, source, source_ref, label, deleted, labeled_at, received_at
         FROM ground_truth
        WHERE (capture_id = $1 AND capture_id <> '') OR (request_id = $2 AND request_id <> '')
        ORDER BY instance, labeled_at DESC, source, source_ref`,
      [captureId, requestId],
    );
    return res.rows.map((r) => ({
      captureId: r.capture_id,
      requestId: r.request_id,
      instance: r.instance,
      source: r.source,
      sourceRef: r.source_ref,
      label: r.label,
      deleted: r.deleted,
      labeledAt: r.labeled_at,
      receivedAt: r.received_at,
    }));
  }

  async claimExports(limit: number, leaseMs: number): Promise<ExportClaim[]> {
    const res = await this.pool.query<{
      capture_id: string;
      instance: number;
      model: string;
      attempts: number;
    }>(
      `UPDATE label_exports le
          SET state = 'exporting', attempts = le.attempts + 1, first_claimed_at = COALESCE(le.first_claimed_at, now()),
              next_attempt_at = now() + make_interval(secs => $2::double precision / 1000)
        WHERE (le.capture_id, le.instance) IN (
          SELECT capture_id, instance FROM label_exports
           WHERE state IN ('pending', 'exporting') AND next_attempt_at <= now()
           ORDER BY created_at, capture_id, instance
           LIMIT $1 FOR UPDATE SKIP LOCKED)
        RETURNING le.capture_id, le.instance, le.model, le.attempts`,
      [limit, leaseMs],
    );
    return res.rows.map((r) => ({
      captureId: r.capture_id,
      instance: r.instance,
      model: r.model,
      attempts: r.attempts,
    }));
  }

  async markExported(
    done: ReadonlyArray<{ captureId: string; instance: number; taskRef: string; projectRef: string }>,
  ): Promise<void> {
    if (done.length === 0) return;
    await this.pool.query(
      `UPDATE label_exports le SET state = 'exported', task_ref = u.t, project_ref = u.p, exported_at = now(), last_error = ''
         FROM unnest($1::text[], $2::int[], $3::text[], $4::text[]) AS u(c, i, t, p)
        WHERE le.capture_id = u.c AND le.instance = u.i`,
      [...keyArrays(done), done.map((d) => d.taskRef), done.map((d) => d.projectRef)],
    );
  }

  async markSkipped(keys: readonly Key[], reason: string): Promise<void> {
    if (keys.length === 0) return;
    await this.pool.query(
      `UPDATE label_exports le SET state = 'skipped', last_error = $3
         FROM unnest($1::text[], $2::int[]) AS u(c, i) WHERE le.capture_id = u.c AND le.instance = u.i`,
      [...keyArrays(keys), reason],
    );
  }

  async markRetry(keys: readonly Key[], error: string, retryAt: Date | null): Promise<void> {
    if (keys.length === 0) return;
    await this.pool.query(
      `UPDATE label_exports le
          SET state = CASE WHEN $4::timestamptz IS NULL THEN 'failed' ELSE 'exporting' END,
              last_error = $3, next_attempt_at = COALESCE($4::timestamptz, le.next_attempt_at)
         FROM unnest($1::text[], $2::int[]) AS u(c, i) WHERE le.capture_id = u.c AND le.instance = u.i`,
      [...keyArrays(keys), error.slice(0, 2000), retryAt],
    );
  }

  async exportedTask(captureId: string, instance: number): Promise<ExportedTask | undefined> {
    const res = await this.pool.query<{ task_ref: string; project_ref: string }>(
      `SELECT task_ref, project_ref FROM label_exports
        WHERE capture_id = $1 AND instance = $2 AND state = 'exported'
          AND task_ref IS NOT NULL AND project_ref IS NOT NULL`,
      [captureId, instance],
    );
    const r = res.rows[0];
    return r ? { taskRef: r.task_ref, projectRef: r.project_ref } : undefined;
  }

  async exportCounts(): Promise<Record<string, number>> {
    const res = await this.pool.query<{ state: string; n: string }>(
      "SELECT state, count(*) AS n FROM label_exports GROUP BY state",
    );
    return Object.fromEntries(res.rows.map((r) => [r.state, Number(r.n)]));
  }

  async getProject(backend: string, model: string): Promise<LabelingProject | undefined> {
    const res = await this.pool.query<{ project_ref: string; task: string; label_set: string[] }>(
      "SELECT project_ref, task, label_set FROM labeling_projects WHERE backend = $1 AND model = $2",
      [backend, model],
    );
    const r = res.rows[0];
    return r ? { backend, model, projectRef: r.project_ref, task: r.task, labelSet: r.label_set } : undefined;
  }

  async withProjectLock<T>(backend: string, model: string, fn: () => Promise<T>): Promise<T> {
    const key = `modeltap-project\n${backend}\n${model}`;
    return withClient(this.pool, async (client) => {
      await client.query("SELECT pg_advisory_lock(hashtext($1))", [key]);
      try {
        return await fn();
      } finally {
        await client.query("SELECT pg_advisory_unlock(hashtext($1))", [key]).catch(() => undefined);
      }
    });
  }

  async listProjects(backend: string): Promise<LabelingProject[]> {
    const res = await this.pool.query<{
      model: string;
      project_ref: string;
      task: string;
      label_set: string[];
    }>(
      "SELECT model, project_ref, task, label_set FROM labeling_projects WHERE backend = $1 ORDER BY model",
      [backend],
    );
    return res.rows.map((r) => ({
      backend,
      model: r.model,
      projectRef: r.project_ref,
      task: r.task,
      labelSet: r.label_set,
    }));
  }

  async saveProject(p: LabelingProject): Promise<void> {
    await this.pool.query(
      `INSERT INTO labeling_projects (backend, model, project_ref, task, label_set) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (backend, model) DO UPDATE SET project_ref = EXCLUDED.project_ref, task = EXCLUDED.task, label_set = EXCLUDED.label_set`,
      [p.backend, p.model, p.projectRef, p.task, JSON.stringify(p.labelSet)],
    );
  }
}
