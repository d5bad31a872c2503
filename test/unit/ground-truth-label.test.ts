/** src/core/ground-truth/label.ts: ground-truth labels parsed for every kind, with problem paths, and their fit to a task. */
import { describe, expect, it } from "vitest";
import type { Prediction } from "../../src/core/canonical.js";
import { labelFitsTask, labelKindFor, parseLabel } from "../../src/core/ground-truth/label.js";
import { TASKS } from "../../src/core/canonical.js";

function label(raw: unknown): Prediction {
  const result = parseLabel(raw);
  if (!result.ok) throw new Error(`expected a valid label, got ${JSON.stringify(result.problems)}`);
  return result.label;
}

function problems(raw: unknown, path?: string): string[] {
  const result = parseLabel(raw, path);
  if (result.ok) throw new Error(`expected problems, got ${JSON.stringify(result.label)}`);
  return result.problems;
}

const box = (xyxy: unknown, extra: Record<string, unknown> = {}) => ({ label: "cat", xyxy, ...extra });
const rle = (size: unknown, counts: unknown) => ({
  kind: "segmentation",
  instances: [box([0, 0, 1, 1], { rle: { size, counts } })],
});
const ent = (e: Record<string, unknown>) => ({
  kind: "entities",
  entities: [{ start: 0, end: 5, label: "LOC", text: "Paris", ...e }],
});
const KNOWN_KINDS = "classification, regression, detection, segmentation, entities, generation";

describe("labelKindFor", () => {
  const table = [
    ["tabular_classification", "classification"],
    ["image_classification", "classification"],
    ["text_classification", "classification"],
    ["tabular_regression", "regression"],
    ["object_detection", "detection"],
    ["instance_segmentation", "segmentation"],
    ["ner", "entities"],
    ["text_generation", "generation"],
    ["unknown", undefined],
  ] as const;

  it.each(table)("%s → %s", (task, kind) => {
    expect(labelKindFor(task)).toBe(kind);
  });

  it("the table above names every task", () => {
    expect(table.map(([task]) => task).sort()).toEqual([...TASKS].sort());
  });
});

describe("parseLabel: valid labels of every kind", () => {
  it.each<[string, unknown, Prediction]>([
    [
      "classification, score absent → null",
      { kind: "classification", label: "setosa" },
      { kind: "classification", label: "setosa", score: null },
    ],
    [
      "classification with score and classes",
      { kind: "classification", label: "cat", score: 1, classes: [{ label: "cat", score: 1 }] },
      { kind: "classification", label: "cat", score: 1, classes: [{ label: "cat", score: 1 }] },
    ],
    ["regression", { kind: "regression", value: -3.5 }, { kind: "regression", value: -3.5 }],
    [
      "detection, score absent → null, degenerate box allowed",
      { kind: "detection", boxes: [box([1, 2, 3, 4]), box([5, 5, 5, 5], { score: 0.5 })] },
      {
        kind: "detection",
        boxes: [
          { label: "cat", score: null, xyxy: [1, 2, 3, 4] },
          { label: "cat", score: 0.5, xyxy: [5, 5, 5, 5] },
        ],
      },
    ],
    [
      "detection with no boxes (nothing in the image)",
      { kind: "detection", boxes: [] },
      { kind: "detection", boxes: [] },
    ],
    [
      "segmentation with polygons and rle",
      {
        kind: "segmentation",
        instances: [
          box([0, 0, 2, 3], { polygons: [[0, 0, 2, 0, 2, 3]], rle: { size: [3, 2], counts: [1, 4, 1] } }),
        ],
      },
      {
        kind: "segmentation",
        instances: [
          {
            label: "cat",
            score: null,
            xyxy: [0, 0, 2, 3],
            polygons: [[0, 0, 2, 0, 2, 3]],
            rle: { size: [3, 2], counts: [1, 4, 1] },
          },
        ],
      },
    ],
    [
      "entities",
      ent({ score: null }),
      { kind: "entities", entities: [{ start: 0, end: 5, label: "LOC", score: null, text: "Paris" }] },
    ],
    [
      "generation with only a message gets empty defaults",
      { kind: "generation", message: { role: "assistant", content: "Hi" } },
      {
        kind: "generation",
        message: { role: "assistant", content: "Hi" },
        finish_reason: null,
        usage: { prompt_tokens: null, completion_tokens: null, total_tokens: null },
        streamed: false,
        ttft_ms: null,
        total_ms: null,
      },
    ],
    [
      "generation with every field",
      {
        kind: "generation",
        message: { role: "assistant", content: "" },
        finish_reason: "stop",
        usage: { prompt_tokens: 3, completion_tokens: 0, total_tokens: 3 },
        streamed: true,
        ttft_ms: 12.5,
        total_ms: 40,
      },
      {
        kind: "generation",
        message: { role: "assistant", content: "" },
        finish_reason: "stop",
        usage: { prompt_tokens: 3, completion_tokens: 0, total_tokens: 3 },
        streamed: true,
        ttft_ms: 12.5,
        total_ms: 40,
      },
    ],
  ])("%s", (_, raw, expected) => {
    expect(label(raw)).toEqual(expected);
  });

  it("returns a copy: later changes to the input do not reach the label", () => {
    const raw = { kind: "detection", boxes: [box([1, 2, 3, 4])] };
    const parsed = label(raw);
    raw.boxes[0]!.xyxy = [9, 9, 9, 9];
    expect(parsed).toEqual({ kind: "detection", boxes: [{ label: "cat", score: null, xyxy: [1, 2, 3, 4] }] });
  });
});

describe("parseLabel: problems, with their paths", () => {
  it.each<[string, unknown, string[]]>([
    ["not an object", "cat", [`label: must be an object with a kind (one of ${KNOWN_KINDS})`]],
    ["an array", [], [`label: must be an object with a kind (one of ${KNOWN_KINDS})`]],
    ["no kind", { label: "cat" }, [`label.kind: must be one of ${KNOWN_KINDS}, missing`]],
    ["unknown kind", { kind: "boxes" }, [`label.kind: must be one of ${KNOWN_KINDS}, got "boxes"`]],
    [
      "inherited name as kind",
      { kind: "toString" },
      [`label.kind: must be one of ${KNOWN_KINDS}, got "toString"`],
    ],
    [
      "classification: empty label, string score, unknown key",
      { kind: "classification", label: "", score: "0.9", lable: "cat" },
      [
        "label.lable: unknown key (known: kind, label, score, classes)",
        "label.label: must be a non-empty string",
        "label.score: must be a finite number or null",
      ],
    ],
    [
      "classification: classes not a list",
      { kind: "classification", label: "cat", classes: { cat: 1 } },
      ["label.classes: must be a list of {label, score}"],
    ],
    [
      "classification: class without score",
      { kind: "classification", label: "cat", classes: [{ label: "cat", score: 1 }, { label: "dog" }] },
      ["label.classes[1].score: must be a finite number"],
    ],
    ["regression: missing value", { kind: "regression" }, ["label.value: must be a finite number"]],
    [
      "regression: string value",
      { kind: "regression", value: "3" },
      ["label.value: must be a finite number"],
    ],
    [
      "regression: infinite value",
      { kind: "regression", value: Infinity },
      ["label.value: must be a finite number"],
    ],
    [
      "detection: boxes missing",
      { kind: "detection" },
      ["label.boxes: must be a list of {label, score, xyxy}"],
    ],
    [
      "detection: a box that is not an object",
      { kind: "detection", boxes: [7] },
      ["label.boxes[0]: must be an object {label, score, xyxy}"],
    ],
    [
      "detection: x1 > x2 in the third box",
      { kind: "detection", boxes: [box([0, 0, 1, 1]), box([0, 0, 1, 1]), box([5, 0, 4, 1])] },
      ["label.boxes[2].xyxy: must be 4 finite numbers with x1<=x2, y1<=y2"],
    ],
    [
      "detection: y1 > y2",
      { kind: "detection", boxes: [box([0, 5, 1, 4])] },
      ["label.boxes[0].xyxy: must be 4 finite numbers with x1<=x2, y1<=y2"],
    ],
    [
      "detection: three numbers",
      { kind: "detection", boxes: [box([0, 0, 1])] },
      ["label.boxes[0].xyxy: must be 4 finite numbers with x1<=x2, y1<=y2"],
    ],
    [
      "detection: a NaN coordinate",
      { kind: "detection", boxes: [box([0, 0, NaN, 1])] },
      ["label.boxes[0].xyxy: must be 4 finite numbers with x1<=x2, y1<=y2"],
    ],
    [
      "detection: no label, bad score, unknown key",
      { kind: "detection", boxes: [{ xyxy: [0, 0, 1, 1], score: true, mask_uri: "s3://b/k" }] },
      [
        "label.boxes[0].mask_uri: unknown key (known: label, score, xyxy)",
        "label.boxes[0].label: must be a non-empty string",
        "label.boxes[0].score: must be a finite number or null",
      ],
    ],
    [
      "segmentation: polygon of odd length",
      { kind: "segmentation", instances: [box([0, 0, 1, 1], { polygons: [[0, 0, 1, 0, 1, 1, 0]] })] },
      ["label.instances[0].polygons[0]: must be an even number (at least 6) of finite numbers"],
    ],
    [
      "segmentation: polygon of two points",
      { kind: "segmentation", instances: [box([0, 0, 1, 1], { polygons: [[0, 0, 1, 1]] })] },
      ["label.instances[0].polygons[0]: must be an even number (at least 6) of finite numbers"],
    ],
    [
      "segmentation: polygons not a list",
      { kind: "segmentation", instances: [box([0, 0, 1, 1], { polygons: "0 0 1 0 1 1" })] },
      ["label.instances[0].polygons: must be a list of polygons, each a flat [x1, y1, x2, y2, ...] list"],
    ],
    [
      "segmentation: rle counts do not sum to h*w",
      rle([2, 3], [1, 2]),
      ["label.instances[0].rle.counts: must sum to h*w = 6, got 3"],
    ],
    [
      "segmentation: rle negative count",
      rle([1, 2], [3, -1]),
      ["label.instances[0].rle.counts: must be a list of non-negative integers"],
    ],
    [
      "segmentation: rle fractional count",
      rle([1, 2], [1.5, 0.5]),
      ["label.instances[0].rle.counts: must be a list of non-negative integers"],
    ],
    [
      "segmentation: rle zero height",
      rle([0, 2], []),
      ["label.instances[0].rle.size: must be [h, w], two positive integers"],
    ],
    [
      "segmentation: rle size of 3",
      rle([1, 2, 3], [6]),
      ["label.instances[0].rle.size: must be [h, w], two positive integers"],
    ],
    [
      "segmentation: rle not an object",
      { kind: "segmentation", instances: [box([0, 0, 1, 1], { rle: "0a1" })] },
      ["label.instances[0].rle: must be an object {size: [h, w], counts}"],
    ],
    [
      "segmentation: mask_uri is not part of a label",
      { kind: "segmentation", instances: [box([0, 0, 1, 1], { mask_uri: "s3://b/k" })] },
      ["label.instances[0].mask_uri: unknown key (known: label, score, xyxy, polygons, rle)"],
    ],
    [
      "entities: start == end",
      ent({ start: 5, end: 5 }),
      ["label.entities[0].end: must be greater than start (5), got 5"],
    ],
    [
      "entities: start > end",
      ent({ start: 6, end: 2 }),
      ["label.entities[0].end: must be greater than start (6), got 2"],
    ],
    [
      "entities: negative start",
      ent({ start: -1 }),
      ["label.entities[0].start: must be a non-negative integer"],
    ],
    [
      "entities: fractional end",
      ent({ end: 4.5 }),
      ["label.entities[0].end: must be a non-negative integer"],
    ],
    [
      "entities: text missing, label empty",
      { kind: "entities", entities: [{ start: 0, end: 1, label: "" }] },
      ["label.entities[0].text: must be a string", "label.entities[0].label: must be a non-empty string"],
    ],
    [
      "generation: no message",
      { kind: "generation", finish_reason: "stop" },
      ["label.message: must be an object {role, content}"],
    ],
    [
      "generation: empty role, numeric content",
      { kind: "generation", message: { role: "", content: 1 } },
      ["label.message.role: must be a non-empty string", "label.message.content: must be a string"],
    ],
    [
      "generation: bad optional fields",
      {
        kind: "generation",
        message: { role: "assistant", content: "x" },
        finish_reason: 1,
        usage: { prompt_tokens: -1, cost: 2 },
        streamed: "yes",
        ttft_ms: -5,
        total_ms: "40",
      },
      [
        "label.finish_reason: must be a string or null",
        "label.streamed: must be a boolean",
        "label.usage.cost: unknown key (known: prompt_tokens, completion_tokens, total_tokens)",
        "label.usage.prompt_tokens: must be a non-negative integer or null",
        "label.ttft_ms: must be a non-negative number or null",
        "label.total_ms: must be a non-negative number or null",
      ],
    ],
  ])("%s", (_, raw, expected) => {
    expect(problems(raw)).toEqual(expected);
  });

  it("reports every problem of every element at once", () => {
    const raw = { kind: "detection", boxes: [box([1, 0, 0, 0]), { xyxy: [0, 0, 1, 1] }, box([0, 0, 1, 1])] };
    expect(problems(raw)).toEqual([
      "label.boxes[0].xyxy: must be 4 finite numbers with x1<=x2, y1<=y2",
      "label.boxes[1].label: must be a non-empty string",
    ]);
  });

  it("prefixes problems with the given path", () => {
    expect(problems({ kind: "regression" }, "items[3].label")).toEqual([
      "items[3].label.value: must be a finite number",
    ]);
  });
});

describe("labelFitsTask", () => {
  const cls = label({ kind: "classification", label: "cat" });
  const samples: Record<string, Prediction> = {
    classification: cls,
    regression: label({ kind: "regression", value: 1 }),
    detection: label({ kind: "detection", boxes: [] }),
    segmentation: label({ kind: "segmentation", instances: [] }),
    entities: label({ kind: "entities", entities: [] }),
    generation: label({ kind: "generation", message: { role: "assistant", content: "" } }),
  };

  it.each(TASKS.filter((t) => t !== "unknown"))("%s accepts its own kind and refuses every other", (task) => {
    const kind = labelKindFor(task)!;
    expect(labelFitsTask(samples[kind]!, task, {})).toEqual([]);
    for (const [other, l] of Object.entries(samples)) {
      if (other === kind) continue;
      expect(labelFitsTask(l, task, {})).toEqual([
        `label.kind: task ${task} takes "${kind}" labels, got "${other}"`,
      ]);
    }
  });

  it("refuses every label for task unknown, and unknown task names", () => {
    expect(labelFitsTask(cls, "unknown", {})).toEqual([
      "task: captures of task unknown take no ground truth",
    ]);
    expect(labelFitsTask(cls, "pose", {})).toEqual([
      `task: unknown task "pose" (known: ${TASKS.join(", ")})`,
    ]);
  });

  const text = "I flew to Paris.";
  it.each<[string, Record<string, unknown>, string[]]>([
    ["matching slice", { start: 10, end: 15, text: "Paris" }, []],
    [
      "slice off by one",
      { start: 9, end: 14, text: "Paris" },
      ["label.entities[0].text: does not match the capture text at [9, 14)"],
    ],
    [
      "case differs",
      { start: 10, end: 15, text: "paris" },
      ["label.entities[0].text: does not match the capture text at [10, 15)"],
    ],
    ["ends exactly at the end", { start: 10, end: 16, text: "Paris." }, []],
    [
      "past the end",
      { start: 10, end: 17, text: "Paris." },
      ["label.entities[0].end: 17 is past the end of the 16-character capture text"],
    ],
  ])("NER: %s", (_, e, expected) => {
    const l = label({ kind: "entities", entities: [{ label: "LOC", ...e }] });
    expect(labelFitsTask(l, "ner", { text })).toEqual(expected);
    expect(labelFitsTask(l, "ner", {})).toEqual([]); // without the text nothing can be checked
  });

  it("NER: counts code points, as Python models and Label Studio do (not UTF-16 units)", () => {
    const at = (start: number, end: number) =>
      label({ kind: "entities", entities: [{ start, end, label: "LOC", text: "Paris" }] });
    expect(labelFitsTask(at(2, 7), "ner", { text: "🚀 Paris" })).toEqual([]);
    expect(labelFitsTask(at(3, 8), "ner", { text: "🚀 Paris" })).toEqual([
      "label.entities[0].end: 8 is past the end of the 7-character capture text",
    ]);
  });

  const image = { width: 100, height: 50 };
  it.each<[string, number[], string[]]>([
    ["inside", [0, 0, 100, 50], []],
    ["within the half-pixel tolerance", [-0.5, -0.5, 100.5, 50.5], []],
    [
      "left of the image",
      [-0.6, 0, 10, 10],
      ["label.boxes[0].xyxy: [-0.6, 0, 10, 10] is outside the 100x50 image"],
    ],
    [
      "below the image",
      [0, 0, 10, 50.6],
      ["label.boxes[0].xyxy: [0, 0, 10, 50.6] is outside the 100x50 image"],
    ],
    [
      "right of the image",
      [90, 0, 101, 10],
      ["label.boxes[0].xyxy: [90, 0, 101, 10] is outside the 100x50 image"],
    ],
  ])("detection: box %s", (_, xyxy, expected) => {
    const l = label({ kind: "detection", boxes: [box(xyxy)] });
    expect(labelFitsTask(l, "object_detection", { image })).toEqual(expected);
    expect(labelFitsTask(l, "object_detection", {})).toEqual([]);
  });

  it("segmentation: checks boxes, polygon points and the mask size against the image", () => {
    const l = label({
      kind: "segmentation",
      instances: [
        box([0, 0, 10, 10], { polygons: [[0, 0, 10, 0, 10, 10]], rle: { size: [50, 100], counts: [5000] } }),
        box([0, 0, 101, 10], {
          polygons: [[0, 0, 10, 0, 10, 60, 200, 200]],
          rle: { size: [100, 50], counts: [5000] },
        }),
      ],
    });
    expect(labelFitsTask(l, "instance_segmentation", { image })).toEqual([
      "label.instances[1].xyxy: [0, 0, 101, 10] is outside the 100x50 image",
      "label.instances[1].polygons[0]: point (10, 60) is outside the 100x50 image",
      "label.instances[1].rle.size: must be the image size [50, 100] (h, w), got [100, 50]",
    ]);
  });

  it("uses the given path", () => {
    const l = label({ kind: "detection", boxes: [box([0, 0, 200, 1])] });
    expect(labelFitsTask(l, "object_detection", { image }, "items[2].label")).toEqual([
      "items[2].label.boxes[0].xyxy: [0, 0, 200, 1] is outside the 100x50 image",
    ]);
  });
});
