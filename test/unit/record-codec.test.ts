/** src/core/storage/record-codec.ts: encodeRecord/decodeRecord: round trips, failure modes, and agreement with capture.proto via protobufjs, both ways. */
import path from "node:path";
import protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import { RecordDecodeError } from "../../src/core/errors.js";
import { decodeRecord, encodeRecord } from "../../src/core/storage/record-codec.js";
import {
  RECORD_SCHEMA_VERSION,
  type CaptureRecord,
  type CapturedBody,
  type InputImage,
} from "../../src/core/record.js";
import { thrown } from "../support/errors.js";

const PROTO = path.resolve(import.meta.dirname, "../../proto/modeltap/v1/capture.proto");
const root = protobuf.loadSync(PROTO);
const RecordType = root.lookupType("modeltap.v1.CaptureRecord");
const BodyType = root.lookupType("modeltap.v1.Body");
const InputImageType = root.lookupType("modeltap.v1.InputImage");

const allBytes = Uint8Array.from({ length: 256 }, (_, i) => i);

function body(over: Partial<CapturedBody>): CapturedBody {
  return {
    contentType: "application/json",
    contentEncoding: "gzip",
    wireSizeBytes: 5_000_000_000, // over 2^32: needs a real 64-bit varint
    truncated: true,
    data: allBytes,
    sizeBytes: 256,
    decoded: true,
    decodeError: "décodage: \u0000 nul and emoji 🚀",
    objectRef: "ref/req",
    headers: [
      { name: "authorization", value: "[REDACTED]" },
      { name: "x-request-id", value: "abc" },
      { name: "x-dup", value: "" },
      { name: "x-dup", value: "second" },
    ],
    ...over,
  };
}

function fullRecord(over: Partial<CaptureRecord> = {}): CaptureRecord {
  return {
    id: "0d4c8f1e-9c55-4f0e-b0b3-7ad1d1f0a001",
    requestId: "req/1 with ü",
    sampledBy: "random",
    model: "iris",
    version: "1",
    task: "tabular_classification",
    route: "iris_route",
    cluster: "inference_server",
    mode: "normal",
    method: "POST",
    path: "/v2/models/iris/infer?x=1",
    authority: "localhost:10000",
    startedAtUs: Date.now() * 1000 + 987,
    ttfbUs: 1234,
    durationUs: 56_789,
    statusCode: 503,
    complete: true,
    request: body({}),
    response: body({ contentType: "image/png", data: new Uint8Array([0, 0xff, 0x80, 0x7f]), objectRef: "r" }),
    sampleRate: 0.125,
    schemaVersion: RECORD_SCHEMA_VERSION,
    upstreamUs: 7000,
    analysisJson: new TextEncoder().encode('{"schema_version":1,"instances":[]}'),
    parseError: "kserve_v2: outputs missing",
    labelRate: 0.5,
    labelSet: ["cat", "dög", ""],
    inputImages: [
      // Instance 0 is the default value on the wire (not written): it must still come back.
      { instance: 0, contentType: "image/png", data: allBytes, objectRef: "", sizeBytes: 256 },
      {
        instance: 7,
        contentType: "image/jpeg",
        data: new Uint8Array(0),
        objectRef: "id/input-7",
        sizeBytes: 5_000_000_000,
      },
    ],
    requestIsImage: true,
    analysisRef: "0d4c8f1e/analysis",
    ...over,
  };
}

/** Byte arrays as plain arrays so toEqual compares contents, not Buffer vs Uint8Array. */
function plain(r: CaptureRecord) {
  const b = (x: CapturedBody | InputImage) => ({ ...x, data: [...x.data] });
  return {
    ...r,
    request: b(r.request),
    response: b(r.response),
    analysisJson: [...r.analysisJson],
    inputImages: r.inputImages.map(b),
  };
}

/** A protobufjs object (camelCase, longs as numbers) in CaptureRecord shape. */
function fromReflection(bytes: Uint8Array): Record<string, unknown> {
  const msg = RecordType.decode(bytes);
  const o = RecordType.toObject(msg, { longs: Number, defaults: true, arrays: true }) as Record<
    string,
    unknown
  >;
  const b = (x: Record<string, unknown>) => ({ ...x, data: [...(x.data as Uint8Array)] });
  return {
    ...o,
    request: b(o.request as Record<string, unknown>),
    response: b(o.response as Record<string, unknown>),
    analysisJson: [...(o.analysisJson as Uint8Array)],
    inputImages: (o.inputImages as Array<Record<string, unknown>>).map(b),
    upstreamUs: Object.prototype.hasOwnProperty.call(msg, "upstreamUs") ? o.upstreamUs : null,
  };
}

describe("record codec round trip", () => {
  it.each([null, 0, 7000])("round-trips a fully populated record (upstreamUs %s)", (upstreamUs) => {
    const rec = fullRecord({ upstreamUs });
    const back = decodeRecord(encodeRecord(rec));
    expect(plain(back)).toEqual(plain(rec));
    expect(back.upstreamUs).toBe(upstreamUs);
  });

  it("keeps a large startedAtUs exactly", () => {
    const startedAtUs = Date.UTC(2026, 10, 22, 17, 32, 52, 5) * 1000 + 852;
    expect(decodeRecord(encodeRecord(fullRecord({ startedAtUs }))).startedAtUs).toBe(startedAtUs);
  });

  it("round-trips empty bodies and the observability mode", () => {
    const empty: CapturedBody = body({
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
    });
    const rec = fullRecord({
      mode: "observability",
      request: empty,
      response: empty,
      complete: false,
      inputImages: [],
      requestIsImage: false,
    });
    expect(plain(decodeRecord(encodeRecord(rec)))).toEqual(plain(rec));
  });

  it("ignores unknown fields (the schema only ever grows)", () => {
    const rec = fullRecord();
    const bytes = encodeRecord(rec);
    const extended = new Uint8Array([...bytes, 0x98, 0x06, 0x01]); // field 99, varint 1
    expect(plain(decodeRecord(extended))).toEqual(plain(rec));
  });

  it.each([
    [[0xff, 0xff, 0xff, 0xff]],
    [[0xff, 0xff, 0xff, 0xff, 0x0f]], // field number 2^29-1, wire type 7
    [[0x0a, 0x10, 0x41]], // string field claims 16 bytes, has 1
    [[0x0f]], // wire type 7
    [[0x08]], // varint with no value
    [[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
  ])("throws RecordDecodeError on garbage %j", (garbage) => {
    expect(thrown(RecordDecodeError, () => decodeRecord(new Uint8Array(garbage))).code).toBe(
      "RECORD_DECODE_FAILED",
    );
  });

  it("throws RecordDecodeError for a record without id or model", () => {
    expect(() => decodeRecord(encodeRecord(fullRecord({ id: "" })))).toThrow(/lacks id/);
    expect(() => decodeRecord(encodeRecord(fullRecord({ model: "" })))).toThrow(RecordDecodeError);
    expect(() => decodeRecord(new Uint8Array(0))).toThrow(RecordDecodeError);
  });
});

describe("record codec agrees with capture.proto", () => {
  it("has exactly the fields the .proto declares", () => {
    const rec = fullRecord();
    expect(Object.keys(RecordType.fields).sort()).toEqual(Object.keys(rec).sort());
    expect(Object.keys(BodyType.fields).sort()).toEqual(Object.keys(rec.request).sort());
    expect(Object.keys(InputImageType.fields).sort()).toEqual(Object.keys(rec.inputImages[0]!).sort());
  });

  it.each([null, 0, 7000])("our bytes decode with protobufjs to the same values (upstreamUs %s)", (up) => {
    const rec = fullRecord({ upstreamUs: up });
    const bytes = encodeRecord(rec);
    expect(RecordType.verify(RecordType.toObject(RecordType.decode(bytes)))).toBeNull();
    expect(fromReflection(bytes)).toEqual(plain(rec));
  });

  it("writes the same bytes protobufjs writes for a fully populated record", () => {
    const bytes = encodeRecord(fullRecord());
    const reencoded = RecordType.encode(RecordType.decode(bytes)).finish();
    expect(Buffer.from(bytes).equals(Buffer.from(reencoded))).toBe(true);
  });

  it.each([null, 0, 7000])(
    "protobufjs bytes decode with decodeRecord to the same values (upstreamUs %s)",
    (up) => {
      const rec = fullRecord({ upstreamUs: up });
      const { upstreamUs, ...rest } = rec;
      const msg = RecordType.fromObject(upstreamUs === null ? rest : rec);
      const bytes = RecordType.encode(msg).finish();
      expect(plain(decodeRecord(bytes))).toEqual(plain(rec));
    },
  );
});
