/**
 * src/collector/process-stream.ts: redact_fields runs before the analysis, so neither the stored
 * body nor the analysis nor a log line holds what the route asked to redact, whatever the content
 * type; a body that cannot be confirmed redacted is withheld and counted.
 */
import { EventEmitter } from "node:events";
import { expect, it } from "vitest";
import type { ProcessCall, ProcessingRequest } from "../../src/collector/ext-proc.js";
import { createCollectorMetrics } from "../../src/collector/metrics.js";
import { handleProcessStream } from "../../src/collector/process-stream.js";
import type { CaptureRecord } from "../../src/core/record.js";
import { DEFAULT_SECRET_HEADERS } from "../../src/core/capture/redact-headers.js";
import { RouteResolver } from "../../src/core/capture/route-resolver.js";
import { PluginRegistry } from "../../src/plugins/registry.js";
import { captureLog } from "../support/log.js";

const SECRET = "SEKRET-ann@example.com";
const registry = new PluginRegistry();

class FakeCall extends EventEmitter {
  write(): boolean {
    return true;
  }
  end(): void {}
}

const METADATA =
  'filter_metadata { key: "modeltap" value { ' +
  'fields { key: "model" value { string_value: "pii" } } ' +
  'fields { key: "version" value { string_value: "1" } } ' +
  'fields { key: "task" value { string_value: "text_classification" } } ' +
  'fields { key: "protocol" value { string_value: "hf_pipeline" } } ' +
  'fields { key: "redact_fields" value { list_value { values { string_value: "$.inputs" } } } } } }';

const headers = (pairs: Array<[string, string]>) => ({
  headers: pairs.map(([key, v]) => ({ key, raw_value: Buffer.from(v) })),
});

/** One exchange through the stream owner: the request body sent as `contentType`. */
async function capture(requestBody: string, contentType: string) {
  const call = new FakeCall();
  const records: CaptureRecord[] = [];
  const { log, lines } = captureLog("debug");
  const metrics = createCollectorMetrics();
  handleProcessStream(call as unknown as ProcessCall, {
    resolver: new RouteResolver(registry),
    parsers: registry.detectionOrder(),
    secretHeaders: new Set(DEFAULT_SECRET_HEADERS),
    metrics,
    log,
    onRecord: (r) => records.push(r),
    nowUs: () => 1_000_000,
    samplingSeed: 0n,
    newCaptureId: () => "capture-1",
    random: () => 0,
  });
  const msgs: ProcessingRequest[] = [
    {
      request: "request_headers",
      request_headers: {
        headers: headers([
          [":method", "POST"],
          [":path", "/classify"],
          ["content-type", contentType],
          ["x-request-id", "req-1"],
        ]),
        end_of_stream: false,
      },
      attributes: {
        "envoy.filters.http.ext_proc": {
          fields: { "xds.route_metadata": { kind: "stringValue", stringValue: METADATA } },
        },
      },
    },
    { request: "request_body", request_body: { body: Buffer.from(requestBody), end_of_stream: true } },
    {
      request: "response_headers",
      response_headers: {
        headers: headers([
          [":status", "200"],
          ["content-type", "application/json"],
        ]),
      },
    },
    {
      request: "response_body",
      response_body: { body: Buffer.from('[{"label":"POS","score":0.9}]'), end_of_stream: true },
    },
  ];
  for (const m of msgs) call.emit("data", m);
  expect(records).toHaveLength(1);
  const withheld = (await metrics.redactionWithheld.get()).values;
  return { record: records[0]!, lines, withheld };
}

it("redacts a JSON body sent as text/plain before the analysis reads it", async () => {
  const { record, lines, withheld } = await capture(
    JSON.stringify({ inputs: `hi, ${SECRET}` }),
    "text/plain",
  );
  expect(JSON.parse(Buffer.from(record.request.data).toString())).toEqual({ inputs: "[REDACTED]" });
  expect(record.parseError).toBe("");
  expect(Buffer.from(record.analysisJson).toString()).toContain("[REDACTED]");
  expect(JSON.stringify(record)).not.toContain("SEKRET");
  expect(JSON.stringify(lines)).not.toContain("SEKRET");
  expect(withheld).toEqual([]);
});

it("withholds a body it cannot confirm redacted: not stored, not analysed, counted by direction", async () => {
  const { record, lines, withheld } = await capture(`hi, ${SECRET}`, "text/plain");
  expect(record.request.data.byteLength).toBe(0);
  expect(record.request.decodeError).toMatch(/^redact_fields: .*; body not stored$/);
  expect(Buffer.from(record.analysisJson).toString()).not.toContain("SEKRET");
  expect(JSON.stringify(record)).not.toContain("SEKRET");
  expect(JSON.stringify(lines)).not.toContain("SEKRET");
  expect(withheld).toEqual([{ value: 1, labels: { model: "pii", direction: "request" } }]);
});
