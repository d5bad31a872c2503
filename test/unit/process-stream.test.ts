/** src/collector/process-stream.ts: handleProcessStream against a fake ext_proc call: response discipline per mode, records, metrics, logs. */
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import { Metadata } from "@grpc/grpc-js";
import zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import type { ProcessCall, ProcessingRequest, ProcessingResponse } from "../../src/collector/ext-proc.js";
import { createCollectorMetrics } from "../../src/collector/metrics.js";
import { handleProcessStream } from "../../src/collector/process-stream.js";
import { captureId, isCaptureId } from "../../src/core/capture-id.js";
import { GATE_MARKER } from "../../src/core/sampler.js";
import type { CaptureRecord } from "../../src/core/record.js";
import { DEFAULT_SECRET_HEADERS } from "../../src/core/capture/redact-headers.js";
import { RouteResolver } from "../../src/core/capture/route-resolver.js";
import { PluginRegistry } from "../../src/plugins/registry.js";
import { b64, noisyPng, png } from "../support/bytes.js";
import { captureLog } from "../support/log.js";
import { routeMetadataText } from "../support/routes.js";

const registry = new PluginRegistry();

class FakeCall extends EventEmitter {
  readonly written: ProcessingResponse[] = [];
  /** The stream's gRPC metadata: what a gated filter sends (grpc_service.initial_metadata). */
  metadata = new Metadata();
  ended = 0;
  write(msg: ProcessingResponse): boolean {
    this.written.push(msg);
    return true;
  }
  end(): void {
    this.ended++;
  }
}

function harness(draws: number[] = [], gated = false) {
  const call = new FakeCall();
  if (gated) call.metadata.set(GATE_MARKER.key, GATE_MARKER.value);
  const records: CaptureRecord[] = [];
  const { log, lines } = captureLog();
  const metrics = createCollectorMetrics();
  let clock = 1_000_000;
  handleProcessStream(call as unknown as ProcessCall, {
    resolver: new RouteResolver(registry),
    parsers: registry.detectionOrder(),
    secretHeaders: new Set(DEFAULT_SECRET_HEADERS),
    metrics,
    log,
    onRecord: (r) => records.push(r),
    nowUs: () => (clock += 100),
    samplingSeed: 0x5eedn,
    newCaptureId: () => captureId(clock / 1000, randomBytes(10)),
    random: () => draws.shift() ?? 0.99,
  });
  const send = (req: ProcessingRequest) => call.emit("data", req);
  return { call, records, lines, metrics, send };
}

const headerMap = (pairs: Array<[string, string]>) => ({
  headers: pairs.map(([key, v]) => ({ key, raw_value: Buffer.from(v) })),
});

function requestHeaders(o: { metadata?: string; observability?: boolean; id?: string }): ProcessingRequest {
  const fields: Record<string, { kind: string; stringValue: string }> = {
    "xds.route_name": { kind: "stringValue", stringValue: "iris_route" },
    "xds.cluster_name": { kind: "stringValue", stringValue: "inference_server" },
    "request.time": { kind: "stringValue", stringValue: "2026-11-22T17:32:52.005852+00:00" },
  };
  if (o.metadata !== undefined)
    fields["xds.route_metadata"] = { kind: "stringValue", stringValue: o.metadata };
  return {
    request: "request_headers",
    request_headers: {
      headers: headerMap([
        [":method", "POST"],
        [":path", "/v2/models/iris/infer"],
        [":authority", "localhost:10000"],
        ["content-type", "application/json"],
        ["authorization", "Bearer s3cr3t"],
        ["x-request-id", o.id ?? "req-1"],
      ]),
      end_of_stream: false,
    },
    attributes: { "envoy.filters.http.ext_proc": { fields } },
    observability_mode: o.observability === true,
  };
}

/** Everything after the request headers: both bodies arrive in two chunks, the response gzipped. */
function rest(observability: boolean): ProcessingRequest[] {
  const observability_mode = observability;
  const gz = zlib.gzipSync('{"outputs":[]}');
  return [
    {
      request: "request_body",
      request_body: { body: Buffer.from('{"inputs":'), end_of_stream: false },
      observability_mode,
    },
    {
      request: "request_body",
      request_body: { body: Buffer.from("[]}"), end_of_stream: true },
      observability_mode,
    },
    {
      request: "response_headers",
      response_headers: {
        headers: headerMap([
          [":status", "200"],
          ["content-type", "application/json"],
          ["content-encoding", "gzip"],
          ["x-envoy-upstream-service-time", "3"],
        ]),
      },
      observability_mode,
    },
    {
      request: "response_body",
      response_body: { body: gz.subarray(0, 10), end_of_stream: false },
      observability_mode,
    },
    {
      request: "response_body",
      response_body: { body: gz.subarray(10), end_of_stream: true },
      observability_mode,
    },
  ];
}

const SAMPLED = routeMetadataText({ model: "iris", version: "1", sample_rate: "1" });
const UNSAMPLED = routeMetadataText({ model: "iris", version: "1", sample_rate: "0" });

async function decisions(metrics: ReturnType<typeof createCollectorMetrics>) {
  return (await metrics.exchanges.get()).values.map(
    (v) => `${v.labels.decision}/${v.labels.mode}=${v.value}`,
  );
}

describe("handleProcessStream", () => {
  it("normal mode, sampled: one response per message, in order, then one complete record", async () => {
    const { call, records, lines, metrics, send } = harness();
    const messages = [requestHeaders({ metadata: SAMPLED }), ...rest(false)];
    messages.forEach((m, i) => {
      expect(records).toHaveLength(0);
      send(m);
      expect(call.written).toHaveLength(i + 1);
      expect(call.written[i]).toEqual({ [m.request!]: {} });
    });
    expect(call.written.map((w) => Object.keys(w))).toEqual([
      ["request_headers"],
      ["request_body"],
      ["request_body"],
      ["response_headers"],
      ["response_body"],
      ["response_body"],
    ]);
    expect(records).toHaveLength(1);
    const rec = records[0]!;
    expect(isCaptureId(rec.id)).toBe(true);
    expect(rec).toMatchObject({
      requestId: "req-1",
      sampledBy: "request_id",
      model: "iris",
      mode: "normal",
      complete: true,
      method: "POST",
      path: "/v2/models/iris/infer",
      authority: "localhost:10000",
      route: "iris_route",
      cluster: "inference_server",
      statusCode: 200,
      upstreamUs: 3000,
      startedAtUs: Date.UTC(2026, 10, 22, 17, 32, 52) * 1000 + 5852,
    });
    expect(Buffer.from(rec.request.data).toString()).toBe('{"inputs":[]}');
    expect(Buffer.from(rec.response.data).toString()).toBe('{"outputs":[]}');
    expect(rec.response).toMatchObject({ decoded: true, contentEncoding: "gzip" });
    expect(rec.request.headers).toEqual([
      { name: "content-type", value: "application/json" },
      { name: "authorization", value: "[REDACTED]" },
      { name: "x-request-id", value: "req-1" },
    ]);
    // Neither the secret nor the body reaches the logs.
    expect(JSON.stringify(lines)).not.toContain("s3cr3t");
    expect(JSON.stringify(lines)).not.toContain("inputs");
    expect(call.ended).toBe(0);
    // The stream closing afterwards neither repeats the record nor writes more.
    call.emit("end");
    call.emit("close");
    expect(records).toHaveLength(1);
    expect(call.written).toHaveLength(6);
    expect(await decisions(metrics)).toEqual(["sampled/normal=1"]);
    expect((await metrics.activeExchanges.get()).values[0]?.value).toBe(0);
  });

  it("normal mode, sample_rate 0: the headers response turns bodies off, and no record", async () => {
    const { call, records, metrics, send } = harness();
    send(requestHeaders({ metadata: UNSAMPLED }));
    expect(call.written).toHaveLength(1);
    const [first] = call.written;
    expect(first?.request_headers).toEqual({});
    expect(first?.mode_override).toMatchObject({
      request_body_mode: "NONE",
      response_body_mode: "NONE",
      response_header_mode: "SKIP",
    });
    for (const m of rest(false)) send(m); // Envoy would not send these; answering is still one each
    expect(call.written).toHaveLength(6);
    call.emit("end");
    expect(records).toEqual([]);
    expect(await decisions(metrics)).toEqual(["not_sampled/normal=1"]);
  });

  it("observability mode, sampled: nothing is written, the record is emitted and the stream ended", () => {
    const { call, records, send } = harness();
    for (const m of [requestHeaders({ metadata: SAMPLED, observability: true }), ...rest(true)]) send(m);
    expect(call.written).toEqual([]);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ mode: "observability", complete: true, statusCode: 200 });
    expect(call.ended).toBe(1);
  });

  it("observability mode, unsampled: the stream is ended at once, nothing written, no record", async () => {
    const { call, records, metrics, send } = harness();
    send(requestHeaders({ metadata: UNSAMPLED, observability: true }));
    expect(call.ended).toBe(1);
    expect(call.written).toEqual([]);
    expect(records).toEqual([]);
    expect(await decisions(metrics)).toEqual(["not_sampled/observability=1"]);
  });

  it("a route without metadata is not captured, and every message is still answered", async () => {
    const { call, records, metrics, send } = harness();
    for (const m of [requestHeaders({}), ...rest(false)]) send(m);
    call.emit("end");
    expect(records).toEqual([]);
    expect(call.written[0]?.mode_override).toMatchObject({ request_body_mode: "NONE" });
    expect(call.written).toHaveLength(6);
    expect(await decisions(metrics)).toEqual(["no_metadata/normal=1"]);
  });

  it("counts a stream a gate let through that the sampler does not keep, and only behind a gate", async () => {
    const disagreements = async (m: ReturnType<typeof createCollectorMetrics>) =>
      (await m.gateDisagreements.get()).values.map((v) => `${v.labels.model}=${v.value}`);
    const gated = harness([], true);
    gated.send(requestHeaders({ metadata: UNSAMPLED, observability: true }));
    expect(gated.call.ended).toBe(1);
    expect(await disagreements(gated.metrics)).toEqual(["iris=1"]);
    const kept = harness([], true);
    kept.send(requestHeaders({ metadata: SAMPLED, observability: true }));
    expect(await disagreements(kept.metrics)).toEqual([]);
    // A per-request override that lowers the rate below the gate's is not a disagreement.
    const lowered = harness([], true);
    const overridden = requestHeaders({ metadata: SAMPLED, observability: true });
    overridden.metadata_context = {
      filter_metadata: { modeltap: { fields: { sample_rate: { kind: "stringValue", stringValue: "0" } } } },
    };
    lowered.send(overridden);
    expect(await decisions(lowered.metrics)).toEqual(["not_sampled/observability=1"]);
    expect(await disagreements(lowered.metrics)).toEqual([]);
    const ungated = harness();
    ungated.send(requestHeaders({ metadata: UNSAMPLED, observability: true }));
    expect(await decisions(ungated.metrics)).toEqual(["not_sampled/observability=1"]);
    expect(await disagreements(ungated.metrics)).toEqual([]);
  });

  it("a route with invalid metadata is not captured; it is logged once with its problems and request id", async () => {
    const { records, lines, metrics, send } = harness();
    const metadata = routeMetadataText({ model: "iris", sample_rate: "2" });
    for (const m of [requestHeaders({ metadata, id: "bad-1" }), ...rest(false)]) send(m);
    expect(records).toEqual([]);
    expect(await decisions(metrics)).toEqual(["invalid_config/normal=1"]);
    const warns = lines.filter((l) => l.msg === "route modeltap metadata is invalid; not capturing");
    expect(warns).toHaveLength(1);
    expect(warns[0]).toMatchObject({ level: 40, request_id: "bad-1" });
    expect(String(warns[0]!.problems)).toContain("modeltap.sample_rate");
  });

  it("a request without x-request-id is sampled at the route's rate by a random draw, and the record says so", () => {
    const half = routeMetadataText({ model: "iris", version: "1", sample_rate: "0.5" });
    const { records, send } = harness([0.49, 0.51]);
    for (const m of [requestHeaders({ metadata: half, id: "" }), ...rest(false)]) send(m);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ requestId: "", sampledBy: "random", complete: true });
    const second = harness([0.51]);
    for (const m of [requestHeaders({ metadata: half, id: "" }), ...rest(false)]) second.send(m);
    expect(second.records).toEqual([]);
  });

  it("gives every captured exchange its own capture id, even when hops or replays share an x-request-id", () => {
    // Envoy opens one stream per exchange: three exchanges, three streams.
    const records = [1, 2, 3].flatMap(() => {
      const h = harness();
      for (const m of [requestHeaders({ metadata: SAMPLED, id: "shared" }), ...rest(false)]) h.send(m);
      return h.records;
    });
    expect(records.map((r) => r.requestId)).toEqual(["shared", "shared", "shared"]);
    expect(new Set(records.map((r) => r.id)).size).toBe(3);
  });

  it("a cancelled stream emits one incomplete record, even if close and error follow", async () => {
    const { call, records, metrics, send } = harness();
    const [body1, body2, respHeaders] = rest(false);
    send(requestHeaders({ metadata: SAMPLED }));
    send(body1!);
    send(body2!);
    send(respHeaders!);
    expect((await metrics.activeExchanges.get()).values[0]?.value).toBe(1);
    call.emit("cancelled");
    expect(records).toHaveLength(1); // on 'cancelled' itself, not only on what follows
    call.emit("close");
    call.emit("error", Object.assign(new Error("cancelled"), { code: 1 }));
    call.emit("end");
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ complete: false, statusCode: 200, requestId: "req-1" });
    expect(Buffer.from(records[0]!.request.data).toString()).toBe('{"inputs":[]}');
    expect((await metrics.activeExchanges.get()).values[0]?.value).toBe(0);
    const captured = (await metrics.captured.get()).values;
    expect(captured.map((v) => [v.labels.complete, v.value])).toEqual([["false", 1]]);
  });

  it("keeps the decoded input images on the record within max_decoded_bytes, and counts the rest", async () => {
    const { records, metrics, lines, send } = harness();
    const [small, big] = [png(8, 8), noisyPng(40, 40)];
    const meta = routeMetadataText({
      model: "classifier",
      task: "image_classification",
      sample_rate: "1",
      max_decoded_bytes: String(small.byteLength + 10),
    });
    const body = (which: "request_body" | "response_body", text: string) => ({
      request: which,
      [which]: { body: Buffer.from(text), end_of_stream: true },
      observability_mode: false,
    });
    send(requestHeaders({ metadata: meta }));
    send(body("request_body", JSON.stringify({ inputs: [b64(small), b64(big)] })));
    send({ ...rest(false)[2]!, response_headers: { headers: headerMap([[":status", "200"]]) } });
    send(body("response_body", JSON.stringify([[{ label: "a", score: 1 }], [{ label: "b", score: 1 }]])));
    expect(records).toHaveLength(1);
    expect(records[0]!.inputImages.map((i) => [i.instance, i.contentType, i.sizeBytes])).toEqual([
      [0, "image/png", small.byteLength],
    ]);
    expect((await metrics.inputImagesDropped.get()).values).toEqual([
      expect.objectContaining({ labels: { model: "classifier" }, value: 1 }),
    ]);
    expect(
      lines.find((l) => l.msg === "input images over max_decoded_bytes; not stored as objects"),
    ).toMatchObject({
      instances: [1],
    });
  });
});
