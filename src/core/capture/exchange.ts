/**
 * One captured HTTP exchange: the per-exchange state the collector's stream owner feeds with
 * ext_proc messages, and that becomes exactly one CaptureRecord when it ends. Pure: no I/O.
 */
import { BodyAssembler } from "./body-assembler.js";
import { decodeBody } from "./decode.js";
import {
  RECORD_SCHEMA_VERSION,
  type CaptureRecord,
  type CapturedBody,
  type HeaderList,
  type SampledBy,
} from "../record.js";
import { redactHeaders } from "./redact-headers.js";
import { DEFAULT_SECRET_QUERY_PARAMS, redactQuery } from "./redact-query.js";
import { labelSet, type RouteConfig } from "../route-config.js";

export interface ExchangeStart {
  /** The collector's id for this capture (capture-id.ts). */
  captureId: string;
  /** The exchange's x-request-id ("" when it had none). */
  requestId: string;
  sampledBy: SampledBy;
  config: RouteConfig;
  mode: "observability" | "normal";
  route: string;
  cluster: string;
  /** Request headers, pseudo-headers included, as Envoy sent them. */
  headers: HeaderList;
  /** Collector clock when the request headers arrived. */
  nowUs: number;
  /** Envoy's request.time (epoch µs), when it sent it. */
  envoyStartUs?: number;
}

export interface ExchangeOptions {
  secretHeaders: ReadonlySet<string>;
  /** Query parameters whose values are redacted from the path (lower-case); default the built-in list. */
  secretQueryParams?: ReadonlySet<string>;
}

const DEFAULT_QUERY_SET: ReadonlySet<string> = new Set(DEFAULT_SECRET_QUERY_PARAMS);

/** Headers that carry a URL, whose query strings are redacted like the path's. */
const URL_HEADERS = new Set(["x-envoy-original-path", "referer"]);

function header(headers: HeaderList, name: string): string {
  return headers.find((h) => h.name === name)?.value ?? "";
}

/** Envoy's router reports upstream time in whole milliseconds. */
function upstreamUs(headers: HeaderList): number | null {
  const v = header(headers, "x-envoy-upstream-service-time");
  const ms = Number(v);
  return v !== "" && Number.isFinite(ms) && ms >= 0 ? Math.round(ms * 1000) : null;
}

/** Envoy prints request.time as RFC 3339 with microseconds; Date keeps only milliseconds. */
export function parseEnvoyTime(s: string | undefined): number | undefined {
  if (!s) return undefined;
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(s);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  return ms * 1000 + Math.floor(Number((m[2] ?? "0").padEnd(6, "0").slice(0, 6)));
}

const MAX_CHUNK_TIMES = 4096;

class Direction {
  readonly body: BodyAssembler;
  headers: HeaderList = [];
  ended = false;
  constructor(maxBytes: number) {
    this.body = new BodyAssembler(maxBytes);
  }
}

export class Exchange {
  private readonly request: Direction;
  private readonly response: Direction;
  private responseHeadersAtUs = 0;
  /** [end offset, µs] per response chunk, for time-to-first-token; bounded. */
  private readonly chunkTimes: Array<[number, number]> = [];
  private endedAtUs = 0;

  constructor(
    private readonly start: ExchangeStart,
    private readonly options: ExchangeOptions,
  ) {
    this.request = new Direction(start.config.maxBodyBytes);
    this.response = new Direction(start.config.maxBodyBytes);
    this.request.headers = start.headers;
  }

  requestBody(chunk: Uint8Array, endOfStream: boolean): void {
    this.request.body.push(chunk);
    if (endOfStream) this.request.ended = true;
  }

  responseHeaders(headers: HeaderList, endOfStream: boolean, nowUs: number): void {
    this.response.headers = headers;
    this.responseHeadersAtUs = nowUs;
    if (endOfStream) this.endResponse(nowUs);
  }

  responseBody(chunk: Uint8Array, endOfStream: boolean, nowUs: number): void {
    this.response.body.push(chunk);
    if (chunk.byteLength > 0 && this.chunkTimes.length < MAX_CHUNK_TIMES) {
      this.chunkTimes.push([this.response.body.wireSize, nowUs]);
    }
    if (endOfStream) this.endResponse(nowUs);
  }

  private get secretQuery(): ReadonlySet<string> {
    return this.options.secretQueryParams ?? DEFAULT_QUERY_SET;
  }

  get config(): RouteConfig {
    return this.start.config;
  }

  get responseChunkTimes(): ReadonlyArray<readonly [number, number]> {
    return this.chunkTimes;
  }

  /** True once the whole response has been seen: the record can be built. */
  get complete(): boolean {
    return this.response.ended;
  }

  private endResponse(nowUs: number): void {
    this.response.ended = true;
    this.endedAtUs = nowUs;
  }

  /** Build the record. An exchange that never completed (reset, abort) is flagged complete=false. */
  toRecord(nowUs: number): CaptureRecord {
    const { config } = this.start;
    const reqHeaders = this.request.headers;
    const status = Number(header(this.response.headers, ":status"));
    const end = this.endedAtUs || nowUs;
    return {
      id: this.start.captureId,
      requestId: this.start.requestId,
      sampledBy: this.start.sampledBy,
      model: config.model,
      version: config.version,
      task: config.task,
      route: this.start.route,
      cluster: this.start.cluster,
      mode: this.start.mode,
      method: header(reqHeaders, ":method"),
      path: redactQuery(header(reqHeaders, ":path"), this.secretQuery),
      authority: header(reqHeaders, ":authority"),
      startedAtUs: this.start.envoyStartUs ?? this.start.nowUs,
      ttfbUs: this.responseHeadersAtUs ? this.responseHeadersAtUs - this.start.nowUs : 0,
      durationUs: end - this.start.nowUs,
      statusCode: Number.isInteger(status) ? status : 0,
      complete: this.response.ended,
      request: this.buildBody(this.request),
      response: this.buildBody(this.response),
      sampleRate: config.sampleRate,
      schemaVersion: RECORD_SCHEMA_VERSION,
      upstreamUs: upstreamUs(this.response.headers),
      analysisJson: new Uint8Array(0),
      parseError: "",
      labelRate: config.labelRate,
      labelSet: labelSet(config),
      inputImages: [],
      requestIsImage: false,
    };
  }

  private buildBody(d: Direction): CapturedBody {
    const raw = d.body.bytes();
    const encoding = header(d.headers, "content-encoding");
    let data: Uint8Array = raw;
    let decoded = false;
    let decodeError = "";
    if (encoding && encoding.trim().toLowerCase() !== "identity" && raw.byteLength > 0) {
      if (d.body.truncated) {
        decodeError = "body truncated at max_body_bytes; stored as received";
      } else {
        const result = decodeBody(raw, encoding, this.start.config.maxDecodedBytes);
        if (result.ok) {
          data = result.data;
          decoded = result.decoded;
        } else decodeError = result.reason;
      }
    }
    return {
      contentType: header(d.headers, "content-type"),
      contentEncoding: encoding,
      wireSizeBytes: d.body.wireSize,
      truncated: d.body.truncated,
      data,
      sizeBytes: data.byteLength,
      decoded,
      decodeError,
      objectRef: "",
      headers: redactHeaders(
        d.headers.filter((h) => !h.name.startsWith(":")),
        this.options.secretHeaders,
      ).map((h) =>
        URL_HEADERS.has(h.name.toLowerCase())
          ? { name: h.name, value: redactQuery(h.value, this.secretQuery) }
          : h,
      ),
    };
  }
}
