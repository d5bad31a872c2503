/** src/plugins/parsers/formats/csv.ts: parseCsv, RFC 4180 fields typed, and clear failures. */
import { describe, expect, it } from "vitest";
import { ParseError } from "../../src/core/plugins.js";
import { parseCsv } from "../../src/plugins/parsers/formats/csv.js";
import { thrown } from "../support/errors.js";

const parseErrorOf = (run: () => unknown): string => thrown(ParseError, run).message;

describe("parseCsv", () => {
  it("reads RFC 4180 fields and types the values", () => {
    const text =
      'name,score,ok,note\r\n"Smith, J",1.5,true,"said ""hi""\r\nthen left"\r\nLee,-2e3,FALSE,\r\n';
    expect(parseCsv(text)).toEqual([
      { name: "Smith, J", score: 1.5, ok: true, note: 'said "hi"\r\nthen left' },
      { name: "Lee", score: -2000, ok: false, note: null },
    ]);
  });
  it("handles a header-only file, a missing final newline and a BOM", () => {
    expect(parseCsv("a,b\n")).toEqual([]);
    expect(parseCsv("\uFEFFa,b\n1,x")).toEqual([{ a: 1, b: "x" }]);
  });
  it("fails on ragged rows and unterminated quotes", () => {
    expect(parseErrorOf(() => parseCsv("a,b,c\n1,2,3\n4,5\n"))).toContain(
      "row 3 has 2 fields, the header has 3",
    );
    expect(parseErrorOf(() => parseCsv('a\n"open'))).toContain("unterminated quoted field");
    expect(parseErrorOf(() => parseCsv('a,b\n"x"y,1'))).toContain("after a closing quote");
  });
});
