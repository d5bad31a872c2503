/**
 * The stream owner: runs the ext_proc Process loop for one HTTP exchange. On request headers it
 * decides (route config, sample or not) and creates the Exchange; every later message goes to
 * it; when the exchange ends the record leaves through `finish`, exactly once.
 *
 * In normal mode every message gets exactly one response, in order, and unsampled exchanges get
 * a mode_override that stops Envoy sending bodies. In observability mode nothing is answered, and
 * unsampled streams are closed at once ("no more messages needed").
 */
import { analyzeRecordWithImages } from "../core/analysis/input-images.js";
import { redactRecordFields } from "../core/capture/redact-fields.js";
import { Exchange, parseEnvoyTime } from "../core/capture/exchange.js";
import type { ProtocolParser } from "../core/plugins.js";
import type { CaptureRecord } from "../core/record.js";
import type { RouteResolver } from "../core/capture/route-resolver.js";
import { NAMESPACE } from "../core/capture/route-resolver.js";
import { GATE_MARKER, isSampledBytes } from "../core/sampler.js";
import { requestIdKey } from "../core/capture-id.js";
import type { Logger } from "../log.js";
import {
  attribute,
  requestIdHeader,
  structToJson,
  toHeaderList,
  type ProcessCall,
  type ProcessingRequest,
  type ProcessingResponse,
} from "./ext-proc.js";
import type { CollectorMetrics } from "./metrics.js";

export interface StreamDeps {
  resolver: RouteResolver;
  /** Protocol parsers in detection order, for routes with protocol "auto". */
  parsers: readonly ProtocolParser[];
  secretHeaders: ReadonlySet<string>;
  /** MODELTAP_REDACT_QUERY_PARAMS (lower-case); default the built-in list. */
  secretQueryParams?: ReadonlySet<string>;
  metrics: CollectorMetrics;
  log: Logger;
  /** Where finished records go (the publish buffer); must not block. */
  onRecord(record: CaptureRecord): void;
  /** Microsecond wall clock (injectable for tests). */
  nowUs(): number;
  /** Seed of the sampling hash (MODELTAP_SAMPLING_SEED). */
  samplingSeed: bigint;
  /** A new capture id (a UUIDv7, core/capture-id.ts) for each captured exchange. */
  newCaptureId(): string;
  /** A uniform draw in [0, 1): samples exchanges that have no x-request-id. */
  random(): number;
}

const SKIP_EVERYTHING: ProcessingResponse["mode_override"] = {
  request_body_mode: "NONE",
  response_body_mode: "NONE",
  response_header_mode: "SKIP",
  request_trailer_mode: "SKIP",
  response_trailer_mode: "SKIP",
};

/** The plugin named at the start of a parse error ("kserve_v2: ..."). */
function protocolOf(parseError: string): string {
  return /^([\w-]+):/.exec(parseError)?.[1] ?? "unknown";
}

function envoyStart(time: string | undefined): { envoyStartUs?: number } {
  const us = parseEnvoyTime(time);
  return us === undefined ? {} : { envoyStartUs: us };
}

/** True when the stream comes from a filter wrapped in modeltap's sampling gate (its gRPC metadata says so). */
function isGated(call: ProcessCall): boolean {
  return call.metadata?.get(GATE_MARKER.key)[0] === GATE_MARKER.value;
}

export function handleProcessStream(call: ProcessCall, deps: StreamDeps): void {
  let exchange: Exchange | undefined;
  let log = deps.log;
  let finished = false;

  const finish = (reason: string) => {
    if (finished || !exchange) return;
    finished = true;
    deps.metrics.activeExchanges.dec();
    const record = exchange.toRecord(deps.nowUs());
    const { task, analysis, redactFields, maxDecodedBytes } = exchange.config;
    // Before analysis, publishing, storage or logs: PII named by the route never leaves here.
    const redacted = redactRecordFields(record, redactFields);
    if (redacted.fields) deps.metrics.redactedFields.inc({ model: record.model }, redacted.fields);
    for (const direction of redacted.withheld) {
      deps.metrics.redactionWithheld.inc({ model: record.model, direction });
      log.info({ direction }, "body not stored: redact_fields could not confirm it redacted");
    }
    if (task !== "unknown" && record.complete) {
      const dropped = analyzeRecordWithImages(
        record,
        task,
        analysis,
        deps.parsers,
        exchange.responseChunkTimes,
        maxDecodedBytes,
      );
      if (dropped.length > 0) {
        deps.metrics.inputImagesDropped.inc({ model: record.model }, dropped.length);
        log.info({ instances: dropped }, "input images over max_decoded_bytes; not stored as objects");
      }
      if (record.parseError) {
        deps.metrics.parseErrors.inc({ model: record.model, protocol: protocolOf(record.parseError) });
        log.info({ parse_error: record.parseError }, "exchange captured but not fully understood");
      }
    }
    deps.metrics.captured.inc({ model: record.model, complete: String(record.complete) });
    deps.metrics.bytes.inc({ direction: "request" }, record.request.wireSizeBytes);
    deps.metrics.bytes.inc({ direction: "response" }, record.response.wireSizeBytes);
    if (!record.complete) log.info({ reason }, "exchange ended before the response completed");
    exchange = undefined;
    deps.onRecord(record);
  };

  const reply = (req: ProcessingRequest, extra?: Partial<ProcessingResponse>) => {
    if (req.observability_mode || !req.request) return;
    call.write({ [req.request]: {}, ...extra });
  };

  /**
   * The decision comes first and reads only the x-request-id header: an exchange that is not
   * sampled costs no header list and no child logger.
   */
  const onHeaders = (req: ProcessingRequest) => {
    const mode = req.observability_mode ? "observability" : "normal";
    const id = requestIdHeader(req.request_headers?.headers);
    const requestId = id?.text ?? "";
    const dynamic = req.metadata_context?.filter_metadata?.[NAMESPACE];
    const { result, firstSeen, route } = deps.resolver.resolve(
      attribute(req, "xds.route_metadata"),
      dynamic ? structToJson(dynamic) : undefined,
    );
    let decision: "sampled" | "not_sampled" | "no_metadata" | "invalid_config";
    if (!result) decision = "no_metadata";
    else if (!result.ok) {
      decision = "invalid_config";
      if (firstSeen || dynamic) {
        deps.log
          .child({ request_id: requestId })
          .warn({ problems: result.problems }, "route modeltap metadata is invalid; not capturing");
      }
    } else {
      const rate = result.config.sampleRate;
      // Every hop of one request shares its x-request-id, so they are sampled together; the hash
      // is over the header's bytes, as Envoy's gate computes it. Without an id, a random draw at
      // the route's rate (the record says which).
      const sampled = id ? isSampledBytes(id.bytes, rate, deps.samplingSeed) : deps.random() < rate;
      decision = sampled ? "sampled" : "not_sampled";
      // Envoy's gate, written from the route's own rate, let this stream through: a gate and a
      // collector that agree never get here (a per-request override that lowers the rate is not
      // a disagreement).
      if (!sampled && id && isGated(call)) {
        const gateRate = route?.ok ? route.config.sampleRate : rate;
        if (!isSampledBytes(id.bytes, gateRate, deps.samplingSeed)) {
          deps.metrics.gateDisagreements.inc({ model: result.config.model });
        }
      }
    }
    deps.metrics.exchanges.inc({ decision, mode });

    if (decision !== "sampled" || !result?.ok) {
      if (req.observability_mode) call.end();
      else reply(req, { mode_override: SKIP_EVERYTHING });
      return;
    }
    const headers = toHeaderList(req.request_headers?.headers);
    const sampledBy = requestId ? "request_id" : "random";
    const captureId = deps.newCaptureId();
    log = deps.log.child({ request_id: requestId, capture_id: captureId });
    exchange = new Exchange(
      {
        captureId,
        requestId: requestIdKey(requestId),
        sampledBy,
        config: result.config,
        mode,
        route: attribute(req, "xds.route_name") ?? "",
        cluster: attribute(req, "xds.cluster_name") ?? "",
        headers,
        nowUs: deps.nowUs(),
        ...envoyStart(attribute(req, "request.time")),
      },
      {
        secretHeaders: deps.secretHeaders,
        ...(deps.secretQueryParams ? { secretQueryParams: deps.secretQueryParams } : {}),
      },
    );
    deps.metrics.activeExchanges.inc();
    if (log.isLevelEnabled("debug")) log.debug({ model: result.config.model, mode }, "capturing exchange");
    reply(req);
  };

  call.on("data", (req: ProcessingRequest) => {
    try {
      switch (req.request) {
        case "request_headers":
          onHeaders(req);
          return;
        case "request_body":
          exchange?.requestBody(
            req.request_body?.body ?? Buffer.alloc(0),
            req.request_body?.end_of_stream === true,
          );
          break;
        case "response_headers":
          exchange?.responseHeaders(
            toHeaderList(req.response_headers?.headers),
            req.response_headers?.end_of_stream === true,
            deps.nowUs(),
          );
          break;
        case "response_body":
          exchange?.responseBody(
            req.response_body?.body ?? Buffer.alloc(0),
            req.response_body?.end_of_stream === true,
            deps.nowUs(),
          );
          break;
        default:
          break;
      }
      reply(req);
      if (exchange?.complete) {
        finish("complete");
        // Observability mode: tell Envoy we need nothing more rather than wait for its deferred close.
        if (req.observability_mode) call.end();
      }
    } catch (err) {
      // A bug here must not hold the exchange: answer (normal mode) and stop capturing it.
      log.error({ err }, "error while handling an ext_proc message; exchange not captured");
      if (exchange && !finished) {
        finished = true;
        deps.metrics.activeExchanges.dec();
      }
      exchange = undefined;
      try {
        reply(req);
      } catch {
        /* stream already gone */
      }
    }
  });
  call.on("end", () => {
    finish("stream half-closed by envoy");
    call.end();
  });
  call.on("cancelled", () => finish("stream cancelled"));
  call.on("error", (err: Error & { code?: number }) => {
    // CANCELLED (1) is Envoy's normal way to end observability-mode streams.
    if (err.code !== 1) {
      deps.metrics.streamErrors.inc();
      log.warn({ err }, "ext_proc stream error");
    }
    finish("stream error");
  });
  call.on("close", () => finish("stream closed"));
}
