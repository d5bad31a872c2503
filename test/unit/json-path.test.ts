/** src/core/json-path.ts: the JSONPath subset of redact_fields (parseJsonPath) and its application (redactPath). */
import { describe, expect, it } from "vitest";
import { JsonPathError, parseJsonPath, redactPath } from "../../src/core/json-path.js";

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
