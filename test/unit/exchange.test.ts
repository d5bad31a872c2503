/** src/core/capture/exchange.ts: Exchange, from ext_proc-shaped pieces to one CaptureRecord; parseEnvoyTime. */
import zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import { Exchange, parseEnvoyTime, type ExchangeStart } from "../../src/core/capture/exchange.js";
import { DEFAULT_SECRET_HEADERS } from "../../src/core/capture/redact-headers.js";
import type { HeaderList } from "../../src/core/record.js";
import { compileRouteConfig, type RouteConfig } from "../../src/core/route-config.js";
import { emptyCatalog, validConfig } from "../support/routes.js";

const catalog = emptyCatalog();
const secretHeaders: ReadonlySet<string> = new Set(DEFAULT_SECRET_HEADERS);

const routeConfig = (extra: Record<string, unknown> = {}): RouteConfig =>
  validConfig(compileRouteConfig(catalog, { model: "iris", version: "1", sample_rate: "0.5", ...extra }));

const h = (pairs: Array<[string, string]>): HeaderList => pairs.map(([name, value]) => ({ name, value }));

const REQUEST_HEADERS = h([
  [":method", "POST"],
  [":path", "/v2/models/iris/infer"],
  [":authority", "localhost:10000"],
  [":scheme", "http"],
  ["content-type", "application/json"],
  ["Authorization", "Bearer secret-token"],
  ["x-request-id", "req-1"],
]);

const T0 = 1_000_000_000;

function start(over: Partial<ExchangeStart> = {}): Exchange {
  return new Exchange(
    {
      captureId: "0190b6a2-1c3d-7e4f-8a5b-6c7d8e9f0a1b",
      requestId: "req-1",
      sampledBy: "request_id",
      config: routeConfig(),
      mode: "normal",
      route: "iris_route",
      cluster: "inference_server",
      headers: REQUEST_HEADERS,
      nowUs: T0,
      ...over,
    },
    { secretHeaders },
  );
}

const responseJson = Buffer.from(JSON.stringify({ outputs: [{ name: "p", data: [0.1, 0.9] }] }).repeat(20));

function respond(ex: Exchange, body: Buffer, encoding = "gzip", endAt = T0 + 3000): void {
  ex.responseHeaders(
    h([
      [":status", "200"],
      ["content-type", "application/json"],
      ["content-encoding", encoding],
      ["x-envoy-upstream-service-time", "7"],
      ["set-cookie", "session=abc"],
    ]),
    false,
    T0 + 1200,
  );
  const mid = body.byteLength >> 1;
  ex.responseBody(body.subarray(0, mid), false, T0 + 2000);
  expect(ex.complete).toBe(false);
  ex.responseBody(body.subarray(mid), true, endAt);
}

describe("Exchange", () => {
  it("builds a complete record from a full exchange", () => {
    const ex = start({ envoyStartUs: 1_764_000_000_000_123 });
    ex.requestBody(Buffer.from('{"inputs":'), false);
    ex.requestBody(Buffer.from("[1,2]}"), true);
    const gz = zlib.gzipSync(responseJson);
    respond(ex, gz);
    expect(ex.complete).toBe(true);
    const rec = ex.toRecord(T0 + 999_999); // ignored: the response already ended

    expect(rec).toMatchObject({
      id: "0190b6a2-1c3d-7e4f-8a5b-6c7d8e9f0a1b",
      requestId: "req-1",
      sampledBy: "request_id",
      model: "iris",
      version: "1",
      task: "unknown",
      route: "iris_route",
      cluster: "inference_server",
      mode: "normal",
      method: "POST",
      path: "/v2/models/iris/infer",
      authority: "localhost:10000",
      startedAtUs: 1_764_000_000_000_123,
      ttfbUs: 1200,
      durationUs: 3000,
      statusCode: 200,
      complete: true,
      sampleRate: 0.5,
      upstreamUs: 7000,
    });
    expect(Buffer.from(rec.request.data).toString()).toBe('{"inputs":[1,2]}');
    expect(rec.request).toMatchObject({ decoded: false, truncated: false, wireSizeBytes: 16, sizeBytes: 16 });
    expect(rec.request.headers).toEqual(
      h([
        ["content-type", "application/json"],
        ["Authorization", "[REDACTED]"],
        ["x-request-id", "req-1"],
      ]),
    );
    expect(rec.response.headers.some((x) => x.name.startsWith(":"))).toBe(false);
    expect(rec.response.headers.find((x) => x.name === "set-cookie")?.value).toBe("[REDACTED]");

    expect(Buffer.from(rec.response.data).equals(responseJson)).toBe(true);
    expect(rec.response).toMatchObject({
      decoded: true,
      contentEncoding: "gzip",
      contentType: "application/json",
      wireSizeBytes: gz.byteLength,
      sizeBytes: responseJson.byteLength,
      truncated: false,
      decodeError: "",
    });
    expect(ex.responseChunkTimes).toEqual([
      [gz.byteLength >> 1, T0 + 2000],
      [gz.byteLength, T0 + 3000],
    ]);
  });

  it("falls back to the collector clock for startedAtUs and to null upstream time", () => {
    const ex = start();
    ex.responseHeaders(h([[":status", "404"]]), true, T0 + 50);
    const rec = ex.toRecord(T0 + 80);
    expect(rec).toMatchObject({ startedAtUs: T0, statusCode: 404, complete: true, durationUs: 50 });
    expect(rec.upstreamUs).toBeNull();
    expect(rec.response.data.byteLength).toBe(0);
  });

  it("keeps the raw bytes and sets decodeError when a gzip body is cut short", () => {
    const ex = start();
    const gz = zlib.gzipSync(responseJson);
    const cut = gz.subarray(0, gz.byteLength - 12); // trailer and some data missing
    respond(ex, cut);
    const rec = ex.toRecord(T0 + 5000);
    expect(rec.complete).toBe(true);
    expect(rec.response.decoded).toBe(false);
    expect(rec.response.decodeError).toMatch(/gzip/);
    expect(Buffer.from(rec.response.data).equals(cut)).toBe(true);
    expect(rec.response.sizeBytes).toBe(cut.byteLength);
  });

  it("does not decode a body truncated at max_body_bytes, keeping the first bytes as received", () => {
    const ex = start({ config: routeConfig({ max_body_bytes: 40 }) });
    const gz = zlib.gzipSync(responseJson);
    expect(gz.byteLength).toBeGreaterThan(40);
    respond(ex, gz);
    const rec = ex.toRecord(T0 + 5000);
    expect(rec.response).toMatchObject({ truncated: true, decoded: false, sizeBytes: 40 });
    expect(rec.response.wireSizeBytes).toBe(gz.byteLength);
    expect(rec.response.decodeError).toMatch(/truncated/);
    expect(Buffer.from(rec.response.data).equals(gz.subarray(0, 40))).toBe(true);
  });

  it("flags no decode error for a truncated identity-encoded body: there was nothing to decode", () => {
    const ex = start({ config: routeConfig({ max_body_bytes: 40 }) });
    respond(ex, Buffer.from(responseJson), "identity");
    const rec = ex.toRecord(T0 + 5000);
    expect(rec.response).toMatchObject({ truncated: true, decoded: false, sizeBytes: 40, decodeError: "" });
  });

  it("sets decodeError when the decoded body would exceed max_decoded_bytes", () => {
    const ex = start({ config: routeConfig({ max_decoded_bytes: 100 }) });
    const gz = zlib.gzipSync(responseJson);
    respond(ex, gz);
    const rec = ex.toRecord(T0 + 5000);
    expect(rec.response.decodeError).toMatch(/over cap of 100 bytes/);
    expect(Buffer.from(rec.response.data).equals(gz)).toBe(true);
  });

  it("flags an exchange that never saw the end of the response as incomplete", () => {
    const ex = start();
    ex.requestBody(Buffer.from("{}"), true);
    ex.responseHeaders(h([[":status", "200"]]), false, T0 + 100);
    ex.responseBody(Buffer.from("partial"), false, T0 + 200);
    expect(ex.complete).toBe(false);
    const rec = ex.toRecord(T0 + 10_000);
    expect(rec.complete).toBe(false);
    expect(rec.durationUs).toBe(10_000);
    expect(rec.ttfbUs).toBe(100);
    expect(Buffer.from(rec.response.data).toString()).toBe("partial");

    const noResponse = start().toRecord(T0 + 77);
    expect(noResponse).toMatchObject({ complete: false, statusCode: 0, ttfbUs: 0, durationUs: 77 });
  });
});

describe("parseEnvoyTime", () => {
  it("keeps microseconds: .005852 s is 5852 µs", () => {
    const base = Date.UTC(2026, 10, 22, 17, 32, 52);
    expect(parseEnvoyTime("2026-11-22T17:32:52.005852+00:00")).toBe(base * 1000 + 5852);
    expect(parseEnvoyTime("2026-11-22T17:32:52.005852Z")).toBe(
      Date.UTC(2026, 10, 22, 17, 32, 52, 5) * 1000 + 852,
    );
  });

  it("handles offsets, short and long fractions, and no fraction", () => {
    const base = Date.UTC(2026, 10, 22, 17, 32, 52) * 1000;
    expect(parseEnvoyTime("2026-11-22T19:32:52.5+02:00")).toBe(base + 500_000);
    expect(parseEnvoyTime("2026-11-22T17:32:52.123456789Z")).toBe(base + 123_456);
    expect(parseEnvoyTime("2026-11-22T17:32:52Z")).toBe(base);
  });

  it("returns undefined for missing or malformed input", () => {
    expect(parseEnvoyTime(undefined)).toBeUndefined();
    expect(parseEnvoyTime("")).toBeUndefined();
    expect(parseEnvoyTime("yesterday")).toBeUndefined();
    expect(parseEnvoyTime("2026-13-45T17:32:52Z")).toBeUndefined();
    expect(parseEnvoyTime("2026-11-22 17:32:52")).toBeUndefined();
  });
});
