/**
 * BIO / IOB2 tag sequences: {tokens, tags, offsets?, scores?} or [{text|token, tag, start?, end?}].
 * Without offsets, tokens are located in the request text in order.
 */
import type { Entity } from "../../../core/canonical.js";
import type { ConvertContext, Converter } from "../../../core/plugins.js";
import { asArray, asNumber, fail, isRecord, labelOf } from "../shared.js";
import { bioTag, entity, tokenOffsets } from "./spans.js";

interface Tok {
  word: string;
  tag: string;
  span: [number, number] | undefined;
  score: number | null;
}

function read(raw: unknown): Tok[] {
  if (isRecord(raw)) {
    const tokens = asArray(raw.tokens, "bio tokens").map(String);
    const tags = asArray(raw.tags ?? raw.labels, "bio tags").map(String);
    if (tokens.length !== tags.length) fail(`bio: ${tokens.length} tokens but ${tags.length} tags`);
    const offsets = raw.offsets === undefined ? undefined : asArray(raw.offsets, "bio offsets");
    const scores = raw.scores === undefined ? undefined : asArray(raw.scores, "bio scores");
    return tokens.map((word, i) => {
      const o = offsets?.[i];
      const span: [number, number] | undefined = Array.isArray(o)
        ? [asNumber(o[0], "offset"), asNumber(o[1], "offset")]
        : undefined;
      return { word, tag: tags[i]!, span, score: scores ? asNumber(scores[i], "score") : null };
    });
  }
  return asArray(raw, "bio").map((t, i) => {
    if (!isRecord(t)) fail(`bio: token ${i} is not an object`);
    const span: [number, number] | undefined =
      t.start !== undefined && t.end !== undefined
        ? [asNumber(t.start, "start"), asNumber(t.end, "end")]
        : undefined;
    return {
      word: String(t.text ?? t.token ?? ""),
      tag: String(t.tag ?? t.label ?? "O"),
      span,
      score: t.score === undefined ? null : asNumber(t.score, "score"),
    };
  });
}

function decode(toks: Tok[], ctx: ConvertContext): Entity[] {
  if (toks.some((t) => !t.span)) {
    if (ctx.text === undefined) fail("bio: tokens have no offsets and the request text is unknown");
    const spans = tokenOffsets(
      toks.map((t) => t.word),
      ctx.text,
    );
    toks.forEach((t, i) => (t.span ??= spans[i]));
  }
  const out: Entity[] = [];
  let cur: { label: string; start: number; end: number; scores: number[]; words: string[] } | undefined;
  const flush = () => {
    if (!cur) return;
    const score = cur.scores.length ? cur.scores.reduce((a, b) => a + b, 0) / cur.scores.length : null;
    out.push(entity(cur.start, cur.end, cur.label, score, ctx, cur.words.join(" ")));
    cur = undefined;
  };
  for (const t of toks) {
    const [prefix, type] = bioTag(t.tag);
    if (prefix === "O") {
      flush();
      continue;
    }
    const label = labelOf(type, ctx);
    // IOB2: I- continues an entity of the same type; a stray I- starts one (lenient, as seqeval does).
    if (!(prefix === "I" && cur?.label === label)) {
      flush();
      cur = { label, start: t.span![0], end: t.span![1], scores: [], words: [] };
    }
    cur!.end = t.span![1];
    if (t.score !== null) cur!.scores.push(t.score);
    cur!.words.push(t.word);
  }
  flush();
  return out;
}

export const bioTags: Converter = {
  name: "bio",
  description: "BIO/IOB2 tags over tokens, with token offsets or located in the text → entities",
  tasks: ["ner"],
  convert: (raw, ctx) => ({ kind: "entities", entities: decode(read(raw), ctx) }),
};
