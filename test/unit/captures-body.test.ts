/** src/cli/commands/captures-body.ts: which stored bytes the words name, and what counts as binary for a terminal. */
import { describe, expect, it } from "vitest";
import { looksBinary, parsePart } from "../../src/cli/commands/captures-body.js";
import { ConfigError } from "../../src/core/errors.js";
import { png, utf8 } from "../support/bytes.js";
import { thrown } from "../support/errors.js";

describe("parsePart", () => {
  it.each([
    [["request"], { kind: "request" }],
    [["response"], { kind: "response" }],
    [["image", "0"], { kind: "image", instance: 0 }],
    [["mask", "2", "13"], { kind: "mask", instance: 2, k: 13 }],
  ])("%j → %j", (words, part) => {
    expect(parsePart(words)).toEqual(part);
  });

  it.each([
    [[], /expected request, response, image or mask after the id, got ""/],
    [["body"], /got "body"/],
    [["request", "0"], /request takes nothing more/],
    [["image"], /image takes an instance \(/],
    [["mask", "0"], /mask takes an instance and a segment/],
    [["image", "-1"], /the instance must be a whole number, got "-1"/],
    [["mask", "0", "1.5"], /the segment must be a whole number/],
  ])("refuses %j", (words, why) => {
    expect(thrown(ConfigError, () => parsePart(words)).message).toMatch(why);
  });
});

describe("looksBinary", () => {
  it("is false for UTF-8 text (JSON, CSV, accents), true for images, NULs and invalid UTF-8", () => {
    expect(looksBinary(utf8('{"inputs": "héllo 🚀"}\n'))).toBe(false);
    expect(looksBinary(utf8("a,b\n1,2\n"))).toBe(false);
    expect(looksBinary(png(2, 2))).toBe(true);
    expect(looksBinary(utf8("a\u0000b"))).toBe(true);
    expect(looksBinary(new Uint8Array([0x7b, 0xff, 0x7d]))).toBe(true);
  });

  it("is true for text carrying terminal escape sequences (captured traffic is untrusted)", () => {
    expect(looksBinary(utf8("ok\u001b]0;owned\u0007"))).toBe(true);
    expect(looksBinary(utf8("\u001b[2J"))).toBe(true);
    expect(looksBinary(utf8("tabs\tand\r\nlines"))).toBe(false);
  });
});
