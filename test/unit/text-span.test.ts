/** src/core/text-span.ts: offsets in code points, as Python and Label Studio count them. */
import { describe, expect, it } from "vitest";
import { codePointLength, codePointOffset, sliceCodePoints } from "../../src/core/text-span.js";

describe("code-point offsets", () => {
  it("count an emoji, or a flag of two regional indicators, the way Python does", () => {
    expect(codePointLength("😀 Alice")).toBe(7); // len("😀 Alice") in Python
    expect("😀 Alice".length).toBe(8);
    expect(codePointLength("🇫🇷 Paris")).toBe(8);
    expect(sliceCodePoints("😀 Alice met Bob", 2, 7)).toBe("Alice");
    expect(sliceCodePoints("a😀b", 1, 2)).toBe("😀");
  });

  it("turn a UTF-16 index into a code-point offset", () => {
    const text = "😀😀 Bob";
    expect(codePointOffset(text, text.indexOf("Bob"))).toBe(3);
    expect(codePointOffset("plain Bob", 6)).toBe(6);
  });

  it("are plain string offsets for text without astral characters", () => {
    expect(codePointLength("Wolfgang")).toBe(8);
    expect(sliceCodePoints("Wolfgang met Alice", 13, 18)).toBe("Alice");
  });
});
