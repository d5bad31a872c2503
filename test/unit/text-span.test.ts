/** src/core/text-span.ts: offsets in code points, as Python and Label Studio count them. */
import { describe, expect, it } from "vitest";
import { CodePointText, codePoints } from "../../src/core/text-span.js";

describe("code-point offsets", () => {
  it("count an emoji, or a flag of two regional indicators, the way Python does", () => {
    expect(new CodePointText("😀 Alice").length).toBe(7); // len("😀 Alice") in Python
    expect("😀 Alice".length).toBe(8);
    expect(new CodePointText("🇫🇷 Paris").length).toBe(8);
    expect(new CodePointText("😀 Alice met Bob").slice(2, 7)).toBe("Alice");
    expect(new CodePointText("a😀b").slice(1, 2)).toBe("😀");
    expect(new CodePointText("a😀b").slice(1, 99)).toBe("😀b");
  });

  it("turn a UTF-16 index into a code-point offset", () => {
    const text = "😀😀 Bob";
    expect(new CodePointText(text).offsetOf(text.indexOf("Bob"))).toBe(3);
    expect(new CodePointText(text).offsetOf(text.length)).toBe(6);
    expect(new CodePointText("plain Bob").offsetOf(6)).toBe(6);
  });

  it("are plain string offsets for text without astral characters", () => {
    expect(new CodePointText("Wolfgang").length).toBe(8);
    expect(new CodePointText("Wolfgang met Alice").slice(13, 18)).toBe("Alice");
  });

  it("index a long text once for all its spans (2,000 spans of 300k characters in one pass)", () => {
    const text = `😀${"word ".repeat(60_000)}`;
    const spans = Array.from({ length: 2000 }, (_, i) => [1 + i * 5, 5 + i * 5] as const);
    const read = spans.map(([s, e]) => codePoints(text).slice(s, e));
    expect(read.every((w) => w === "word")).toBe(true);
    expect(codePoints(text)).toBe(codePoints(text));
  });
});
