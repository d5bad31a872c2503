/** redact_fields: the JSONPath subset, its application, and record-level redaction of JSON bodies. */
import { describe, expect, it } from "vitest";
import { redactBodyFields } from "../../src/core/capture/redact-fields.js";
import { JsonPathError, parseJsonPath, redactPath } from "../../src/core/json-path.js";
import { emptyBody, type CapturedBody } from "../../src/core/record.js";

describe("parseJsonPath", () => {
  it.each([
    [
      "$.user.email",
      [
        { kind: "key", key: "user" },
        { kind: "key", key: "email" },
      ],
    ],
    [
      "$.inputs[0].data",
      [
        { kind: "key", key: "inputs" },
        { kind: "index", index: 0 },
        { kind: "key", key: "data" },
      ],
    ],
    ["$.items[*].ssn", [{ kind: "key", key: "items" }, { kind: "wildcard" }, { kind: "key", key: "ssn" }]],
    ["$.a.*", [{ kind: "key", key: "a" }, { kind: "wildcard" }]],
    [
      "$['odd key'][\"x.y\"]",
      [
        { kind: "key", key: "odd key" },
        { kind: "key", key: "x.y" },
      ],
    ],
    ["$..password", [{ kind: "descend", key: "password" }]],
    [
      "$..user.email",
      [
        { kind: "descend", key: "user" },
        { kind: "key", key: "email" },
      ],
    ],
  ])("parses %s", (path, steps) => {
    expect(parseJsonPath(path)).toEqual(steps);
  });

  it.each([
    ["user.email", /must start with \$/],
    ["$", /names no field/],
    ["$.", /expected a member name after \./],
    ["$..", /expected a member name after \.\./],
    ["$.a[?(@.x)]", /unsupported syntax/],
    ["$.a[1:3]", /unsupported syntax/],
    ["$['open", /unterminated quoted member/],
  ])("refuses %s", (path, why) => {
    expect(() => parseJsonPath(path)).toThrow(JsonPathError);
    expect(() => parseJsonPath(path)).toThrow(why);
  });
});

describe("redactPath", () => {
  const doc = () => ({
    user: { email: "a@b.c", name: "Ann", password: "p1" },
    inputs: [
      { name: "x", data: [1, 2] },
      { name: "y", data: "secret" },
    ],
    nested: { deeper: { password: "p2", list: [{ password: "p3" }] } },
  });

  it.each([
    ["$.user.email", 1, (d: ReturnType<typeof doc>) => d.user.email],
    ["$.inputs[1].data", 1, (d: ReturnType<typeof doc>) => d.inputs[1]!.data],
    ["$.inputs[*].data", 2, (d: ReturnType<typeof doc>) => d.inputs[0]!.data],
    ["$..password", 3, (d: ReturnType<typeof doc>) => d.nested.deeper.list[0]!.password],
    ["$.user.*", 3, (d: ReturnType<typeof doc>) => d.user.name],
  ])("%s replaces %i value(s)", (path, n, pick) => {
    const d = doc();
    expect(redactPath(d, parseJsonPath(path), "[R]")).toBe(n);
    expect(pick(d)).toBe("[R]");
  });

  it("leaves everything else alone, and misses quietly", () => {
    const d = doc();
    expect(redactPath(d, parseJsonPath("$.user.email"), "[R]")).toBe(1);
    expect(d.user.name).toBe("Ann");
    expect(d.inputs[0]!.data).toEqual([1, 2]);
    for (const p of ["$.nope", "$.user.email.deeper", "$.inputs[9]", "$.user[0]", "$.inputs.name"]) {
      expect(redactPath(doc(), parseJsonPath(p), "[R]"), p).toBe(0);
    }
  });
});

describe("redactBodyFields", () => {
  const body = (text: string, over: Partial<CapturedBody> = {}): CapturedBody => ({
    ...emptyBody(),
    contentType: "application/json",
    data: Buffer.from(text),
    sizeBytes: Buffer.byteLength(text),
    wireSizeBytes: Buffer.byteLength(text),
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
