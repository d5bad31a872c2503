/** The stream owner against a fake ext_proc call: response discipline per mode, records, logs. */
import { EventEmitter } from "node:events";
import { Writable } from "node:stream";
import zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import type {
  ProcessCall,
  ProcessingRequest,
  ProcessingResponse,
  ProtoStruct,
} from "../../src/collector/ext-proc.js";
import { createCollectorMetrics } from "../../src/collector/metrics.js";
import { handleProcessStream } from "../../src/collector/process-stream.js";
import { parseEnvoyTime } from "../../src/core/exchange.js";
import type { CaptureRecord } from "../../src/core/record.js";
import { RouteResolver } from "../../src/core/route-resolver.js";
import { createLogger } from "../../src/log.js";

class FakeCall extends EventEmitter {
  written: ProcessingResponse[] = [];
  ended = false;
  write(m: ProcessingResponse) {
    this.written.push(m);
    return true;
  }
  end() {
    this.ended = true;
  }
}

function harness() {
  const call = new FakeCall();
  const records: CaptureRecord[] = [];
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      cb();
    },
  });
  let clock = 1_000_000;
  handleProcessStream(call as unknown as ProcessCall, {
    resolver: new RouteResolver(),
    secretHeaders: new Set(["authorization"]),
    metrics: createCollectorMetrics(),
    log: createLogger("info", "test", sink),
    onRecord: (r) => records.push(r),
    nowUs: () => (clock += 100),
  });
  return { call, records, lines };
}

const hdrs = (h: Record<string, string>) => ({
  headers: { headers: Object.entries(h).map(([key, v]) => ({ key, raw_value: Buffer.from(v) })) },
});
const routeMeta = (fields: Record<string, string>) =>
  `filter_metadata { key: "modeltap" value { ${Object.entries(fields)
    .map(([k, v]) => `fields { key: "${k}" value { string_value: "${v}" } }`)
    .join(" ")} } }`;

function exchange(observability: boolean, meta: string | undefined, id = "req-1"): ProcessingRequest[] {
  const attrs: Record<string, ProtoStruct> = meta
    ? {
        "envoy.filters.http.ext_proc": {
          fields: {
            "xds.route_metadata": { kind: "stringValue", stringValue: meta },
            "xds.route_name": { kind: "stringValue", stringValue: "iris" },
            "request.time": { kind: "stringValue", stringValue: "2026-11-22T17:32:52.005852+00:00" },
          },
        },
      }
    : {};
  const o = { observability_mode: observability };
  return [
    {
      ...o,
      request: "request_headers",
      attributes: attrs,
      request_headers: hdrs({
        ":method": "POST",
        ":path": "/v2/models/iris/infer",
        "x-request-id": id,
        authorization: "Bearer s3cr3t",
      }),
    },
    {
      ...o,
      request: "request_body",
      request_body: { body: Buffer.from('{"inputs":'), end_of_stream: false },
    },
    { ...o, request: "request_body", request_body: { body: Buffer.from("[1]}"), end_of_stream: true } },
    {
      ...o,
      request: "response_headers",
      response_headers: hdrs({
        ":status": "200",
        "content-type": "application/json",
        "content-encoding": "gzip",
        "x-envoy-upstream-service-time": "3",
      }),
    },
    {
      ...o,
      request: "response_body",
      response_body: { body: zlib.gzipSync('{"outputs":[]}'), end_of_stream: true },
    },
  ];
}

describe("handleProcessStream", () => {
  it("normal mode, sampled: one response per message, in order, and one complete record", () => {
    const { call, records, lines } = harness();
    const msgs = exchange(false, routeMeta({ model: "iris", sample_rate: "1" }));
    for (const m of msgs) call.emit("data", m);
    expect(call.written.map((w) => Object.keys(w))).toEqual(msgs.map((m) => [m.request]));
    expect(call.written.every((w) => w.mode_override === undefined)).toBe(true);
    call.emit("end");
    expect(records).toHaveLength(1);
    const r = records[0]!;
    expect(r).toMatchObject({
      id: "req-1",
      model: "iris",
      mode: "normal",
      method: "POST",
      statusCode: 200,
      complete: true,
      upstreamUs: 3000,
      route: "iris",
    });
    expect(r.startedAtUs).toBe(parseEnvoyTime("2026-11-22T17:32:52.005852+00:00"));
    expect(r.startedAtUs).toBe(Date.UTC(2026, 10, 22, 17, 32, 52) * 1000 + 5852);
    expect(Buffer.from(r.request.data).toString()).toBe('{"inputs":[1]}');
    expect(Buffer.from(r.response.data).toString()).toBe('{"outputs":[]}');
    expect(r.response).toMatchObject({ decoded: true, contentEncoding: "gzip" });
    expect(r.request.headers).toEqual([
      { name: "x-request-id", value: "req-1" },
      { name: "authorization", value: "[REDACTED]" },
    ]);
    expect(JSON.stringify(lines)).not.toContain("s3cr3t");
    expect(JSON.stringify(lines)).not.toContain("inputs");
  });

  it("normal mode, not sampled: the headers answer switches bodies to NONE and no record is built", () => {
    const { call, records } = harness();
    call.emit("data", exchange(false, routeMeta({ model: "iris", sample_rate: "0" }))[0]);
    expect(call.written).toHaveLength(1);
    expect(call.written[0]!.mode_override).toMatchObject({
      request_body_mode: "NONE",
      response_body_mode: "NONE",
      response_header_mode: "SKIP",
    });
    call.emit("end");
    expect(records).toHaveLength(0);
  });

  it("observability mode: never answers; records the exchange; closes unsampled streams at once", () => {
    const sampled = harness();
    for (const m of exchange(true, routeMeta({ model: "iris" }))) sampled.call.emit("data", m);
    expect(sampled.call.written).toHaveLength(0);
    expect(sampled.records).toHaveLength(1);
    expect(sampled.records[0]!.mode).toBe("observability");
    expect(sampled.call.ended).toBe(true);

    const unsampled = harness();
    unsampled.call.emit("data", exchange(true, routeMeta({ model: "iris", sample_rate: "0" }))[0]);
    expect(unsampled.call.ended).toBe(true);
    expect(unsampled.call.written).toHaveLength(0);
  });

  it("does not capture routes without metadata", () => {
    const { call, records } = harness();
    for (const m of exchange(false, undefined)) call.emit("data", m);
    call.emit("end");
    expect(records).toHaveLength(0);
    // Envoy would stop after the override; answered anyway, one per message, so it is never held.
    expect(call.written[0]!.mode_override).toMatchObject({ request_body_mode: "NONE" });
    expect(call.written).toHaveLength(5);
  });

  it("logs an invalid route config once, with its problems and the request id", () => {
    const { call, lines } = harness();
    call.emit("data", exchange(false, routeMeta({ model: "iris", sample_rate: "2" }), "bad-1")[0]);
    const warn = lines.find((l) => l.msg === "route modeltap metadata is invalid; not capturing");
    expect(warn).toMatchObject({ level: 40, request_id: "bad-1" });
    expect(String(warn!.problems)).toContain("modeltap.sample_rate");
  });

  it("a stream cancelled mid-exchange yields exactly one incomplete record", () => {
    const { call, records } = harness();
    const msgs = exchange(true, routeMeta({ model: "iris" }));
    call.emit("data", msgs[0]);
    call.emit("data", msgs[1]);
    call.emit("cancelled");
    call.emit("error", Object.assign(new Error("cancelled"), { code: 1 }));
    call.emit("close");
    expect(records).toHaveLength(1);
    expect(records[0]!.complete).toBe(false);
    expect(Buffer.from(records[0]!.request.data).toString()).toBe('{"inputs":');
  });
});
