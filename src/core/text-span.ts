/**
 * Text offsets in the canonical schema count Unicode code points, as Python (so Hugging Face,
 * spaCy) and Label Studio count them, not JavaScript's UTF-16 code units: "😀 Alice" has Alice at
 * [2, 7), where String.slice would need [3, 8).
 *
 * A text is indexed once (the UTF-16 position of every code point) and the index reused for all
 * of its spans, so thousands of entities over a long text cost one pass, not one pass each. A text
 * without astral characters needs no index at all.
 */
const ASTRAL = /[\uD800-\uDFFF]/;

export class CodePointText {
  /** UTF-16 position of each code point, and of the end; undefined when they are the same. */
  private readonly at: Uint32Array | undefined;
  /** The text's length in code points. */
  readonly length: number;

  constructor(readonly text: string) {
    if (!ASTRAL.test(text)) {
      this.at = undefined;
      this.length = text.length;
      return;
    }
    const at = new Uint32Array(text.length + 1);
    let n = 0;
    for (let i = 0; i < text.length; i++) {
      at[n++] = i;
      const c = text.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
        const d = text.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) i++;
      }
    }
    at[n] = text.length;
    this.at = at.subarray(0, n + 1);
    this.length = n;
  }

  /** The code points [start, end). */
  slice(start: number, end: number): string {
    if (!this.at) return this.text.slice(start, end);
    const clamp = (k: number) => this.at![Math.max(0, Math.min(k, this.length))]!;
    return this.text.slice(clamp(start), clamp(end));
  }

  /** A UTF-16 index (from indexOf, say) as a code-point offset. */
  offsetOf(utf16Index: number): number {
    if (!this.at) return utf16Index;
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.at[mid]! < utf16Index) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

let last: CodePointText | undefined;

/** The text's index, reusing the last one built: a converter reads many spans of one text. */
export function codePoints(text: string): CodePointText {
  if (last?.text !== text) last = new CodePointText(text);
  return last;
}
