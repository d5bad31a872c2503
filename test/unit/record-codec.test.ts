/**
 * The hand-written codec must agree with proto/modeltap/v1/capture.proto: decode our bytes with a
 * reflection codec loaded from the .proto, and the reverse.
 */
import path from "node:path";
import protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/config.js";
import { RecordDecodeError } from "../../src/core/errors.js";
import { decodeRecord, encodeRecord } from "../../src/core/record-codec.js";
import { RECORD_SCHEMA_VERSION, emptyBody, type CaptureRecord } from "../../src/core/record.js";

const root = protobuf.loadSync(path.join(PACKAGE_ROOT, "proto", "modeltap", "v1", "capture.proto"));
const CaptureRecordType = root.lookupType("modeltap.v1.CaptureRecord");

function sample(overrides: Partial<CaptureRecord> = {}): CaptureRecord {
  return {
    id: "7b7d7e2c-1f1e-4f4b-9b9a-1c2d3e4f5a6b",
    model: "iris",
    version: "1",
    task: "tabular_classification",
    route: "iris",
    cluster: "inference_server",
    mode: "normal",
    method: "POST",
    path: "/v2/models/iris/infer",
    authority: "localhost:10000",
    startedAtUs: Date.now() * 1000 + 123,
    ttfbUs: 1500,
    durationUs: 2750,
    statusCode: 200,
    complete: true,
    request: {
      ...emptyBody(),
      contentType: "application/json",
      wireSizeBytes: 4,
      data: new Uint8Array([0, 255, 1, 128]),
      sizeBytes: 4,
      headers: [
        { name: "authorization", value: "[REDACTED]" },
        { name: "x-request-id", value: "7b7d" },
      ],
    },
    response: {
      ...emptyBody(),
      contentType: "application/json",
      contentEncoding: "gzip",
      wireSizeBytes: 9_000_000,
      truncated: true,
      decoded: false,
      decodeError: "body truncated at max_body_bytes; stored as received",
      objectRef: "7b7d/response",
      sizeBytes: 1_048_576,
    },
    sampleRate: 0.25,
    schemaVersion: RECORD_SCHEMA_VERSION,
    upstreamUs: 1000,
    ...overrides,
  };
}

describe("record codec", () => {
  it.each([null, 0, 1000])("round-trips a full record (upstreamUs %s)", (upstreamUs) => {
    const rec = sample({ upstreamUs });
    const back = decodeRecord(encodeRecord(rec));
    expect({ ...back, request: { ...back.request, data: [...back.request.data] } }).toEqual({
      ...rec,
      request: { ...rec.request, data: [...rec.request.data] },
    });
  });

  it("agrees with a reflection codec loaded from capture.proto, both ways", () => {
    const rec = sample();
    const viaProto = CaptureRecordType.toObject(CaptureRecordType.decode(encodeRecord(rec)), {
      longs: Number,
      bytes: Array,
    }) as Record<string, unknown>;
    expect(viaProto).toMatchObject({
      id: rec.id,
      model: "iris",
      mode: "normal",
      startedAtUs: rec.startedAtUs,
      ttfbUs: 1500,
      durationUs: 2750,
      statusCode: 200,
      complete: true,
      sampleRate: 0.25,
      schemaVersion: RECORD_SCHEMA_VERSION,
      upstreamUs: 1000,
      request: {
        contentType: "application/json",
        wireSizeBytes: 4,
        data: [0, 255, 1, 128],
        sizeBytes: 4,
        headers: [
          { name: "authorization", value: "[REDACTED]" },
          { name: "x-request-id", value: "7b7d" },
        ],
      },
      response: {
        contentEncoding: "gzip",
        truncated: true,
        decodeError: "body truncated at max_body_bytes; stored as received",
        objectRef: "7b7d/response",
        wireSizeBytes: 9_000_000,
      },
    });
    const reflected = CaptureRecordType.encode(CaptureRecordType.fromObject(viaProto)).finish();
    const back = decodeRecord(reflected);
    expect(back.startedAtUs).toBe(rec.startedAtUs);
    expect(back.response.objectRef).toBe("7b7d/response");
    expect([...back.request.data]).toEqual([0, 255, 1, 128]);
    expect(back.upstreamUs).toBe(1000);
  });

  it("declares every field the codec writes", () => {
    const names = Object.keys(CaptureRecordType.fields);
    expect(names).toHaveLength(20);
    expect(Object.keys(root.lookupType("modeltap.v1.Body").fields)).toHaveLength(10);
  });

  it("rejects garbage and records without an id", () => {
    expect(() => decodeRecord(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f]))).toThrow(RecordDecodeError);
    expect(() => decodeRecord(encodeRecord(sample({ id: "" })))).toThrow(/lacks id/);
  });
});
