/** planPersist and captureJson: objects to write, the row, and the stable JSON shape. */
import { describe, expect, it } from "vitest";
import { labelExports, planPersist } from "../../src/core/storage/persist-plan.js";
import { bodyLocation, captureJson } from "../../src/core/storage/capture-json.js";
import { isSampled } from "../../src/core/sampler.js";
import { RECORD_SCHEMA_VERSION, emptyBody, type CaptureRecord } from "../../src/core/record.js";

const uriFor = (key: string) => `s3://modeltap/${key}`;
const STARTED = Date.UTC(2026, 10, 22, 17, 42, 54, 123) * 1000 + 456;

function record(over: Partial<CaptureRecord> = {}): CaptureRecord {
  return {
    id: "5b0e",
    model: "iris",
    version: "1",
    task: "unknown",
    route: "iris_route",
    cluster: "inference_server",
    mode: "observability",
    method: "POST",
    path: "/v2/models/iris/infer",
    authority: "localhost",
    startedAtUs: STARTED,
    ttfbUs: 1200,
    durationUs: 1840,
    statusCode: 200,
    complete: true,
    request: {
      ...emptyBody(),
      contentType: "application/json",
      data: Buffer.from('{"inputs":[]}'),
      sizeBytes: 13,
      wireSizeBytes: 13,
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
    schemaVersion: RECORD_SCHEMA_VERSION,
    upstreamUs: 1000,
    analysisJson: new Uint8Array(0),
    parseError: "",
    labelRate: 0,
    labelSet: [],
    ...over,
  };
}

const DOCUMENTED_KEYS = [
  "id",
  "model",
  "version",
  "task",
  "route",
  "cluster",
  "mode",
  "method",
  "path",
  "received_at",
  "duration_ms",
  "ttfb_ms",
  "upstream_ms",
  "status_code",
  "complete",
  "request",
  "response",
  // Added with analysis (docs/cli.md documents these three as well).
  "protocol",
  "parse_error",
  "analysis",
  // Added with the ground-truth loop.
  "label_rate",
  "labeling_instances",
];
const BODY_KEYS = [
  "content_type",
  "content_encoding",
  "size_bytes",
  "wire_size_bytes",
  "truncated",
  "decode_error",
  "stored_in",
  "object_uri",
];

describe("planPersist", () => {
  it("turns an inline body into an object under its key, and an objectRef body into a {ref} source", () => {
    const rec = record();
    const { objects, row } = planPersist(rec, uriFor);
    expect(objects).toEqual([
      {
        key: "iris/1/2026/11/22/17/5b0e/request.json",
        contentType: "application/json",
        source: { inline: rec.request.data },
      },
      {
        key: "iris/1/2026/11/22/17/5b0e/response.png",
        contentType: "image/png",
        source: { ref: "big/5b0e/response" },
      },
    ]);
    expect(row.request.objectKey).toBe("iris/1/2026/11/22/17/5b0e/request.json");
    expect(row.request.objectUri).toBe("s3://modeltap/iris/1/2026/11/22/17/5b0e/request.json");
    expect(row.response.objectUri).toBe("s3://modeltap/iris/1/2026/11/22/17/5b0e/response.png");
    expect(row.response).toMatchObject({ truncated: true, wireSizeBytes: 2_000_000, sizeBytes: 900_000 });
  });

  it("keeps small non-image bodies in the row, and images and large bodies as objects", () => {
    const small = (contentType: string, n: number) => ({
      ...emptyBody(),
      contentType,
      data: new Uint8Array(n).fill(65),
      sizeBytes: n,
    });
    const opts = { rowInlineMaxBytes: 100 };
    const tabular = planPersist(
      record({ request: small("application/json", 100), response: small("application/json", 101) }),
      uriFor,
      opts,
    );
    expect(tabular.row.request.inline).toEqual(new Uint8Array(100).fill(65));
    expect(tabular.row.request.objectKey).toBeNull();
    expect(tabular.row.request.objectUri).toBeNull();
    expect(captureJson(tabular.row).request).toMatchObject({ stored_in: "database", object_uri: null });
    // One byte over the limit: an object, as before.
    expect(tabular.row.response.inline).toBeNull();
    expect(tabular.objects.map((o) => o.key)).toEqual(["iris/1/2026/11/22/17/5b0e/response.json"]);
    expect(captureJson(tabular.row).response).toMatchObject({ stored_in: "object_store" });
    // An image is an unstructured input: always an object, however small.
    const image = planPersist(
      record({ request: small("Image/PNG", 10), response: emptyBody() }),
      uriFor,
      opts,
    );
    expect(image.row.request.inline).toBeNull();
    expect(image.objects.map((o) => o.contentType)).toEqual(["Image/PNG"]);
    // A body parked in the large-body store is never inline, and 0 turns inlining off.
    expect(planPersist(record(), uriFor, opts).row.response.inline).toBeNull();
    const off = planPersist(record({ request: small("application/json", 5) }), uriFor, {
      rowInlineMaxBytes: 0,
    });
    expect(off.row.request.inline).toBeNull();
    expect(captureJson(off.row).response).toMatchObject({ stored_in: "object_store" });
    expect(captureJson(planPersist(record({ response: emptyBody() }), uriFor).row).response).toMatchObject({
      stored_in: null,
    });
    expect(bodyLocation(tabular.row.request)).toBe("database row");
    expect(bodyLocation(tabular.row.response)).toBe("s3://modeltap/iris/1/2026/11/22/17/5b0e/response.json");
    expect(bodyLocation(planPersist(record({ response: emptyBody() }), uriFor).row.response)).toBe("-");
  });

  it("writes no object and a null uri for an empty body", () => {
    const { objects, row } = planPersist(record({ response: emptyBody() }), uriFor);
    expect(objects.map((o) => o.key)).toEqual(["iris/1/2026/11/22/17/5b0e/request.json"]);
    expect(row.response.objectKey).toBeNull();
    expect(row.response.objectUri).toBeNull();
    const none = planPersist(record({ request: emptyBody(), response: emptyBody() }), uriFor);
    expect(none.objects).toEqual([]);
  });

  it("stores a body with no content type as application/octet-stream with a .bin key", () => {
    const rec = record({ request: { ...emptyBody(), data: new Uint8Array([1, 2, 3]), sizeBytes: 3 } });
    const [first] = planPersist(rec, uriFor).objects;
    expect(first).toMatchObject({
      key: "iris/1/2026/11/22/17/5b0e/request.bin",
      contentType: "application/octet-stream",
    });
  });

  it("converts times: received_at from µs, durations to ms, upstream null stays null", () => {
    const { row } = planPersist(record(), uriFor);
    expect(row.receivedAt.toISOString()).toBe("2026-11-22T17:42:54.123Z");
    expect(row.durationMs).toBe(1.84);
    expect(row.ttfbMs).toBe(1.2);
    expect(row.upstreamMs).toBe(1);
    expect(planPersist(record({ upstreamUs: null }), uriFor).row.upstreamMs).toBeNull();
    expect(planPersist(record({ upstreamUs: 0 }), uriFor).row.upstreamMs).toBe(0);
    expect(row.analysis).toBeNull();
    expect(row.predictions).toBeNull();
  });
});

describe("captureJson", () => {
  it("has exactly the documented keys, in the documented order, in both bodies too", () => {
    const json = captureJson(planPersist(record(), uriFor).row);
    expect(Object.keys(json)).toEqual(DOCUMENTED_KEYS);
    expect(Object.keys(json.request as object)).toEqual(BODY_KEYS);
    expect(Object.keys(json.response as object)).toEqual(BODY_KEYS);
  });

  it("fills the values the documentation describes", () => {
    const json = captureJson(planPersist(record({ response: emptyBody() }), uriFor).row);
    expect(json).toMatchObject({
      id: "5b0e",
      received_at: "2026-11-22T17:42:54.123Z",
      duration_ms: 1.84,
      ttfb_ms: 1.2,
      upstream_ms: 1,
      status_code: 200,
      complete: true,
      protocol: null,
      parse_error: null,
      analysis: null,
    });
    expect(json.request).toEqual({
      content_type: "application/json",
      content_encoding: "",
      size_bytes: 13,
      wire_size_bytes: 13,
      truncated: false,
      decode_error: null,
      stored_in: "object_store",
      object_uri: "s3://modeltap/iris/1/2026/11/22/17/5b0e/request.json",
    });
    expect(json.response).toMatchObject({ object_uri: null, decode_error: null, size_bytes: 0 });
    const failed = captureJson(planPersist(record(), uriFor).row).response as Record<string, unknown>;
    expect(failed.decode_error).toBe("body truncated at max_body_bytes; stored as received");
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });
});

describe("labelExports: which captures go to the labeling tool", () => {
  const analysis = (task: string, inputs: Array<Record<string, unknown>>) =>
    Buffer.from(
      JSON.stringify({
        schema_version: 1,
        task,
        protocol: "generic",
        instances: inputs.map((input) => ({ input, prediction: null })),
      }),
    );
  const rec = (id: string, task: string, labelRate: number, inputs: Array<Record<string, unknown>>) =>
    record({ id, task, labelRate, labelSet: ["a"], analysisJson: analysis(task, inputs) });
  const image = { image: { width: 4, height: 3, format: "png" } };

  it("queues every instance with a text or an image at label_rate 1, none at 0", () => {
    const r = rec("x1", "ner", 1, [{ text: "a" }, { text: "b" }, {}]);
    expect(labelExports(r, planPersist(r, uriFor).row.analysis)).toEqual([0, 1]);
    expect(planPersist(r, uriFor).row.labelExports).toEqual([0, 1]);
    expect(planPersist(rec("x1", "ner", 0, [{ text: "a" }]), uriFor).row.labelExports).toEqual([]);
  });

  it("only for tasks people label", () => {
    for (const task of ["tabular_classification", "tabular_regression", "text_generation", "unknown"]) {
      expect(planPersist(rec("x2", task, 1, [image]), uriFor).row.labelExports, task).toEqual([]);
    }
    for (const task of ["image_classification", "object_detection", "instance_segmentation"]) {
      expect(planPersist(rec("x2", task, 1, [image]), uriFor).row.labelExports, task).toEqual([0]);
    }
  });

  it("picks about label_rate of captures, independently of the sampling hash", () => {
    const ids = Array.from({ length: 4000 }, (_, i) => `req-${i}`);
    const chosen = ids.filter(
      (id) => planPersist(rec(id, "ner", 0.25, [{ text: "t" }]), uriFor).row.labelExports.length,
    );
    expect(chosen.length / ids.length).toBeGreaterThan(0.22);
    expect(chosen.length / ids.length).toBeLessThan(0.28);
    // Among ids the sampler keeps at 0.25, labeling still picks about a quarter (not all, not none).
    const sampled = ids.filter((id) => isSampled(id, 0.25));
    const both = sampled.filter((id) => chosen.includes(id));
    expect(both.length / sampled.length).toBeGreaterThan(0.18);
    expect(both.length / sampled.length).toBeLessThan(0.32);
  });
});
