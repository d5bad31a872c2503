/** src/core/capture/redact-fields.ts: redact_fields on every body that parses, and no body kept that cannot be confirmed. */
import zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import { redactBodyFields, redactRecordFields } from "../../src/core/capture/redact-fields.js";
import { parseJsonPath } from "../../src/core/json-path.js";
import type { CapturedBody } from "../../src/core/record.js";
import { capturedBody, newRecord } from "../support/records.js";

const SECRET = "ann@example.com";
const paths = [
  parseJsonPath("$.user.email"),
  parseJsonPath("$..password"),
  parseJsonPath("$.inputs[*].data"),
];
const body = (text: string | Uint8Array, over: Partial<CapturedBody> = {}): CapturedBody => ({
  ...capturedBody("application/json", text),
  ...over,
});
const text = (b: CapturedBody) => Buffer.from(b.data).toString();

/** The body was dropped, and says so. */
function expectWithheld(b: CapturedBody, why: RegExp) {
  expect(b.data.byteLength).toBe(0);
  expect(b.sizeBytes).toBe(0);
  expect(b.decodeError).toMatch(why);
  expect(b.decodeError).toMatch(/^redact_fields: .*; body not stored$/);
}

describe("redactBodyFields", () => {
  it("replaces the fields and re-serializes, updating the size", () => {
    const b = body(`{ "user": { "email": "${SECRET}", "password": "hunter2" }, "x": 1 }`);
    expect(redactBodyFields(b, paths)).toEqual({ fields: 2, withheld: false });
    expect(JSON.parse(text(b))).toEqual({ user: { email: "[REDACTED]", password: "[REDACTED]" }, x: 1 });
    expect(text(b)).not.toContain(SECRET);
    expect(text(b)).not.toContain("hunter2");
    expect(b.sizeBytes).toBe(Buffer.byteLength(text(b)));
    expect(b.decodeError).toBe("");
  });

  it("keeps a body with nothing to redact byte for byte", () => {
    const b = body('{ "x": 1 }');
    expect(redactBodyFields(b, paths)).toEqual({ fields: 0, withheld: false });
    expect(text(b)).toBe('{ "x": 1 }');
  });

  // The parsers read JSON whatever the content type says, so redaction must too.
  it.each(["text/plain", "application/x-www-form-urlencoded", "text/json", "application/jsonl", ""])(
    "redacts a JSON body sent as %j",
    (contentType) => {
      const b = body(`{"user":{"email":"${SECRET}"}}`, { contentType });
      expect(redactBodyFields(b, paths)).toEqual({ fields: 1, withheld: false });
      expect(JSON.parse(text(b))).toEqual({ user: { email: "[REDACTED]" } });
    },
  );

  it("redacts every line of JSON lines, keeping line breaks and untouched lines as sent", () => {
    const lines = `{"user":{"email":"${SECRET}"}}\r\n{ "x": 1 }\n\n{"password":"hunter2"}\n`;
    for (const contentType of ["application/jsonl", "application/x-ndjson", "text/plain", ""]) {
      const b = body(lines, { contentType });
      expect(redactBodyFields(b, paths)).toEqual({ fields: 2, withheld: false });
      expect(text(b)).toBe(`{"user":{"email":"[REDACTED]"}}\r\n{ "x": 1 }\n\n{"password":"[REDACTED]"}\n`);
    }
  });

  it("redacts the data lines of an event stream", () => {
    const sse = `: hi\nevent: chunk\ndata: {"password":"hunter2"}\n\ndata:{"inputs":[{"data":"${SECRET}"}]}\n\ndata: [DONE]\n\n`;
    const b = body(sse, { contentType: "text/event-stream" });
    expect(redactBodyFields(b, paths)).toEqual({ fields: 2, withheld: false });
    expect(text(b)).toBe(
      `: hi\nevent: chunk\ndata: {"password":"[REDACTED]"}\n\ndata:{"inputs":[{"data":"[REDACTED]"}]}\n\ndata: [DONE]\n\n`,
    );
  });

  it("redacts named form fields, in dotted and bracketed names, however they are percent-encoded", () => {
    const form = `user%5Bemail%5D=${encodeURIComponent(SECRET)}&user.email=x&inputs[][data]=d&inputs%5B0%5D%5Bdata%5D=e&password=p%zz&keep=1`;
    const b = body(form, { contentType: "application/x-www-form-urlencoded; charset=utf-8" });
    expect(redactBodyFields(b, paths)).toEqual({ fields: 5, withheld: false });
    expect(text(b)).toBe(
      "user%5Bemail%5D=[REDACTED]&user.email=[REDACTED]&inputs[][data]=[REDACTED]&inputs%5B0%5D%5Bdata%5D=[REDACTED]&password=[REDACTED]&keep=1",
    );
  });

  it("does not keep a form body with JSON inside a field it cannot match", () => {
    const form = `payload=${encodeURIComponent(JSON.stringify({ user: { email: SECRET } }))}`;
    const b = body(form, { contentType: "application/x-www-form-urlencoded" });
    expect(redactBodyFields(b, paths)).toEqual({ fields: 0, withheld: true });
    expectWithheld(b, /not valid JSON, JSON lines or form data/);
  });

  it.each([
    ["truncated JSON", body(`{"user":{"email":"${SECRET}"`, { truncated: true }), /truncated/],
    ["malformed JSON", body(`{"user": {"email": "${SECRET}"`), /body is not valid JSON/],
    ["plain text", body(`my email is ${SECRET}`, { contentType: "text/plain" }), /not valid JSON/],
    [
      "one bad line among JSON lines",
      body(`{"a":1}\n${SECRET}\n`, { contentType: "application/jsonl" }),
      /not valid JSON/,
    ],
    ["a form sent as text", body(`email=${SECRET}`, { contentType: "text/plain" }), /not valid JSON/],
    [
      "binary",
      body(new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0xff, 0xfe, 0x00]), { contentType: "image/png" }),
      /not UTF-8/,
    ],
    [
      "a compressed body that failed to decode",
      body(zlib.gzipSync(`{"user":{"email":"${SECRET}"}}`).subarray(0, 20), {
        contentEncoding: "gzip",
        decodeError: "gzip decode failed: unexpected end of file",
      }),
      /could not be decoded \(gzip decode failed: unexpected end of file\)/,
    ],
    [
      "JSON nested too deeply to walk",
      body(`${"[".repeat(20_000)}${"]".repeat(20_000)}`),
      /nested too deeply|not valid JSON/,
    ],
  ])("does not keep %s: it cannot be confirmed redacted", (_name, b, why) => {
    expect(redactBodyFields(b, paths)).toEqual({ fields: 0, withheld: true });
    expectWithheld(b, why);
  });

  it("does nothing on a route without redact_fields, or to an empty body", () => {
    const plain = body(`my email is ${SECRET}`, { contentType: "text/plain" });
    expect(redactBodyFields(plain, [])).toEqual({ fields: 0, withheld: false });
    expect(text(plain)).toContain(SECRET);
    const empty = body("");
    expect(redactBodyFields(empty, paths)).toEqual({ fields: 0, withheld: false });
    expect(empty.decodeError).toBe("");
  });
});

describe("redactRecordFields", () => {
  it("adds up the fields and names the bodies it withheld", () => {
    const record = newRecord({
      id: "r",
      model: "m",
      request: body(`{"password":"hunter2"}`, { contentType: "text/plain" }),
      response: body(`card ${SECRET}`, { contentType: "text/plain" }),
    });
    expect(redactRecordFields(record, paths)).toEqual({ fields: 1, withheld: ["response"] });
    expect(JSON.stringify(record)).not.toContain("hunter2");
    expect(Buffer.from(record.response.data).toString()).toBe("");
  });
});
