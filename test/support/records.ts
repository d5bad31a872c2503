/** Capture records and their bodies, for tests and benchmarks that need records with no exchange behind them. */
import {
  emptyBody,
  emptyRecord,
  RECORD_SCHEMA_VERSION,
  type CaptureRecord,
  type CapturedBody,
} from "../../src/core/record.js";

/**
 * A complete record with neutral defaults (no bodies, no analysis, not chosen for labeling),
 * started now: for the benchmarks and tests that publish records without an exchange behind them.
 */
export function newRecord(
  fields: Pick<CaptureRecord, "id" | "model"> & Partial<CaptureRecord>,
): CaptureRecord {
  return {
    ...emptyRecord(),
    version: "1",
    method: "POST",
    path: "/",
    startedAtUs: Date.now() * 1000,
    durationUs: 1,
    statusCode: 200,
    complete: true,
    sampleRate: 1,
    schemaVersion: RECORD_SCHEMA_VERSION,
    // Tests look captures up by the request id they sent; a record of its own is its own request.
    requestId: fields.id,
    ...fields,
  };
}

/** A body captured whole, with no content-encoding: these bytes, as they crossed the wire. */
export function capturedBody(contentType: string, data: string | Uint8Array): CapturedBody {
  const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  return { ...emptyBody(), contentType, data: bytes, sizeBytes: bytes.length, wireSizeBytes: bytes.length };
}

/**
 * An iris capture with one body of each way it can arrive at the worker: the request whole in the
 * record (13 bytes of JSON), the response a truncated gzip PNG parked in the large-body store.
 * Started 2026-11-22 17:42:54.123456 UTC; `over` replaces any field.
 */
export function irisRecord(over: Partial<CaptureRecord> = {}): CaptureRecord {
  return newRecord({
    id: "0190b6a2-1c3d-7e4f-8a5b-6c7d8e9f0a1b",
    model: "iris",
    version: "1",
    task: "unknown",
    route: "iris_route",
    cluster: "inference_server",
    mode: "observability",
    method: "POST",
    path: "/v2/models/iris/infer",
    authority: "localhost",
    startedAtUs: Date.UTC(2026, 10, 22, 17, 42, 54, 123) * 1000 + 456,
    ttfbUs: 1200,
    durationUs: 1840,
    request: {
      ...capturedBody("application/json", '{"inputs":[]}'),
      headers: [{ name: "content-type", value: "application/json" }],
    },
    response: {
      ...emptyBody(),
      contentType: "image/png",
      contentEncoding: "gzip",
      objectRef: "big/5b0e/response",
      sizeBytes: 900_000,
      wireSizeBytes: 2_000_000,
      truncated: true,
      decodeError: "body truncated at max_body_bytes; stored as received",
    },
    sampleRate: 0.5,
    upstreamUs: 1000,
    ...over,
  });
}
