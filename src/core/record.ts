/** The capture record, mirroring proto/modeltap/v1/capture.proto (see record-codec.ts). */
import type { HeaderList } from "./redact.js";

export const RECORD_SCHEMA_VERSION = 1;

export interface CapturedBody {
  contentType: string;
  contentEncoding: string;
  wireSizeBytes: number;
  truncated: boolean;
  /** Stored bytes; empty when objectRef points at a JetStream object-store entry instead. */
  data: Uint8Array;
  sizeBytes: number;
  decoded: boolean;
  decodeError: string;
  objectRef: string;
  headers: HeaderList;
}

export interface CaptureRecord {
  id: string;
  model: string;
  version: string;
  task: string;
  route: string;
  cluster: string;
  mode: "observability" | "normal";
  method: string;
  path: string;
  authority: string;
  startedAtUs: number;
  ttfbUs: number;
  durationUs: number;
  statusCode: number;
  complete: boolean;
  request: CapturedBody;
  response: CapturedBody;
  sampleRate: number;
  schemaVersion: number;
  /** null when Envoy did not report x-envoy-upstream-service-time. */
  upstreamUs: number | null;
  /** UTF-8 JSON of the canonical Analysis, or empty. */
  analysisJson: Uint8Array;
  parseError: string;
  /** Fraction of this route's captures sent to the labeling tool (0: none). */
  labelRate: number;
  /** The route's label names, for the labeling tool's project. */
  labelSet: string[];
}

export function emptyBody(): CapturedBody {
  return {
    contentType: "",
    contentEncoding: "",
    wireSizeBytes: 0,
    truncated: false,
    data: new Uint8Array(0),
    sizeBytes: 0,
    decoded: false,
    decodeError: "",
    objectRef: "",
    headers: [],
  };
}

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
