/** Helpers for span (NER) converters: entities are code-point offsets into the original text. */
import type { Entity } from "../../../core/canonical.js";
import type { ConvertContext } from "../../../core/plugins.js";
import { codePoints } from "../../../core/text-span.js";
import { fail } from "../shared.js";

export function entity(
  start: number,
  end: number,
  label: string,
  score: number | null,
  ctx: ConvertContext,
  word?: string,
): Entity {
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end < start) {
    fail(`entity ${label}: bad offsets [${start}, ${end})`);
  }
  const cp = ctx.text === undefined ? undefined : codePoints(ctx.text);
  if (cp && end > cp.length) {
    fail(`entity ${label}: offsets [${start}, ${end}) past the end of the ${cp.length}-character text`);
  }
  const text = cp ? cp.slice(start, end) : (word ?? "");
  return { start, end, label, score: score === null ? null : Math.round(score * 1e6) / 1e6, text };
}

/** Strip a BIO/IOB2 prefix: "B-PER" → ["B", "PER"], "O" → ["O", ""]. */
export function bioTag(tag: string): [string, string] {
  const m = /^([BIESLU])[-_](.+)$/.exec(tag);
  if (m) return [m[1]!, m[2]!];
  return tag === "O" ? ["O", ""] : ["B", tag];
}

/** Locate tokens in the text in order, for taggers that return words without offsets. */
export function tokenOffsets(tokens: readonly string[], text: string): Array<[number, number]> {
  const cp = codePoints(text);
  const out: Array<[number, number]> = [];
  let from = 0;
  for (const t of tokens) {
    const clean = t.replace(/^##/, "").replace(/^Ġ|^▁/, "");
    const at = text.indexOf(clean, from);
    // The token is the user's text: say which one, not what it says.
    if (at < 0)
      fail(`token ${out.length} (${t.length} characters) not found in the text after offset ${from}`);
    out.push([cp.offsetOf(at), cp.offsetOf(at + clean.length)]);
    from = at + clean.length;
  }
  return out;
}
