/** The body-format helpers the protocol parsers share: JSON, images, multipart, CSV, V2 binary. */
import { encode } from "fast-png";
import { describe, expect, it } from "vitest";
import { ParseError } from "../../src/core/plugins.js";
import { decodeImageValue, findImage } from "../../src/plugins/parsers/formats/base64-image.js";
import { parseCsv } from "../../src/plugins/parsers/formats/csv.js";
import { parseJson } from "../../src/plugins/parsers/formats/json.js";
import { parseMultipart } from "../../src/plugins/parsers/formats/multipart.js";
import { imageFormat, isImageContentType } from "../../src/plugins/parsers/formats/raw-image.js";
import { decodeV2Binary, fp16ToNumber } from "../../src/plugins/parsers/formats/v2-binary.js";

const PNG = encode({ width: 3, height: 2, data: new Uint8Array(3 * 2 * 3).fill(200), channels: 3 });
/** An 8×8 grey baseline JPEG. */
const JPEG = Buffer.from(
  "/9j/2wBDAAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQH/wAALCAAIAAgBAREA/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/9oACAEBAAA/ACv/2Q==",
  "base64",
);
const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");
const utf8 = (s: string) => new TextEncoder().encode(s);

function parseErrorOf(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ParseError);
    return (err as Error).message;
  }
  throw new Error("expected a ParseError");
}

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

describe("images", () => {
  it("recognises image bytes by content", () => {
    expect(imageFormat(PNG)).toBe("png");
    expect(imageFormat(JPEG)).toBe("jpeg");
    expect(imageFormat(utf8("just some plain text, not an image at all"))).toBeUndefined();
    expect(imageFormat(PNG.subarray(0, 4))).toBeUndefined();
    expect(isImageContentType("Image/PNG; q=1")).toBe(true);
    expect(isImageContentType("application/json")).toBe(false);
  });
  it("decodes {b64} objects, data URLs and long bare base64 strings that are images", () => {
    expect(decodeImageValue({ b64: b64(PNG) })).toEqual(new Uint8Array(PNG));
    expect(decodeImageValue(`data:image/jpeg;base64,${b64(JPEG)}`)).toEqual(new Uint8Array(JPEG));
    expect(decodeImageValue(b64(JPEG))).toEqual(new Uint8Array(JPEG));
    // URL-safe alphabet, as some clients send it.
    expect(decodeImageValue(b64(JPEG).replace(/\+/g, "-").replace(/\//g, "_"))).toEqual(new Uint8Array(JPEG));
  });
  it("does not take text or non-image base64 for an image", () => {
    expect(decodeImageValue(b64(utf8("x".repeat(100))))).toBeUndefined();
    expect(decodeImageValue({ b64: b64(utf8("hello")) })).toBeUndefined();
    expect(
      decodeImageValue("a perfectly ordinary sentence that is longer than sixty-four characters"),
    ).toBeUndefined();
    expect(decodeImageValue("aGVsbG8=")).toBeUndefined();
    expect(decodeImageValue(42)).toBeUndefined();
  });
  it("finds an image nested inside JSON", () => {
    expect(findImage({ meta: { id: 1 }, payload: [{ image: { b64: b64(PNG) } }] })).toEqual(
      new Uint8Array(PNG),
    );
    expect(findImage({ a: [1, 2, "three"] })).toBeUndefined();
  });
});

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

/** A V2 binary body: JSON header then the tensors' raw bytes. */
function v2Body(header: unknown, ...tails: Uint8Array[]): { bytes: Uint8Array; length: string } {
  const head = utf8(JSON.stringify(header));
  return { bytes: Buffer.concat([head, ...tails]), length: String(head.byteLength) };
}
const le = (kind: "f32" | "i64" | "u16", values: number[]): Uint8Array => {
  const size = kind === "u16" ? 2 : kind === "f32" ? 4 : 8;
  const view = new DataView(new ArrayBuffer(values.length * size));
  values.forEach((v, i) => {
    if (kind === "f32") view.setFloat32(i * size, v, true);
    else if (kind === "i64") view.setBigInt64(i * size, BigInt(v), true);
    else view.setUint16(i * size, v, true);
  });
  return new Uint8Array(view.buffer);
};
function bytesTensor(...elements: Uint8Array[]): Uint8Array {
  return Buffer.concat(elements.flatMap((e) => [le("i64", [e.byteLength]).subarray(0, 4), e]));
}
const bin = (name: string, datatype: string, shape: number[], size: number) => ({
  name,
  datatype,
  shape,
  parameters: { binary_data_size: size },
});

describe("V2 binary tensor extension", () => {
  it("decodes numeric, BOOL, FP16 and BYTES tensors in order, leaving JSON tensors alone", () => {
    const bytesData = bytesTensor(utf8("héllo"), new Uint8Array([0xff, 0xfe]), PNG);
    const { bytes, length } = v2Body(
      {
        inputs: [
          bin("x", "FP32", [2], 8),
          { name: "j", datatype: "INT32", shape: [1], data: [7] },
          bin("n", "INT64", [2], 16),
          bin("b", "BOOL", [3], 3),
          bin("h", "FP16", [4], 8),
          bin("s", "BYTES", [3], bytesData.byteLength),
        ],
      },
      le("f32", [1.5, -0.25]),
      le("i64", [-3, 2 ** 40]),
      new Uint8Array([1, 0, 2]),
      le("u16", [0x3c00, 0xc000, 0x3555, 0x7c00]),
      bytesData,
    );
    const out = decodeV2Binary(bytes, length, "request");
    const inputs = out.inputs as Array<{ name: string; data: unknown[] }>;
    expect(inputs.map((t) => [t.name, t.data])).toEqual([
      ["x", [1.5, -0.25]],
      ["j", [7]],
      ["n", [-3, 2 ** 40]],
      ["b", [true, false, true]],
      ["h", [1, -2, 0.333251953125, Infinity]],
      ["s", ["héllo", new Uint8Array([0xff, 0xfe]), new Uint8Array(PNG)]],
    ]);
    expect(inputs[5]!.data[1]).toBeInstanceOf(Uint8Array);
  });
  it("decodes FP16 subnormals, the largest value and NaN", () => {
    expect(fp16ToNumber(0x0001)).toBe(2 ** -24);
    expect(fp16ToNumber(0x7bff)).toBe(65504);
    expect(fp16ToNumber(0x8000)).toBe(-0);
    expect(fp16ToNumber(0x7e00)).toBeNaN();
  });
  it("fails when the sizes lie", () => {
    const ok = v2Body({ outputs: [bin("y", "FP32", [2], 8)] }, le("f32", [1, 2]));
    expect(
      parseErrorOf(() => decodeV2Binary(ok.bytes, String(ok.bytes.byteLength + 1), "response")),
    ).toContain("is past the end of the");
    expect(parseErrorOf(() => decodeV2Binary(ok.bytes, "ten", "response"))).toContain("is not a size");
    const short = v2Body({ outputs: [bin("y", "FP32", [4], 16)] }, le("f32", [1, 2]));
    expect(parseErrorOf(() => decodeV2Binary(short.bytes, short.length, "response"))).toContain(
      'tensor "y": binary_data_size 16 runs past the end of the binary data (8 bytes left)',
    );
    const extra = v2Body({ outputs: [bin("y", "FP32", [1], 4)] }, le("f32", [1, 2]));
    expect(parseErrorOf(() => decodeV2Binary(extra.bytes, extra.length, "response"))).toContain(
      "4 bytes of binary data left over",
    );
    const lying = new Uint8Array([9, 0, 0, 0, 0x61, 0x62]);
    const prefix = v2Body({ inputs: [bin("s", "BYTES", [1], 6)] }, lying);
    expect(parseErrorOf(() => decodeV2Binary(prefix.bytes, prefix.length, "request"))).toContain(
      "length 9 runs past the end",
    );
    const cut = v2Body({ inputs: [bin("s", "BYTES", [1], 2)] }, new Uint8Array([1, 0]));
    expect(parseErrorOf(() => decodeV2Binary(cut.bytes, cut.length, "request"))).toContain(
      "length prefix cut off",
    );
    const odd = v2Body({ inputs: [bin("x", "FP32", [1], 3)] }, new Uint8Array(3));
    expect(parseErrorOf(() => decodeV2Binary(odd.bytes, odd.length, "request"))).toContain(
      "not a whole number of FP32 values",
    );
    const header = v2Body({ inputs: [] });
    expect(parseErrorOf(() => decodeV2Binary(header.bytes, "3", "request"))).toContain(
      "request header: invalid JSON",
    );
  });
});
