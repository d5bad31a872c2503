/**
 * Hugging Face token-classification output: with aggregation ({entity_group, start, end, score,
 * word}) each item is an entity; without it ({entity: "B-PER", ...} per token) consecutive tokens
 * of one entity are merged, their score averaged.
 */
import type { Entity } from "../../../core/canonical.js";
import type { ConvertContext, Converter } from "../../../core/plugins.js";
import { asArray, asNumber, fail, isRecord, labelOf } from "../shared.js";
import { bioTag, entity } from "./spans.js";

interface Token {
  tag: string;
  start: number;
  end: number;
  score: number;
  word: string;
}

function merge(tokens: Token[], ctx: ConvertContext): Entity[] {
  const out: Entity[] = [];
  let cur: { label: string; start: number; end: number; scores: number[]; words: string[] } | undefined;
  const flush = () => {
    if (cur)
      out.push(
        entity(
          cur.start,
          cur.end,
          cur.label,
          cur.scores.reduce((a, b) => a + b, 0) / cur.scores.length,
          ctx,
          cur.words.join(" "),
        ),
      );
    cur = undefined;
  };
  for (const t of tokens) {
    const [prefix, type] = bioTag(t.tag);
    if (prefix === "O") {
      flush();
      continue;
    }
    const label = labelOf(type, ctx);
    const continues =
      cur && cur.label === label && (prefix === "I" || t.word.startsWith("##")) && t.start <= cur.end + 1;
    if (!continues) {
      flush();
      cur = { label, start: t.start, end: t.end, scores: [], words: [] };
    }
    cur!.end = t.end;
    cur!.scores.push(t.score);
    cur!.words.push(t.word);
  }
  flush();
  return out;
}

export const hfNer: Converter = {
  name: "hf_ner",
  description:
    "Hugging Face token-classification [{entity_group|entity, start, end, score, word}] → entities",
  tasks: ["ner"],
  convert(raw, ctx) {
    const items = asArray(
      Array.isArray(raw) && raw.length === 1 && Array.isArray(raw[0]) ? raw[0] : raw,
      "hf_ner",
    );
    const grouped: Entity[] = [];
    const tokens: Token[] = [];
    for (const [i, item] of items.entries()) {
      if (!isRecord(item)) fail(`hf_ner: item ${i} is not an object`);
      const start = asNumber(item.start, `item ${i} start`);
      const end = asNumber(item.end, `item ${i} end`);
      const score = asNumber(item.score ?? 1, `item ${i} score`);
      const word = typeof item.word === "string" ? item.word : "";
      if (item.entity_group !== undefined)
        grouped.push(entity(start, end, labelOf(item.entity_group, ctx), score, ctx, word));
      else if (item.entity !== undefined) tokens.push({ tag: String(item.entity), start, end, score, word });
      else fail(`hf_ner: item ${i} has neither entity_group nor entity`);
    }
    return {
      kind: "entities",
      entities: [...grouped, ...merge(tokens, ctx)].sort((a, b) => a.start - b.start),
    };
  },
};
