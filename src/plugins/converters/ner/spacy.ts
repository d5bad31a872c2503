/** spaCy entities: Doc.to_json() ({text, ents: [{start, end, label}]}) or [{start_char, end_char, label_}]. */
import type { Converter } from "../../../core/plugins.js";
import { asArray, asNumber, fail, isRecord, labelOf } from "../shared.js";
import { entity } from "./spans.js";

export const spacyEnts: Converter = {
  name: "spacy",
  description:
    "spaCy Doc.to_json() {text, ents:[{start, end, label}]} or [{start_char, end_char, label_}] → entities",
  tasks: ["ner"],
  convert(raw, ctx) {
    const doc = isRecord(raw) ? raw : undefined;
    const text = typeof doc?.text === "string" ? doc.text : ctx.text;
    const c = { ...ctx, text };
    const ents = asArray(doc ? doc.ents : raw, "spacy ents");
    return {
      kind: "entities",
      entities: ents.map((e, i) => {
        if (!isRecord(e)) fail(`spacy: entity ${i} is not an object`);
        const start = asNumber(e.start_char ?? e.start, `entity ${i} start`);
        const end = asNumber(e.end_char ?? e.end, `entity ${i} end`);
        const score = e.score === undefined ? null : asNumber(e.score, `entity ${i} score`);
        return entity(
          start,
          end,
          labelOf(e.label_ ?? e.label, c),
          score,
          c,
          typeof e.text === "string" ? e.text : undefined,
        );
      }),
    };
  },
};
