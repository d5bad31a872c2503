/**
 * Classification outputs in the shapes servers actually return: a label, a class index, a list of
 * probabilities, a label→score map (TorchServe), a list of {label, score} (Hugging Face), or an
 * object holding any of these (KServe V1/V2 outputs, MLServer's predict/predict_proba).
 */
import type { ClassScore, Prediction } from "../../core/canonical.js";
import type { ConvertContext, Converter } from "../../core/plugins.js";
import { asNumber, describe, fail, isRecord, labelOf } from "./shared.js";

const LABEL_KEYS = [
  "label",
  "predicted_label",
  "class",
  "class_name",
  "prediction",
  "predict",
  "output_label",
];
const SCORE_KEYS = ["score", "confidence", "probability"];
const PROBS_KEYS = ["probabilities", "probs", "predict_proba", "scores", "class_probabilities"];

function fromClasses(classes: ClassScore[], ctx: ConvertContext): Prediction {
  if (classes.length === 0) fail("classification: no classes in the output");
  const sorted = [...classes].sort((a, b) => b.score - a.score);
  return {
    kind: "classification",
    label: sorted[0]!.label,
    score: sorted[0]!.score,
    classes: sorted.slice(0, ctx.topK),
  };
}

function probabilities(v: unknown, ctx: ConvertContext): ClassScore[] | undefined {
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "number")) {
    return v.map((score, i) => ({ label: labelOf(i, ctx), score: score as number }));
  }
  if (Array.isArray(v) && v.length === 1 && Array.isArray(v[0])) return probabilities(v[0], ctx);
  if (Array.isArray(v) && v.length > 0 && v.every((x) => isRecord(x) && "label" in x && "score" in x)) {
    return v.map((x) => ({
      label: labelOf((x as Record<string, unknown>).label, ctx),
      score: asNumber((x as Record<string, unknown>).score, "score"),
    }));
  }
  if (isRecord(v) && Object.keys(v).length > 0 && Object.values(v).every((x) => typeof x === "number")) {
    return Object.entries(v).map(([label, score]) => ({
      label: labelOf(label, ctx),
      score: score as number,
    }));
  }
  return undefined;
}

function scalar(v: unknown): unknown {
  return Array.isArray(v) && v.length === 1 ? scalar(v[0]) : v;
}

function classify(raw: unknown, ctx: ConvertContext, depth: number): Prediction {
  if (depth > 4) fail(`classification: cannot find a label in ${describe(raw)}`);
  const probs = probabilities(raw, ctx);
  if (probs) return fromClasses(probs, ctx);
  const v = scalar(raw);
  if (typeof v === "string" || typeof v === "number")
    return { kind: "classification", label: labelOf(v, ctx), score: null };
  if (!isRecord(v)) fail(`classification: cannot read a label from ${describe(raw)}`);
  const probKey = PROBS_KEYS.find((k) => k in v);
  const classes = probKey ? probabilities(v[probKey], ctx) : undefined;
  const labelKey = LABEL_KEYS.find((k) => k in v);
  if (labelKey) {
    const label = labelOf(scalar(v[labelKey]), ctx);
    const scoreKey = SCORE_KEYS.find((k) => k in v);
    const score = scoreKey
      ? asNumber(scalar(v[scoreKey]), scoreKey)
      : (classes?.find((c) => c.label === label)?.score ?? null);
    const sorted = classes?.sort((a, b) => b.score - a.score).slice(0, ctx.topK);
    return { kind: "classification", label, score, ...(sorted ? { classes: sorted } : {}) };
  }
  if (classes) return fromClasses(classes, ctx);
  const keys = Object.keys(v);
  if (keys.length === 1) return classify(v[keys[0]!], ctx, depth + 1);
  fail(`classification: none of the keys ${keys.join(", ")} holds a label or probabilities`);
}

export const classification: Converter = {
  name: "classification",
  description:
    "Label, class index, probabilities, label→score map or [{label, score}] → top-1 plus top-k classes",
  tasks: ["tabular_classification", "image_classification", "text_classification"],
  convert: (raw, ctx) => classify(raw, ctx, 0),
};
