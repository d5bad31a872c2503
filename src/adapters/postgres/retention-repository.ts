/**
 * RetentionRepository on Postgres: captures, their ground truth and label-export state deleted in
 * batches, one transaction per batch, the batch's rows locked while its objects are deleted. All
 * SQL is parameterized.
 */
import type pg from "pg";
import type {
  CaptureSelection,
  Cutoff,
  ErasedBatch,
  RetentionRepository,
  StoredCapture,
} from "../../core/ports.js";
import { withClient } from "./pool.js";

/**
 * Aged-out captures, oldest first: a model's override cutoff if it has one, else the default.
 * '-infinity' stands for "kept forever" (nothing is received before it). SKIP LOCKED: two sweeps
 * share the work instead of queueing on each other's rows.
 */
const SELECT_AGED = `SELECT c.id, c.model, c.version, c.received_at, c.request_object_key, c.response_object_key
  FROM captures c
  WHERE c.received_at < COALESCE(
      (SELECT o.cutoff FROM unnest($1::text[], $2::timestamptz[]) AS o(model, cutoff) WHERE o.model = c.model),
      $3::timestamptz)
    AND ($4::text IS NULL OR c.model = $4)
    AND NOT (c.id = ANY($6::text[]))
  ORDER BY c.received_at LIMIT $5
  FOR UPDATE OF c SKIP LOCKED`;

/** Erasure on request waits for a locked row rather than skip it: nothing named may be left. */
const SELECT_IDS = `SELECT c.id, c.model, c.version, c.received_at, c.request_object_key, c.response_object_key
  FROM captures c WHERE c.id = ANY($1::text[])
  ORDER BY c.id LIMIT $2 FOR UPDATE OF c`;
const SELECT_REQUEST = `SELECT c.id, c.model, c.version, c.received_at, c.request_object_key, c.response_object_key
  FROM captures c WHERE c.request_id = $1
  ORDER BY c.id LIMIT $2 FOR UPDATE OF c`;

interface DbRow {
  id: string;
  model: string;
  version: string;
  received_at: Date;
  request_object_key: string | null;
  response_object_key: string | null;
}

const cutoffParam = (c: Cutoff) => (c === null ? "-infinity" : c.toISOString());

function selectQuery(s: CaptureSelection, limit: number): [string, unknown[]] {
  switch (s.kind) {
    case "aged":
      return [
        SELECT_AGED,
        [
          s.cutoffs.overrides.map((o) => o.model),
          s.cutoffs.overrides.map((o) => cutoffParam(o.cutoff)),
          cutoffParam(s.cutoffs.defaultCutoff),
          s.model ?? null,
          limit,
          s.exclude ?? [],
        ],
      ];
    case "ids":
      return [SELECT_IDS, [s.ids, limit]];
    case "request":
      return [SELECT_REQUEST, [s.requestId, limit]];
  }
}

function stored(r: DbRow): StoredCapture {
  return {
    id: r.id,
    model: r.model,
    version: r.version,
    receivedAt: r.received_at,
    objectKeys: [r.request_object_key, r.response_object_key].filter((k): k is string => !!k),
  };
}

export class PostgresRetentionRepository implements RetentionRepository {
  constructor(private readonly pool: pg.Pool) {}

  async eraseCaptures(
    selection: CaptureSelection,
    limit: number,
    eraseObjects: (captures: readonly StoredCapture[]) => Promise<void>,
  ): Promise<ErasedBatch> {
    return withClient(this.pool, async (client) => {
      await client.query("BEGIN");
      try {
        const [sql, params] = selectQuery(selection, limit);
        const captures = (await client.query<DbRow>(sql, params)).rows.map(stored);
        if (captures.length === 0) {
          await client.query("COMMIT");
          return { captures, groundTruth: 0, labelExports: 0 };
        }
        // Objects first, rows after: a crash in between leaves the rows, which name the objects
        // and are aged out still, so the next run deletes what is left (docs/retention.md).
        await eraseObjects(captures);
        const ids = captures.map((c) => c.id);
        // A request's labels (capture_id '') stay while another hop of it may hold them; the
        // orphan sweep takes them once no capture of the request is left.
        const gt = await client.query("DELETE FROM ground_truth WHERE capture_id = ANY($1::text[])", [ids]);
        const le = await client.query("DELETE FROM label_exports WHERE capture_id = ANY($1::text[])", [ids]);
        await client.query("DELETE FROM captures WHERE id = ANY($1::text[])", [ids]);
        await client.query("COMMIT");
        return { captures, groundTruth: gt.rowCount ?? 0, labelExports: le.rowCount ?? 0 };
      } catch (err) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw err;
      }
    });
  }

  async eraseGroundTruth(keys: {
    captureIds: readonly string[];
    requestIds: readonly string[];
  }): Promise<number> {
    const res = await this.pool.query(
      `DELETE FROM ground_truth
       WHERE (capture_id <> '' AND capture_id = ANY($1::text[])) OR (request_id <> '' AND request_id = ANY($2::text[]))`,
      [keys.captureIds, keys.requestIds],
    );
    return res.rowCount ?? 0;
  }

  /**
   * A label is an orphan when nothing it attaches to exists: a capture's label, no capture with its
   * id (nor, for a label from before capture ids were UUIDs, with it as request id); a request's
   * label, no capture of that request.
   */
  async eraseOrphanGroundTruth(before: Date, limit: number): Promise<number> {
    const res = await this.pool.query(
      `DELETE FROM ground_truth g USING (
         SELECT o.capture_id, o.request_id, o.instance, o.source, o.source_ref FROM ground_truth o
         WHERE o.received_at < $1
           AND NOT EXISTS (SELECT 1 FROM captures c WHERE o.capture_id <> '' AND c.id = o.capture_id)
           AND NOT EXISTS (SELECT 1 FROM captures c WHERE o.capture_id <> '' AND c.request_id = o.capture_id)
           AND NOT EXISTS (SELECT 1 FROM captures c WHERE o.request_id <> '' AND c.request_id = o.request_id)
         LIMIT $2
       ) d
       WHERE (g.capture_id, g.request_id, g.instance, g.source, g.source_ref)
           = (d.capture_id, d.request_id, d.instance, d.source, d.source_ref)`,
      [before, limit],
    );
    return res.rowCount ?? 0;
  }
}
