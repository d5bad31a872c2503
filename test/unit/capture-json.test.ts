/** src/core/storage/capture-json.ts: captureJson, the stable JSON shape of a capture (documented in docs/cli.md). */
import { describe, expect, it } from "vitest";
import { emptyBody } from "../../src/core/record.js";
import { captureJson } from "../../src/core/storage/capture-json.js";
import { planPersist } from "../../src/core/storage/persist-plan.js";
import { irisRecord } from "../support/records.js";

const uriFor = (key: string) => `s3://modeltap/${key}`;

const DOCUMENTED_KEYS = [
  "id",
  // Added with capture ids (id became the capture id; the x-request-id moved here).
  "request_id",
  "sampled_by",
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

describe("captureJson", () => {
  it("has exactly the documented keys, in the documented order, in both bodies too", () => {
    const json = captureJson(planPersist(irisRecord(), uriFor).row);
    expect(Object.keys(json)).toEqual(DOCUMENTED_KEYS);
    expect(Object.keys(json.request as object)).toEqual(BODY_KEYS);
    expect(Object.keys(json.response as object)).toEqual(BODY_KEYS);
  });

  it("fills the values the documentation describes", () => {
    const json = captureJson(planPersist(irisRecord({ response: emptyBody() }), uriFor).row);
    expect(json).toMatchObject({
      id: "0190b6a2-1c3d-7e4f-8a5b-6c7d8e9f0a1b",
      request_id: "0190b6a2-1c3d-7e4f-8a5b-6c7d8e9f0a1b",
      sampled_by: "request_id",
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
      object_uri: "s3://modeltap/iris/1/2026/11/22/17/0190b6a2-1c3d-7e4f-8a5b-6c7d8e9f0a1b/request.json",
    });
    expect(json.response).toMatchObject({ object_uri: null, decode_error: null, size_bytes: 0 });
    const failed = captureJson(planPersist(irisRecord(), uriFor).row).response as Record<string, unknown>;
    expect(failed.decode_error).toBe("body truncated at max_body_bytes; stored as received");
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });
});
