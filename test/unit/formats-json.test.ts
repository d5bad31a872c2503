/** src/plugins/parsers/formats/json.ts: parseJson, strict UTF-8 JSON with a reason for every failure. */
import { describe, expect, it } from "vitest";
import { ParseError } from "../../src/core/plugins.js";
import { parseJson } from "../../src/plugins/parsers/formats/json.js";
import { utf8 } from "../support/bytes.js";
import { thrown } from "../support/errors.js";

const parseErrorOf = (run: () => unknown): string => thrown(ParseError, run).message;

describe("parseJson", () => {
  it("parses strict UTF-8 JSON", () => {
    expect(parseJson(utf8('{"a": [1, "é"]}'), "request")).toEqual({ a: [1, "é"] });
  });
  it("rejects invalid UTF-8, empty bodies and broken JSON with a reason", () => {
    expect(parseErrorOf(() => parseJson(new Uint8Array([0x7b, 0xff, 0x7d]), "request"))).toContain(
      "request: the body is not valid UTF-8",
    );
    expect(parseErrorOf(() => parseJson(utf8("  "), "response"))).toContain("empty");
    expect(parseErrorOf(() => parseJson(utf8('{"a": '), "response"))).toContain("response: invalid JSON");
    expect(parseErrorOf(() => parseJson(utf8('{"a": '), "response", true))).toContain("truncated body");
  });
});
