/**
 * Text offsets in the canonical schema count Unicode code points, as Python (so Hugging Face,
 * spaCy) and Label Studio count them, not JavaScript's UTF-16 code units: "😀 Alice" has Alice at
 * [2, 7), where String.slice would need [3, 8). Texts without astral characters take the fast path.
 */
const ASTRAL = /[\uD800-\uDFFF]/;

/** The text's length in code points. */
export function codePointLength(text: string): number {
  return ASTRAL.test(text) ? Array.from(text).length : text.length;
}

/** The code points [start, end) of the text. */
export function sliceCodePoints(text: string, start: number, end: number): string {
  return ASTRAL.test(text) ? Array.from(text).slice(start, end).join("") : text.slice(start, end);
}

/** A UTF-16 index of the text (from indexOf, say) as a code-point offset. */
export function codePointOffset(text: string, utf16Index: number): number {
  const before = text.slice(0, utf16Index);
  return ASTRAL.test(before) ? Array.from(before).length : utf16Index;
}
