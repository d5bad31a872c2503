/** src/api/request-input.ts: URL and JSON body checks of `modeltap api`, before any handler runs. */
import { describe, expect, it } from "vitest";
import {
  MAX_JSON_DEPTH,
  jsonNestsDeeperThan,
  parseJsonBody,
  percentEncodingOk,
} from "../../src/api/request-input.js";

const bytes = (s: string) => Buffer.from(s, "utf8");
const nested = (depth: number) => "[".repeat(depth) + "]".repeat(depth);

describe("jsonNestsDeeperThan", () => {
  it("counts arrays and objects, exactly at the limit", () => {
    expect(jsonNestsDeeperThan(bytes(nested(3)), 3)).toBe(false);
    expect(jsonNestsDeeperThan(bytes(nested(4)), 3)).toBe(true);
    expect(jsonNestsDeeperThan(bytes('{"a":{"b":[{"c":1}]}}'), 4)).toBe(false);
    expect(jsonNestsDeeperThan(bytes('{"a":{"b":[{"c":1}]}}'), 3)).toBe(true);
    expect(jsonNestsDeeperThan(bytes('[1],[2],[3],{"x":[]}'), 2)).toBe(false);
  });

  it("ignores brackets inside strings, escaped quotes included, and multi-byte UTF-8", () => {
    const text = JSON.stringify({ s: '[[[{{{"\\]]]', t: "é[ü{😀" });
    expect(jsonNestsDeeperThan(bytes(text), 1)).toBe(false);
    expect(jsonNestsDeeperThan(bytes(`[${text}]`), 1)).toBe(true);
  });
});

describe("parseJsonBody", () => {
  it("parses what fits", () => {
    expect(parseJsonBody(bytes(nested(MAX_JSON_DEPTH)))).toHaveProperty("value");
    expect(parseJsonBody(bytes('{"capture_id":"a","label":{"kind":"x"}}'))).toEqual({
      value: { capture_id: "a", label: { kind: "x" } },
    });
  });

  it("refuses 100k-deep nesting, closed or not, before JSON.parse (whose result would overflow later)", () => {
    for (const text of ["[".repeat(100_000), nested(100_000), `{"label":${nested(100_000)}}`]) {
      expect(parseJsonBody(bytes(text))).toEqual({
        error: `body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels`,
      });
    }
  });

  it("says what is wrong with invalid JSON without quoting the body", () => {
    for (const text of ["not json hunter2-secret", '{"password":"hunter2-secret" x}', '{"a":']) {
      const r = parseJsonBody(bytes(text));
      expect(r).toHaveProperty("error");
      const error = (r as { error: string }).error;
      expect(error).toMatch(/^body is not valid JSON: /);
      expect(error).not.toContain("hunter2");
      expect(error).not.toContain("password");
    }
  });
});

describe("percentEncodingOk", () => {
  it("accepts well-formed escapes and refuses truncated ones and bad UTF-8", () => {
    expect(percentEncodingOk("/v1/ground-truth/%E0%A4%A0?x=%20&y=a+b")).toBe(true);
    expect(percentEncodingOk("/v1/ground-truth?id=%E0%A4%A")).toBe(false);
    expect(percentEncodingOk("/v1/ground-truth/%E0%A4%A")).toBe(false);
    expect(percentEncodingOk("/v1/media?capture=%")).toBe(false);
    expect(percentEncodingOk("/v1/media?capture=%FF")).toBe(false);
    expect(percentEncodingOk("/v1/media?capture=%zz")).toBe(false);
  });
});
