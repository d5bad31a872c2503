/** CaptureRepository on Postgres. All SQL is parameterized; inserts are idempotent on id. */
import type pg from "pg";
import type { CaptureQuery, CaptureRepository } from "../../core/ports.js";
import type { BodyRow, CaptureRow, PartialProfileWrite } from "../../core/ports.js";
import { withClient } from "./pool.js";

const COLUMNS = [
  "id",
  "request_id",
  "sampled_by",
  "model",
  "version",
  "task",
  "route",
  "cluster",
  "mode",
  "method",
  "path",
  "received_at",
  "duration_ms",
  "ttfb_ms",
  "upstream_ms",
  "status_code",
  "complete",
  "sample_rate",
  "request_content_type",
  "request_content_encoding",
  "request_size_bytes",
  "request_wire_size_bytes",
  "request_truncated",
  "request_decoded",
  "request_decode_error",
  "request_object_key",
  "request_object_uri",
  "request_body",
  "request_headers",
  "response_content_type",
  "response_content_encoding",
  "response_size_bytes",
  "response_wire_size_bytes",
  "response_truncated",
  "response_decoded",
  "response_decode_error",
  "response_object_key",
  "response_object_uri",
  "response_body",
  "response_headers",
  "protocol",
  "parse_error",
  "analysis",
  "features",
  "predictions",
  "label_rate",
  "label_set",
] as const;

/** Columns as read: the stored ones plus the instances queued for the labeling tool. */
const SELECT = `${COLUMNS.join(",")}, COALESCE((SELECT json_agg(le.instance ORDER BY le.instance) FROM label_exports le WHERE le.capture_id = captures.id), '[]') AS label_exports`;

function bodyValues(b: BodyRow): unknown[] {
  return [
    b.contentType,
    b.contentEncoding,
    b.sizeBytes,
    b.wireSizeBytes,
    b.truncated,
    b.decoded,
    b.decodeError,
    b.objectKey,
    b.objectUri,
    // bytea in JSON: Postgres's hex text form.
    b.inline
      ? `\\x${Buffer.from(b.inline.buffer, b.inline.byteOffset, b.inline.byteLength).toString("hex")}`
      : null,
    b.headers,
  ];
}

function values(r: CaptureRow): unknown[] {
  return [
    r.id,
    r.requestId,
    r.sampledBy,
    r.model,
    r.version,
    r.task,
    r.route,
    r.cluster,
    r.mode,
    r.method,
    r.path,
    r.receivedAt.toISOString(),
    r.durationMs,
    r.ttfbMs,
    r.upstreamMs,
    r.statusCode,
    r.complete,
    r.sampleRate,
    ...bodyValues(r.request),
    ...bodyValues(r.response),
    r.protocol,
    r.parseError,
    r.analysis,
    r.features,
    r.predictions,
    r.labelRate,
    r.labelSet,
  ];
}

/**
 * A batch of rows as one JSON array of objects keyed by column, for json_populate_recordset: one
 * bind parameter whatever the batch size (a VALUES list needs one per cell, and Postgres allows
 * 65535), and far less driver work per row.
 */
function rowsJson(rows: readonly CaptureRow[]): string {
  return JSON.stringify(
    rows.map((r) => {
      const v = values(r);
      return Object.fromEntries(COLUMNS.map((c, i) => [c, v[i]]));
    }),
  );
}

type DbRow = Record<(typeof COLUMNS)[number] | "label_exports", unknown>;

function bodyFrom(row: DbRow, p: "request" | "response"): BodyRow {
  const g = (k: string) => (row as Record<string, unknown>)[`${p}_${k}`];
  return {
    contentType: g("content_type") as string,
    contentEncoding: g("content_encoding") as string,
    sizeBytes: Number(g("size_bytes")),
    wireSizeBytes: Number(g("wire_size_bytes")),
    truncated: g("truncated") as boolean,
    decoded: g("decoded") as boolean,
    decodeError: g("decode_error") as string,
    objectKey: g("object_key") as string | null,
    objectUri: g("object_uri") as string | null,
    inline: (g("body") as Buffer | null) ?? null,
    headers: g("headers") as BodyRow["headers"],
  };
}

function fromDb(row: DbRow): CaptureRow {
  return {
    id: row.id as string,
    requestId: row.request_id as string,
    sampledBy: row.sampled_by as string,
    model: row.model as string,
    version: row.version as string,
    task: row.task as string,
    route: row.route as string,
    cluster: row.cluster as string,
    mode: row.mode as string,
    method: row.method as string,
    path: row.path as string,
    receivedAt: row.received_at as Date,
    durationMs: Number(row.duration_ms),
    ttfbMs: Number(row.ttfb_ms),
    upstreamMs: row.upstream_ms === null ? null : Number(row.upstream_ms),
    statusCode: Number(row.status_code),
    complete: row.complete as boolean,
    sampleRate: Number(row.sample_rate),
    request: bodyFrom(row, "request"),
    response: bodyFrom(row, "response"),
    protocol: row.protocol as string,
    parseError: row.parse_error as string,
    analysis: row.analysis as CaptureRow["analysis"],
    features: row.features as CaptureRow["features"],
    predictions: row.predictions as CaptureRow["predictions"],
    labelRate: Number(row.label_rate),
    labelSet: row.label_set as string[],
    labelExports: row.label_exports as number[],
  };
}

/** Partial profiles, in the capture insert's transaction (one statement for the batch). */
async function insertPartials(
  client: pg.PoolClient,
  partials: readonly PartialProfileWrite[],
): Promise<void> {
  if (partials.length === 0) return;
  await client.query(
    `INSERT INTO monitor_partials (model, version, minute, captures, profile)
     SELECT p.model, p.version, p.minute, p.captures, p.profile
       FROM json_to_recordset($1::json) AS p(model text, version text, minute timestamptz, captures int, profile jsonb)`,
    [JSON.stringify(partials.map((p) => ({ ...p, minute: p.minute.toISOString() })))],
  );
}

export class PostgresCaptureRepository implements CaptureRepository {
  constructor(private readonly pool: pg.Pool) {}

  /** Rows and their label-export queue entries commit together, so a capture chosen for labeling
   * is never lost between the two, and a redelivered capture queues nothing twice. */
  async insertCaptures(
    rows: readonly CaptureRow[],
    partialsFor?: (inserted: readonly CaptureRow[]) => readonly PartialProfileWrite[],
  ): Promise<number> {
    if (rows.length === 0) return 0;
    const exports = rows.flatMap((r) => r.labelExports.map((instance) => [r.id, instance, r.model]));
    return withClient(this.pool, async (client) => {
      await client.query("BEGIN");
      try {
        const res = await client.query(
          `INSERT INTO captures (${COLUMNS.join(",")})
           SELECT ${COLUMNS.join(",")} FROM json_populate_recordset(NULL::captures, $1::json)
           ON CONFLICT (id) DO NOTHING RETURNING id`,
          [rowsJson(rows)],
        );
        if (partialsFor && res.rows.length > 0) {
          // Each inserted id once: a batch holding one capture twice inserts it once.
          const byId = new Map<string, CaptureRow>();
          for (const row of rows) if (!byId.has(row.id)) byId.set(row.id, row);
          const inserted = (res.rows as Array<{ id: string }>).map((r) => byId.get(r.id)!);
          await insertPartials(client, partialsFor(inserted));
        }
        if (exports.length > 0) {
          await client.query(
            `INSERT INTO label_exports (capture_id, instance, model)
             SELECT * FROM unnest($1::text[], $2::int[], $3::text[]) ON CONFLICT DO NOTHING`,
            [exports.map((e) => e[0]), exports.map((e) => e[1]), exports.map((e) => e[2])],
          );
        }
        await client.query("COMMIT");
        return res.rowCount ?? 0;
      } catch (err) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw err;
      }
    });
  }

  async listCaptures(q: CaptureQuery): Promise<CaptureRow[]> {
    const res = await this.pool.query<DbRow>(
      `SELECT ${SELECT} FROM captures
       WHERE ($1::text IS NULL OR model = $1) AND ($3::text IS NULL OR request_id = $3)
       ORDER BY received_at DESC, id LIMIT $2`,
      [q.model ?? null, q.limit, q.requestId ?? null],
    );
    return res.rows.map(fromDb);
  }

  async getCapture(id: string): Promise<CaptureRow | undefined> {
    const res = await this.pool.query<DbRow>(`SELECT ${SELECT} FROM captures WHERE id = $1`, [id]);
    return res.rows[0] ? fromDb(res.rows[0]) : undefined;
  }
}
