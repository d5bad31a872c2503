/**
 * What the worker must write for one capture record: the body objects and the index row.
 * Pure, so the mapping from record to storage is unit-tested without S3 or Postgres.
 */
import { bodyObjectKey } from "./object-key.js";
import type { CaptureRecord, CapturedBody } from "./record.js";
import type { HeaderList } from "./redact.js";

export interface BodyRow {
  contentType: string;
  contentEncoding: string;
  sizeBytes: number;
  wireSizeBytes: number;
  truncated: boolean;
  decoded: boolean;
  decodeError: string;
  objectKey: string | null;
  objectUri: string | null;
  headers: HeaderList;
}

export interface CaptureRow {
  id: string;
  model: string;
  version: string;
  task: string;
  route: string;
  cluster: string;
  mode: string;
  method: string;
  path: string;
  receivedAt: Date;
  durationMs: number;
  ttfbMs: number;
  /** Envoy's upstream service time; null when Envoy did not report it. */
  upstreamMs: number | null;
  statusCode: number;
  complete: boolean;
  sampleRate: number;
  request: BodyRow;
  response: BodyRow;
}

export interface PlannedObject {
  key: string;
  contentType: string;
  /** Where the bytes are: inline in the record, or parked in the large-body store. */
  source: { inline: Uint8Array } | { ref: string };
}

export interface PersistPlan {
  objects: PlannedObject[];
  row: CaptureRow;
}

export function planPersist(rec: CaptureRecord, uriFor: (key: string) => string): PersistPlan {
  const objects: PlannedObject[] = [];
  const body = (name: "request" | "response", b: CapturedBody): BodyRow => {
    const hasBytes = b.objectRef !== "" || b.data.byteLength > 0;
    const key = hasBytes ? bodyObjectKey(rec, name, b.contentType) : null;
    if (key) {
      objects.push({
        key,
        contentType: b.contentType || "application/octet-stream",
        source: b.objectRef ? { ref: b.objectRef } : { inline: b.data },
      });
    }
    return {
      contentType: b.contentType,
      contentEncoding: b.contentEncoding,
      sizeBytes: b.sizeBytes,
      wireSizeBytes: b.wireSizeBytes,
      truncated: b.truncated,
      decoded: b.decoded,
      decodeError: b.decodeError,
      objectKey: key,
      objectUri: key ? uriFor(key) : null,
      headers: b.headers,
    };
  };
  const row: CaptureRow = {
    id: rec.id,
    model: rec.model,
    version: rec.version,
    task: rec.task,
    route: rec.route,
    cluster: rec.cluster,
    mode: rec.mode,
    method: rec.method,
    path: rec.path,
    receivedAt: new Date(Math.floor(rec.startedAtUs / 1000)),
    durationMs: rec.durationUs / 1000,
    ttfbMs: rec.ttfbUs / 1000,
    upstreamMs: rec.upstreamUs === null ? null : rec.upstreamUs / 1000,
    statusCode: rec.statusCode,
    complete: rec.complete,
    sampleRate: rec.sampleRate,
    request: body("request", rec.request),
    response: body("response", rec.response),
  };
  return { objects, row };
}

/** The stable JSON shape of `modeltap captures list/get --json` (documented in docs/cli.md). */
export function captureJson(row: CaptureRow): Record<string, unknown> {
  const body = (b: BodyRow) => ({
    content_type: b.contentType,
    content_encoding: b.contentEncoding,
    size_bytes: b.sizeBytes,
    wire_size_bytes: b.wireSizeBytes,
    truncated: b.truncated,
    decode_error: b.decodeError || null,
    object_uri: b.objectUri,
  });
  return {
    id: row.id,
    model: row.model,
    version: row.version,
    task: row.task,
    route: row.route,
    cluster: row.cluster,
    mode: row.mode,
    method: row.method,
    path: row.path,
    received_at: row.receivedAt.toISOString(),
    duration_ms: row.durationMs,
    ttfb_ms: row.ttfbMs,
    upstream_ms: row.upstreamMs,
    status_code: row.statusCode,
    complete: row.complete,
    request: body(row.request),
    response: body(row.response),
  };
}
