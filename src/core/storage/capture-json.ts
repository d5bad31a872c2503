/** A stored capture row as people and scripts see it (`modeltap captures`, the demo). */
import type { BodyRow, CaptureRow } from "../ports.js";

/** Where a stored body is, for people: its object URI, "database row", or "-" for an empty body. */
export function bodyLocation(b: BodyRow): string {
  if (b.inline) return "database row";
  return b.objectUri ?? "-";
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
    stored_in: b.inline ? "database" : b.objectKey ? "object_store" : null,
    object_uri: b.objectUri,
  });
  return {
    id: row.id,
    request_id: row.requestId,
    sampled_by: row.sampledBy,
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
    protocol: row.protocol || null,
    parse_error: row.parseError || null,
    analysis: row.analysis,
    label_rate: row.labelRate,
    labeling_instances: row.labelExports,
  };
}
