/** The capture record, mirroring proto/modeltap/v1/capture.proto (see record-codec.ts). */

/** 2: `id` is the collector's capture id and `requestId` the x-request-id (1: `id` was the x-request-id). */
export const RECORD_SCHEMA_VERSION = 2;

/** How the sampling decision was made (see sampler.ts). */
export type SampledBy = "request_id" | "random";

/** HTTP headers in wire order, names as sent (secret ones already redacted). */
export type HeaderList = Array<{ name: string; value: string }>;

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

/** A decoded input image from inside the request body (see InputImage in capture.proto). */
export interface InputImage {
  /** The analysis instance whose input this is. */
  instance: number;
  /** From the decoded format: "image/png", "image/jpeg", ... */
  contentType: string;
  /** The image bytes; empty when objectRef points at a JetStream object-store entry instead. */
  data: Uint8Array;
  objectRef: string;
  sizeBytes: number;
}

export interface CaptureRecord {
  /** The capture id: a UUIDv7 per captured exchange and hop (capture-id.ts). */
  id: string;
  /** The exchange's x-request-id: shared by every hop of one request; "" when there was none. */
  requestId: string;
  sampledBy: SampledBy;
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
  /** Input images decoded from inside the request body, for the worker to store as objects. */
  inputImages: InputImage[];
  /** The request body is itself instance 0's input image (a raw image upload). */
  requestIsImage: boolean;
  /**
   * Set when analysisJson travelled through the JetStream object store (the record was over the
   * server's max payload): that entry's name; analysisJson is then empty until the worker reads it.
   */
  analysisRef?: string;
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

/** A record with every field at its zero value: what decoding starts from, and what builders extend. */
export function emptyRecord(): CaptureRecord {
  return {
    id: "",
    requestId: "",
    sampledBy: "request_id",
    model: "",
    version: "",
    task: "",
    route: "",
    cluster: "",
    mode: "observability",
    method: "",
    path: "",
    authority: "",
    startedAtUs: 0,
    ttfbUs: 0,
    durationUs: 0,
    statusCode: 0,
    complete: false,
    request: emptyBody(),
    response: emptyBody(),
    sampleRate: 0,
    schemaVersion: 0,
    upstreamUs: null,
    analysisJson: new Uint8Array(0),
    parseError: "",
    labelRate: 0,
    labelSet: [],
    inputImages: [],
    requestIsImage: false,
  };
}
