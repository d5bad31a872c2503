/** Capture records for tests and benchmarks that publish records without an exchange behind them. */
import { emptyBody, RECORD_SCHEMA_VERSION, type CaptureRecord } from "../../src/core/record.js";

/**
 * A complete record with neutral defaults (no bodies, no analysis, not chosen for labeling),
 * started now: for the benchmarks and tests that publish records without an exchange behind them.
 */
export function newRecord(
  fields: Pick<CaptureRecord, "id" | "model"> & Partial<CaptureRecord>,
): CaptureRecord {
  return {
    version: "1",
    task: "",
    route: "",
    cluster: "",
    mode: "observability",
    method: "POST",
    path: "/",
    authority: "",
    startedAtUs: Date.now() * 1000,
    ttfbUs: 0,
    durationUs: 1,
    statusCode: 200,
    complete: true,
    request: emptyBody(),
    response: emptyBody(),
    sampleRate: 1,
    schemaVersion: RECORD_SCHEMA_VERSION,
    upstreamUs: null,
    analysisJson: new Uint8Array(0),
    parseError: "",
    labelRate: 0,
    labelSet: [],
    ...fields,
  };
}
