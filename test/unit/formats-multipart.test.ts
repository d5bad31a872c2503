/** src/plugins/parsers/formats/multipart.ts: parseMultipart, form parts with exact bytes, and clear failures. */
import { describe, expect, it } from "vitest";
import { ParseError } from "../../src/core/plugins.js";
import { parseMultipart } from "../../src/plugins/parsers/formats/multipart.js";
import { png, utf8 } from "../support/bytes.js";
import { thrown } from "../support/errors.js";

const PNG = png(3, 2);
const parseErrorOf = (run: () => unknown): string => thrown(ParseError, run).message;

describe("parseMultipart", () => {
  const body = [
    "preamble",
    "--XyZ",
    'Content-Disposition: form-data; name="caption"',
    "",
    "a cat",
    "--XyZ",
    'Content-Disposition: form-data; name="file"; filename="cat.png"',
    "Content-Type: image/png",
    "",
    "",
  ].join("\r\n");
  const bytes = Buffer.concat([utf8(body), PNG, utf8("\r\n--XyZ--\r\n")]);

  it("splits parts with names, filenames, content types and exact data", () => {
    const parts = parseMultipart(bytes, 'multipart/form-data; boundary="XyZ"');
    expect(parts.map((p) => ({ ...p, data: Buffer.from(p.data).toString("latin1") }))).toEqual([
      { name: "caption", data: "a cat" },
      {
        name: "file",
        filename: "cat.png",
        contentType: "image/png",
        data: Buffer.from(PNG).toString("latin1"),
      },
    ]);
  });
  it("accepts bare LF line breaks", () => {
    const lf = utf8('--b\nContent-Disposition: form-data; name="t"\n\nhi\n--b--\n');
    expect(parseMultipart(lf, "multipart/form-data; boundary=b").map((p) => p.name)).toEqual(["t"]);
  });
  it("fails clearly on a missing, absent, unterminated or broken boundary and broken headers", () => {
    expect(parseErrorOf(() => parseMultipart(bytes, "multipart/form-data"))).toContain("has no boundary");
    expect(parseErrorOf(() => parseMultipart(bytes, "multipart/form-data; boundary=Nope"))).toContain(
      "not found in the body",
    );
    expect(
      parseErrorOf(() =>
        parseMultipart(bytes.subarray(0, bytes.length - 12), "multipart/form-data; boundary=XyZ"),
      ),
    ).toContain("not terminated by a boundary");
    const junk = utf8('--b junk\r\nContent-Disposition: form-data; name="t"\r\n\r\nx\r\n--b--');
    expect(parseErrorOf(() => parseMultipart(junk, "multipart/form-data; boundary=b"))).toContain(
      "broken boundary",
    );
    const header = utf8("--b\r\nthis is not a header\r\n\r\nx\r\n--b--");
    expect(parseErrorOf(() => parseMultipart(header, "multipart/form-data; boundary=b"))).toContain(
      "broken header",
    );
    const noName = utf8("--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--");
    expect(parseErrorOf(() => parseMultipart(noName, "multipart/form-data; boundary=b"))).toContain(
      "no Content-Disposition",
    );
  });
});
