/**
 * src/core/monitoring/quality-aggregate.ts: one labeled prediction counted per kind, a kind
 * mismatch counted apart, merges over any split equal to one pass, and the headline metrics'
 * names (what Prometheus exports as modeltap_monitor_quality{metric}).
 */
import { describe, expect, it } from "vitest";
import type { Prediction } from "../../src/core/canonical.js";
import {
  addLabeled,
  emptyQuality,
  headlineMetrics,
  LOWER_IS_BETTER,
  mergeQualities,
  mergeQuality,
  type QualityAggregate,
} from "../../src/core/monitoring/quality-aggregate.js";
import { int, mulberry32 } from "../support/random.js";

const cls = (label: string): Prediction => ({ kind: "classification", label, score: 0.9 });
const reg = (value: number): Prediction => ({ kind: "regression", value });
const det = (...boxes: Array<[string, number, number]>): Prediction => ({
  kind: "detection",
  boxes: boxes.map(([label, x, score]) => ({ label, score, xyxy: [x, 0, x + 10, 10] })),
});
const seg = (...items: Array<[string, number]>): Prediction => ({
  kind: "segmentation",
  instances: items.map(([label, x]) => ({ label, score: 0.9, xyxy: [x, 0, x + 10, 10] })),
});
const ents = (...spans: Array<[number, number, string]>): Prediction => ({
  kind: "entities",
  entities: spans.map(([start, end, label]) => ({ start, end, label, score: null, text: "x" })),
});
const gen: Prediction = {
  kind: "generation",
  message: { role: "assistant", content: "hi" },
  finish_reason: "stop",
  usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  streamed: false,
  ttft_ms: null,
  total_ms: null,
};

function fold(pairs: ReadonlyArray<[Prediction | null, Prediction]>): QualityAggregate {
  const q = emptyQuality();
  for (const [p, l] of pairs) addLabeled(q, p, l);
  return q;
}

describe("addLabeled", () => {
  it("classification: accuracy and macro F1 (scikit-learn's)", () => {
    const q = fold([
      [cls("a"), cls("a")],
      [cls("a"), cls("b")],
      [cls("b"), cls("b")],
      [cls("a"), cls("a")],
    ]);
    expect(q).toMatchObject({ labeled: 4, mismatched: 0 });
    const m = headlineMetrics(q);
    expect(m.accuracy).toBe(0.75);
    // a: P 2/3, R 1, F1 0.8; b: P 1, R 1/2, F1 2/3
    expect(m.macro_f1).toBeCloseTo((0.8 + 2 / 3) / 2, 12);
    expect(Object.keys(m).sort()).toEqual(["accuracy", "macro_f1"]);
  });

  it("regression: MSE and MAE", () => {
    const m = headlineMetrics(
      fold([
        [reg(1), reg(2)],
        [reg(5), reg(2)],
        [reg(0), reg(0)],
      ]),
    );
    expect(m).toEqual({ mse: 10 / 3, mae: 4 / 3 });
    expect([...LOWER_IS_BETTER].sort()).toEqual(["mae", "mse"]);
  });

  it("detection: mAP@0.5", () => {
    // One true positive per class; class b also has a missed box: AP(a) 1, AP(b) at recall ≤ 1/2
    const q = fold([[det(["a", 0, 0.9], ["b", 50, 0.8]), det(["a", 0, 1], ["b", 50, 1], ["b", 100, 1])]]);
    const m = headlineMetrics(q);
    expect(Object.keys(m)).toEqual(["map50"]);
    expect(m.map50).toBeCloseTo((1 + 51 / 101) / 2, 12);
    expect(headlineMetrics(fold([[det(["a", 0, 0.9]), det(["a", 0, 1])]])).map50).toBeCloseTo(1, 12);
    expect(headlineMetrics(fold([[det(["a", 0, 0.9]), det(["a", 30, 1])]])).map50).toBe(0);
  });

  it("segmentation: mean mask IoU (box IoU for polygon-only instances)", () => {
    const q = fold([[seg(["a", 0], ["a", 100]), seg(["a", 0], ["a", 102])]]);
    const m = headlineMetrics(q);
    expect(Object.keys(m)).toEqual(["mean_mask_iou"]);
    // IoU 1 and IoU of two 10×10 boxes 2 apart: 80 / 120
    expect(m.mean_mask_iou).toBeCloseTo((1 + 2 / 3) / 2, 12);
    expect(q.segmentation!.box_pairs).toBe(2);
  });

  it("entities: strict micro entity F1 (seqeval's)", () => {
    const q = fold([
      [ents([0, 3, "PER"], [5, 9, "LOC"]), ents([0, 3, "PER"], [5, 9, "ORG"])],
      [ents([0, 4, "PER"]), ents([0, 3, "PER"])],
    ]);
    const m = headlineMetrics(q);
    expect(Object.keys(m)).toEqual(["entity_f1"]);
    // tp 1, fp 2, fn 2: P 1/3, R 1/3
    expect(m.entity_f1).toBeCloseTo(1 / 3, 12);
  });

  it("counts a missing prediction or a kind mismatch as mismatched, and nothing else", () => {
    const q = fold([
      [null, cls("a")],
      [reg(1), cls("a")],
      [det(["a", 0, 1]), seg(["a", 0])],
      [gen, gen],
      [cls("a"), cls("a")],
    ]);
    expect(q).toMatchObject({ labeled: 5, mismatched: 4 });
    expect(q.regression).toBeUndefined();
    expect(q.detection).toBeUndefined();
    expect(q.segmentation).toBeUndefined();
    expect(headlineMetrics(q)).toEqual({ accuracy: 1, macro_f1: 1 });
  });

  it("has no metrics without labels", () => {
    expect(headlineMetrics(emptyQuality())).toEqual({});
    expect(headlineMetrics(fold([[null, cls("a")]]))).toEqual({});
  });
});

/** Labeled pairs of every kind, seeded. */
function pairs(n: number, seed: number): Array<[Prediction | null, Prediction]> {
  const rnd = mulberry32(seed);
  const labels = ["cat", "dog", "bird"];
  const pick = () => labels[int(rnd, 0, 2)]!;
  const out: Array<[Prediction | null, Prediction]> = [];
  for (let i = 0; i < n; i++) {
    switch (int(rnd, 0, 5)) {
      case 0:
        out.push([cls(pick()), cls(pick())]);
        break;
      case 1:
        out.push([reg(rnd() * 10), reg(rnd() * 10)]);
        break;
      case 2:
        out.push([
          det([pick(), int(rnd, 0, 4) * 3, rnd()], [pick(), 40, rnd()]),
          det([pick(), 0, 1], [pick(), 40, 1]),
        ]);
        break;
      case 3:
        out.push([seg([pick(), int(rnd, 0, 3)]), seg([pick(), 0])]);
        break;
      case 4:
        out.push([ents([0, int(rnd, 1, 3), pick()]), ents([0, 2, pick()], [4, 6, pick()])]);
        break;
      default:
        out.push([rnd() < 0.5 ? null : reg(1), cls(pick())]);
    }
  }
  return out;
}

describe("mergeQuality", () => {
  const all = pairs(600, 42);
  const whole = fold(all);

  it("the test data holds every kind", () => {
    expect(Object.keys(headlineMetrics(whole)).sort(), JSON.stringify(headlineMetrics(whole))).toEqual([
      "accuracy",
      "entity_f1",
      "macro_f1",
      "mae",
      "map50",
      "mean_mask_iou",
      "mse",
    ]);
    expect(whole.mismatched).toBeGreaterThan(50);
  });

  it.each([1, 2, 3, 4])("over split %i, in any order, equals one pass", (seed) => {
    const rnd = mulberry32(seed);
    const parts: Array<Array<[Prediction | null, Prediction]>> = Array.from(
      { length: int(rnd, 2, 9) },
      () => [],
    );
    for (const p of all) parts[int(rnd, 0, parts.length - 1)]!.push(p);
    const aggregates = parts.map(fold);
    const forward = aggregates.reduce(mergeQuality, emptyQuality());
    const backward = [...aggregates].reverse().reduce((acc, q) => mergeQuality(q, acc), emptyQuality());
    // All at once, as the monitor merges a window's minute rows.
    const atOnce = mergeQualities(aggregates);
    for (const merged of [forward, backward, atOnce]) {
      expect(merged).toEqual(whole);
      expect(headlineMetrics(merged)).toEqual(headlineMetrics(whole));
    }
  });

  it("through JSON, as stored", () => {
    const half = all.length / 2;
    const a = JSON.parse(JSON.stringify(fold(all.slice(0, half)))) as QualityAggregate;
    const b = JSON.parse(JSON.stringify(fold(all.slice(half)))) as QualityAggregate;
    expect(headlineMetrics(mergeQuality(a, b))).toEqual(headlineMetrics(whole));
  });

  it("leaves its inputs as they were", () => {
    const a = fold(all.slice(0, 100));
    const b = fold(all.slice(100, 200));
    const c = fold(all.slice(200, 300));
    const [ja, jb, jc] = [JSON.stringify(a), JSON.stringify(b), JSON.stringify(c)];
    mergeQuality(a, b);
    // And merging many never sums into the first part's bins or matrix.
    const merged = mergeQualities([a, b, c]);
    mergeQualities([merged, a]);
    expect([JSON.stringify(a), JSON.stringify(b), JSON.stringify(c)]).toEqual([ja, jb, jc]);
  });

  it("of none is empty, of one is that one", () => {
    expect(mergeQualities([])).toEqual(emptyQuality());
    const one = fold(all.slice(0, 50));
    expect(mergeQualities([one])).toEqual(one);
  });

  it("keeps a kind only one side has", () => {
    const merged = mergeQuality(fold([[reg(1), reg(3)]]), fold([[cls("a"), cls("b")]]));
    expect(merged).toMatchObject({ labeled: 2, mismatched: 0 });
    expect(headlineMetrics(merged)).toEqual({ mse: 4, mae: 2, accuracy: 0, macro_f1: 0 });
  });
});
