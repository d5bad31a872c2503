/** src/plugins/parsers/formats/raw-image.ts: image bytes recognised by content, image content types. */
import { describe, expect, it } from "vitest";
import { imageFormat, isImageContentType } from "../../src/plugins/parsers/formats/raw-image.js";
import { jpeg8x8, png, utf8 } from "../support/bytes.js";

const PNG = png(3, 2);
const JPEG = jpeg8x8();

describe("raw images", () => {
  it("recognises image bytes by content", () => {
    expect(imageFormat(PNG)).toBe("png");
    expect(imageFormat(JPEG)).toBe("jpeg");
    expect(imageFormat(utf8("just some plain text, not an image at all"))).toBeUndefined();
    expect(imageFormat(PNG.subarray(0, 4))).toBeUndefined();
    expect(isImageContentType("Image/PNG; q=1")).toBe(true);
    expect(isImageContentType("application/json")).toBe(false);
  });
});
