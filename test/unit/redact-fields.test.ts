/** src/core/capture/redact-fields.ts: redactBodyFields, redact_fields applied to the JSON bodies of a record. */
import { describe, expect, it } from "vitest";
import { redactBodyFields } from "../../src/core/capture/redact-fields.js";
import { parseJsonPath } from "../../src/core/json-path.js";
import type { CapturedBody } from "../../src/core/record.js";
import { capturedBody } from "../support/records.js";

describe("redactBodyFields", () => {
  const body = (text: string, over: Partial<CapturedBody> = {}): CapturedBody => ({
    ...capturedBody("application/json", text),
    ...over,
  });
  const paths = [parseJsonPath("$.user.email"), parseJsonPath("$..password")];

  it("replaces the fields and re-serializes, updating the size", () => {
    const b = body('{ "user": { "email": "a@b.c", "password": "hunter2" }, "x": 1 }');
    expect(redactBodyFields(b, paths)).toBe(2);
    const text = Buffer.from(b.data).toString();
    expect(JSON.parse(text)).toEqual({ user: { email: "[REDACTED]", password: "[REDACTED]" }, x: 1 });
    expect(text).not.toContain("a@b.c");
    expect(text).not.toContain("hunter2");
    expect(b.sizeBytes).toBe(Buffer.byteLength(text));
    expect(b.decodeError).toBe("");
  });

  it("keeps a body with nothing to redact byte for byte", () => {
    const b = body('{ "x": 1 }');
    expect(redactBodyFields(b, paths)).toBe(0);
    expect(Buffer.from(b.data).toString()).toBe('{ "x": 1 }');
  });

  it.each([
    ["truncated", body('{"user":{"email":"a@b.c"', { truncated: true }), /truncated/],
    ["malformed", body('{"user": {"email": "a@b.c"'), /not valid JSON/],
  ])("does not keep a %s JSON body it cannot redact", (_name, b, why) => {
    redactBodyFields(b, paths);
    expect(b.data.byteLength).toBe(0);
    expect(b.sizeBytes).toBe(0);
    expect(b.decodeError).toMatch(why);
    expect(b.decodeError).toMatch(/body not stored/);
  });

  it("applies to application/json and +json only, and not without paths", () => {
    const text = '{"user":{"email":"a@b.c"}}';
    expect(
      redactBodyFields(body(text, { contentType: "application/vnd.api+json; charset=utf-8" }), paths),
    ).toBe(1);
    expect(redactBodyFields(body(text, { contentType: "text/plain" }), paths)).toBe(0);
    expect(redactBodyFields(body(text), [])).toBe(0);
  });
});
