/** src/plugins/parsers/formats/base64-image.ts: images sent as base64 inside JSON ({b64}, data URLs, bare strings). */
import { describe, expect, it } from "vitest";
import { decodeImageValue, findImage } from "../../src/plugins/parsers/formats/base64-image.js";
import { b64, jpeg8x8, png, utf8 } from "../support/bytes.js";

const PNG = png(3, 2);
const JPEG = jpeg8x8();

describe("base64 images", () => {
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
