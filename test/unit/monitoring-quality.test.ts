/**
 * src/core/monitoring/quality*.ts: the quality aggregates against scikit-learn, pycocotools and
 * seqeval (test/fixtures/monitoring/quality.json, written by tools/oracle/quality_fixtures.py; no
 * Python at test time), then mergeability: any split of the data, merged in any order, equals the
 * one-pass aggregate.
 */
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import type { Prediction, Xyxy } from "../../src/core/canonical.js";
import { addToSum, mergeSums, sumValue, ZERO_SUM } from "../../src/core/monitoring/exact-sum.js";
import {
  addClassification,
  addDetection,
  addEntities,
  addMatchedIous,
  addRegression,
  addSegmentation,
  classificationMetrics,
  detectionMetrics,
  emptyClassification,
  emptyDetection,
  emptyEntities,
  emptyRegression,
  emptySegmentation,
  entityMetrics,
  MAX_CLASSES,
  mergeClassification,
  mergeDetection,
  mergeEntities,
  mergeRegression,
  mergeSegmentation,
  regressionMetrics,
  rleIou,
  segmentationMetrics,
} from "../../src/core/monitoring/quality.js";
import { int, mulberry32 } from "../support/random.js";

type Of<K extends Prediction["kind"]> = Extract<Prediction, { kind: K }>;
type Report = { precision: number; recall: number; "f1-score": number; support: number };
interface Fixtures {
  classification: {
    name: string;
    y_true: string[];
    y_pred: string[];
    accuracy: number;
    macro_f1: number;
    per_class: Record<string, Report>;
  }[];
  regression: {
    name: string;
    y_true: number[];
    y_pred: number[];
    mse: number;
    mae: number;
    rmse: number;
    mean_error: number;
  }[];
  detection: {
    name: string;
    images: { gt: { label: string; xyxy: Xyxy }[]; dt: { label: string; xyxy: Xyxy; score: number }[] }[];
    map50: number;
    per_class_ap: Record<string, number | null>;
  }[];
  segmentation: {
    name: string;
    images: { gt: Instance[]; dt: (Instance & { score: number })[] }[];
    ious: number[];
    mean_iou: number;
  }[];
  entities: {
    name: string;
    texts: { truth: [number, number, string][]; pred: [number, number, string][] }[];
    per_type: Record<string, Report>;
    micro: Report;
    macro: Report;
  }[];
}
type Instance = { label: string; rle: { size: [number, number]; counts: number[] } };

const FIXTURES = JSON.parse(
  fs.readFileSync(new URL("../fixtures/monitoring/quality.json", import.meta.url), "utf8"),
) as Fixtures;

/** Agreement to 1e-9, relative past 1 (an MSE of a few million keeps 1e-9 of its own scale). */
function close(actual: number | null | undefined, expected: number | null, what: string): void {
  if (expected === null) {
    expect(actual, what).toBeNull();
    return;
  }
  expect(typeof actual, what).toBe("number");
  const diff = Math.abs((actual as number) - expected);
  expect(diff, `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(
    1e-9 * Math.max(1, Math.abs(expected)),
  );
}

// Canonical predictions and labels from the fixtures.
const cls = (label: string): Of<"classification"> => ({ kind: "classification", label, score: null });
const reg = (value: number): Of<"regression"> => ({ kind: "regression", value });
const boxes = (list: { label: string; xyxy: Xyxy; score?: number }[]): Of<"detection"> => ({
  kind: "detection",
  boxes: list.map((b) => ({ label: b.label, score: b.score ?? null, xyxy: b.xyxy })),
});
const masks = (list: (Instance & { score?: number })[]): Of<"segmentation"> => ({
  kind: "segmentation",
  instances: list.map((m) => ({ label: m.label, score: m.score ?? null, xyxy: [0, 0, 1, 1], rle: m.rle })),
});
const ents = (spans: [number, number, string][]): Of<"entities"> => ({
  kind: "entities",
  entities: spans.map(([start, end, label]) => ({ start, end, label, score: null, text: "" })),
});

describe("quality against the reference libraries", () => {
  it.each(FIXTURES.classification.map((c) => [c.name, c] as const))("%s: scikit-learn", (_, c) => {
    const q = emptyClassification();
    c.y_true.forEach((t, i) => addClassification(q, cls(c.y_pred[i] as string), cls(t)));
    const m = classificationMetrics(q);
    close(m.accuracy, c.accuracy, "accuracy");
    close(m.macro_f1, c.macro_f1, "macro F1");
    expect(Object.keys(m.per_class).sort()).toEqual(Object.keys(c.per_class).sort());
    for (const [name, r] of Object.entries(c.per_class)) {
      const got = Object.getOwnPropertyDescriptor(m.per_class, name)?.value;
      close(got?.precision, r.precision, `${name} precision`);
      close(got?.recall, r.recall, `${name} recall`);
      close(got?.f1, r["f1-score"], `${name} F1`);
      expect(got?.support).toBe(r.support);
    }
  });

  it.each(FIXTURES.regression.map((c) => [c.name, c] as const))("%s: scikit-learn", (_, c) => {
    const q = emptyRegression();
    c.y_true.forEach((t, i) => addRegression(q, reg(c.y_pred[i] as number), reg(t)));
    const m = regressionMetrics(q);
    expect(m.count).toBe(c.y_true.length);
    close(m.mse, c.mse, "MSE");
    close(m.mae, c.mae, "MAE");
    close(m.rmse, c.rmse, "RMSE");
    close(m.mean_error, c.mean_error, "mean error");
  });

  it.each(FIXTURES.detection.map((c) => [c.name, c] as const))("%s: pycocotools AP@0.5", (_, c) => {
    const q = emptyDetection();
    for (const image of c.images) addDetection(q, boxes(image.dt), boxes(image.gt));
    const m = detectionMetrics(q);
    close(m.map50, c.map50, "mAP@0.5");
    for (const [name, ap] of Object.entries(c.per_class_ap)) {
      close(Object.getOwnPropertyDescriptor(m.per_class, name)?.value?.ap ?? null, ap, `${name} AP`);
    }
  });

  it.each(FIXTURES.segmentation.map((c) => [c.name, c] as const))("%s: pycocotools mask IoU", (_, c) => {
    const q = emptySegmentation();
    for (const image of c.images) addSegmentation(q, masks(image.dt), masks(image.gt));
    const m = segmentationMetrics(q);
    expect(m.pairs).toBe(c.ious.length);
    expect(m.box_pairs).toBe(0);
    close(m.mean_iou, c.mean_iou, "mean IoU");
    close(
      segmentationMetrics(addMatchedIous(emptySegmentation(), c.ious)).mean_iou,
      c.mean_iou,
      "given IoUs",
    );
  });

  it.each(FIXTURES.entities.map((c) => [c.name, c] as const))("%s: seqeval strict IOB2", (_, c) => {
    const q = emptyEntities();
    for (const t of c.texts) addEntities(q, ents(t.pred), ents(t.truth));
    const m = entityMetrics(q);
    expect(Object.keys(m.per_type).sort()).toEqual(Object.keys(c.per_type).sort());
    for (const [name, r] of Object.entries(c.per_type)) {
      const got = Object.getOwnPropertyDescriptor(m.per_type, name)?.value;
      close(got?.precision, r.precision, `${name} precision`);
      close(got?.recall, r.recall, `${name} recall`);
      close(got?.f1, r["f1-score"], `${name} F1`);
      expect(got?.support).toBe(r.support);
    }
    for (const [avg, got] of [
      ["micro", m.micro],
      ["macro", m.macro],
    ] as const) {
      const r = c[avg];
      close(got?.precision, r.precision, `${avg} precision`);
      close(got?.recall, r.recall, `${avg} recall`);
      close(got?.f1, r["f1-score"], `${avg} F1`);
    }
  });
});

/**
 * Splits `items` into random parts (some empty), builds each part in a shuffled order, round-trips
 * each through JSON (as partials are stored) and merges them in a random order.
 */
function splitMerge<T, A>(
  seed: number,
  items: readonly T[],
  empty: () => A,
  add: (a: A, item: T) => A,
  merge: (a: A, b: A) => A,
): A {
  const rnd = mulberry32(seed);
  const parts: T[][] = Array.from({ length: int(rnd, 1, 5) }, () => []);
  for (const item of items) parts[int(rnd, 0, parts.length - 1)]?.push(item);
  const built = parts.map((part) => {
    const shuffled = [...part].sort(() => rnd() - 0.5);
    return JSON.parse(JSON.stringify(shuffled.reduce(add, empty()))) as A;
  });
  while (built.length > 1) {
    const i = int(rnd, 0, built.length - 1);
    const [a] = built.splice(i, 1);
    const j = int(rnd, 0, built.length - 1);
    built[j] = rnd() < 0.5 ? merge(a as A, built[j] as A) : merge(built[j] as A, a as A);
  }
  return built[0] as A;
}

function mergeable<T, A>(
  items: readonly T[],
  empty: () => A,
  add: (a: A, item: T) => A,
  merge: (a: A, b: A) => A,
): void {
  const onePass = items.reduce(add, empty());
  for (let seed = 1; seed <= 8; seed++) expect(splitMerge(seed, items, empty, add, merge)).toEqual(onePass);
  expect(merge(onePass, empty())).toEqual(onePass);
}

describe("quality aggregates merge exactly, in any split and order", () => {
  it("classification", () => {
    for (const c of FIXTURES.classification) {
      const pairs = c.y_true.map((t, i) => [c.y_pred[i] as string, t] as const);
      mergeable(
        pairs,
        emptyClassification,
        (q, [p, t]) => addClassification(q, cls(p), cls(t)),
        mergeClassification,
      );
    }
  });

  it("regression, to the last bit", () => {
    for (const c of FIXTURES.regression) {
      const pairs = c.y_true.map((t, i) => [c.y_pred[i] as number, t] as const);
      mergeable(pairs, emptyRegression, (q, [p, t]) => addRegression(q, reg(p), reg(t)), mergeRegression);
    }
  });

  it("detection", () => {
    for (const c of FIXTURES.detection) {
      mergeable(
        c.images,
        emptyDetection,
        (q, im) => addDetection(q, boxes(im.dt), boxes(im.gt)),
        mergeDetection,
      );
    }
  });

  it("segmentation", () => {
    for (const c of FIXTURES.segmentation) {
      mergeable(
        c.images,
        emptySegmentation,
        (q, im) => addSegmentation(q, masks(im.dt), masks(im.gt)),
        mergeSegmentation,
      );
    }
  });

  it("entities", () => {
    for (const c of FIXTURES.entities) {
      mergeable(c.texts, emptyEntities, (q, t) => addEntities(q, ents(t.pred), ents(t.truth)), mergeEntities);
    }
  });

  it("past the class budget, keeping the first classes by name on every split", () => {
    const rnd = mulberry32(7);
    const name = (): string => `class-${int(rnd, 0, MAX_CLASSES + 200)}`;
    const pairs = Array.from({ length: 2000 }, () => [name(), rnd() < 0.3 ? "class-0" : name()] as const);
    const add = (q: ReturnType<typeof emptyClassification>, [p, t]: readonly [string, string]) =>
      addClassification(q, cls(p), cls(t));
    const onePass = pairs.reduce(add, emptyClassification());
    expect(onePass.classes).toHaveLength(MAX_CLASSES);
    expect(onePass.overflowed).toBe(true);
    expect(classificationMetrics(onePass).accuracy).toBe(
      pairs.filter(([p, t]) => p === t).length / pairs.length,
    );
    for (let seed = 1; seed <= 3; seed++) {
      expect(splitMerge(seed, pairs, emptyClassification, add, mergeClassification)).toEqual(onePass);
    }
    const spans = pairs.map(([p, t], i) => [ents([[i, i + 1, p]]), ents([[i, i + 1, t]])] as const);
    mergeable(spans, emptyEntities, (q, [p, t]) => addEntities(q, p, t), mergeEntities);
  }, 30_000);
});

describe("quality details", () => {
  it("keeps class names such as __proto__ as own keys, through JSON", () => {
    const q = addClassification(emptyClassification(), cls("__proto__"), cls("constructor"));
    const back = JSON.parse(JSON.stringify(q)) as typeof q;
    addClassification(back, cls("__proto__"), cls("__proto__"));
    const m = classificationMetrics(back);
    expect(Object.getPrototypeOf(back.matrix)).toBe(Object.prototype);
    expect(Object.keys(m.per_class).sort()).toEqual(["__proto__", "constructor"]);
    expect(m.accuracy).toBe(0.5);
  });

  it("sums exactly, whatever the order", () => {
    const values = [0.1, 0.2, 0.3, 1e308, -1e308, 5e-324, -0.1];
    const forward = values.reduce(addToSum, ZERO_SUM);
    const backward = [...values].reverse().reduce(addToSum, ZERO_SUM);
    expect(forward).toBe(backward);
    expect(sumValue(forward)).toBe(0.5);
    // Rounded once: the naive left-to-right sum is 0.6000000000000001.
    expect(sumValue([0.1, 0.2, 0.3].reduce(addToSum, ZERO_SUM))).toBe(0.6);
    expect(sumValue(addToSum(ZERO_SUM, 0.75))).toBe(0.75);
    expect(addToSum(ZERO_SUM, 0.75)).toBe("3p-2");
    expect(sumValue(mergeSums(addToSum(ZERO_SUM, 2 ** 1023), addToSum(ZERO_SUM, 2 ** 1023)))).toBe(Infinity);
    expect(sumValue(addToSum(ZERO_SUM, -5e-324))).toBe(-5e-324);
  });

  it("skips a regression error too large to square", () => {
    const q = addRegression(emptyRegression(), reg(1e200), reg(-1e200));
    expect(regressionMetrics(q)).toMatchObject({ count: 0, skipped: 1, mse: null });
  });

  it("measures mask IoU on runs, and box IoU without masks", () => {
    // 2×2 masks: [[1,1],[0,0]] against [[1,0],[1,0]], column-major runs.
    expect(
      rleIou({ size: [2, 2], counts: [0, 1, 1, 1, 1] }, { size: [2, 2], counts: [0, 2, 2] }),
    ).toBeCloseTo(1 / 3, 15);
    const box = (xyxy: Xyxy): Of<"segmentation"> => ({
      kind: "segmentation",
      instances: [{ label: "cell", score: 0.9, xyxy }],
    });
    const q = addSegmentation(emptySegmentation(), box([0, 0, 10, 10]), box([0, 0, 10, 8]));
    expect(segmentationMetrics(q)).toMatchObject({ pairs: 1, box_pairs: 1, mean_iou: 0.8 });
  });

  it("counts a ground-truth class never predicted as AP 0, and leaves out classes without ground truth", () => {
    const q = addDetection(
      emptyDetection(),
      boxes([{ label: "car", xyxy: [0, 0, 10, 10], score: 0.8 }]),
      boxes([
        { label: "car", xyxy: [0, 0, 10, 10] },
        { label: "bus", xyxy: [20, 20, 30, 30] },
      ]),
    );
    addDetection(q, boxes([{ label: "dog", xyxy: [0, 0, 5, 5], score: 0.4 }]), boxes([]));
    const m = detectionMetrics(q);
    expect(m.per_class.bus?.ap).toBe(0);
    expect(m.per_class.dog?.ap).toBeNull();
    close(m.map50, (1 - 2 ** -52 + 0) / 2, "mAP");
  });
});
