/** src/adapters/label-studio/convert.ts: label configs, predictions to results and back, and malformed results. */
import { describe, expect, it } from "vitest";
import { maskToLsRle } from "../../src/adapters/label-studio/brush-rle.js";
import {
  fromLsResult,
  LABELABLE_TASKS,
  labelConfig,
  LabelingFormatError,
  toLsResult,
  type LsSubject,
} from "../../src/adapters/label-studio/convert.js";
import type { Prediction, SegmentInstance } from "../../src/core/canonical.js";
import { decodeRle, encodeRle, maskBox } from "../../src/core/rle.js";
import type { Task } from "../../src/core/canonical.js";
import { thrown } from "../support/errors.js";
import { circleMask } from "../support/masks.js";

const image = (width: number, height: number): LsSubject => ({ kind: "image", width, height });
const TEXT = "Ada Lovelace met Charles Babbage in London.";

/** The LabelingFormatError fn throws, named so (the name is what callers tell the errors apart by). */
function formatError(fn: () => unknown): LabelingFormatError {
  const err = thrown(LabelingFormatError, fn);
  expect(err.name).toBe("LabelingFormatError");
  return err;
}

describe("labelConfig", () => {
  it("lists the unstructured tasks as labelable", () => {
    expect([...LABELABLE_TASKS].sort()).toEqual([
      "image_classification",
      "instance_segmentation",
      "ner",
      "object_detection",
      "text_classification",
    ]);
  });

  const cases: Array<[Task, string[]]> = [
    [
      "object_detection",
      ['<Image name="image" value="$image"/>', '<RectangleLabels name="label" toName="image">'],
    ],
    [
      "instance_segmentation",
      [
        '<Image name="image" value="$image"/>',
        '<PolygonLabels name="polygon" toName="image">',
        '<BrushLabels name="brush" toName="image">',
      ],
    ],
    [
      "image_classification",
      ['<Image name="image" value="$image"/>', '<Choices name="label" toName="image" choice="single">'],
    ],
    [
      "text_classification",
      ['<Text name="text" value="$text"/>', '<Choices name="label" toName="text" choice="single">'],
    ],
    ["ner", ['<Text name="text" value="$text"/>', '<Labels name="label" toName="text">']],
  ];
  it.each(cases)("%s has the right tags and escaped labels", (task, tags) => {
    const xml = labelConfig(task, ["cat", `a<b & "c" 'd'>`]);
    for (const tag of tags) expect(xml).toContain(tag);
    const item = task.endsWith("classification") ? "Choice" : "Label";
    const controls = tags.length - 1;
    expect(xml.split(`<${item} value="cat"/>`)).toHaveLength(controls + 1);
    expect(xml).toContain(`<${item} value="a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;"/>`);
    expect(xml).not.toContain("a<b");
  });

  it("writes a whole config in a fixed shape", () => {
    expect(labelConfig("object_detection", ["car", "person"])).toBe(
      [
        "<View>",
        '  <Image name="image" value="$image"/>',
        '  <RectangleLabels name="label" toName="image">',
        '    <Label value="car"/>',
        '    <Label value="person"/>',
        "  </RectangleLabels>",
        "</View>",
        "",
      ].join("\n"),
    );
  });

  it.each<Task>(["unknown", "tabular_regression", "text_generation"])("rejects task %s", (task) => {
    const err = formatError(() => labelConfig(task, ["a"]));
    expect(err.message).toContain(
      "image_classification, object_detection, instance_segmentation, text_classification, ner",
    );
  });

  it("rejects an empty, blank or repeated label set", () => {
    expect(formatError(() => labelConfig("ner", [])).message).toMatch(/label set is empty/);
    expect(formatError(() => labelConfig("ner", ["a", ""])).message).toMatch(/non-empty strings/);
    expect(formatError(() => labelConfig("ner", ["a", "a"])).message).toMatch(/"a" repeats/);
  });
});

describe("toLsResult", () => {
  it("converts a box to percent of the original image", () => {
    const prediction: Prediction = {
      kind: "detection",
      boxes: [{ label: "car", score: 0.9, xyxy: [10, 20, 110, 70] }],
    };
    expect(toLsResult("object_detection", prediction, image(200, 100))).toEqual([
      {
        id: "p0",
        from_name: "label",
        to_name: "image",
        type: "rectanglelabels",
        original_width: 200,
        original_height: 100,
        image_rotation: 0,
        value: { x: 5, y: 20, width: 50, height: 50, rotation: 0, rectanglelabels: ["car"] },
        score: 0.9,
      },
    ]);
  });

  it("writes one closed polygon item per polygon, and a box-only instance as a rectangle polygon", () => {
    const prediction: Prediction = {
      kind: "segmentation",
      instances: [
        {
          label: "a",
          score: null,
          xyxy: [0, 0, 50, 50],
          polygons: [
            [0, 0, 50, 0, 50, 50],
            [10, 10, 20, 10, 20, 20],
          ],
        },
        { label: "b", score: 0.5, xyxy: [10, 20, 30, 40] },
      ],
    };
    const items = toLsResult("instance_segmentation", prediction, image(100, 200));
    expect(items.map((i) => [i.id, i.type, i.from_name, i.score])).toEqual([
      ["p0", "polygonlabels", "polygon", undefined],
      ["p1", "polygonlabels", "polygon", undefined],
      ["p2", "polygonlabels", "polygon", 0.5],
    ]);
    expect(items[0]!.value).toEqual({
      points: [
        [0, 0],
        [50, 0],
        [50, 25],
      ],
      closed: true,
      polygonlabels: ["a"],
    });
    expect(items[2]!.value.points).toEqual([
      [10, 10],
      [30, 10],
      [30, 20],
      [10, 20],
    ]);
  });

  it("rejects a prediction of the wrong kind or a subject of the wrong kind", () => {
    const cls: Prediction = { kind: "classification", label: "a", score: null };
    expect(formatError(() => toLsResult("object_detection", cls, image(2, 2))).message).toMatch(
      /expects a detection prediction, got classification/,
    );
    expect(formatError(() => toLsResult("text_classification", cls, image(2, 2))).message).toMatch(
      /task text_classification needs a text subject, got image/,
    );
  });
});

describe("round trip toLsResult → fromLsResult", () => {
  it("keeps boxes to 1e-6 px, with score null", () => {
    const boxes = [
      { label: "car", score: 0.75, xyxy: [12.345, 6.789, 601.5, 477.25] as [number, number, number, number] },
      { label: "dog", score: null, xyxy: [0, 0, 640, 480] as [number, number, number, number] },
    ];
    const subject = image(640, 480);
    const back = fromLsResult(
      "object_detection",
      toLsResult("object_detection", { kind: "detection", boxes }, subject),
      subject,
    );
    if (back.kind !== "detection") throw new Error(back.kind);
    expect(back.boxes.map((b) => [b.label, b.score])).toEqual([
      ["car", null],
      ["dog", null],
    ]);
    back.boxes.forEach((b, i) => b.xyxy.forEach((v, j) => expect(v).toBeCloseTo(boxes[i]!.xyxy[j]!, 6)));
  });

  it("keeps polygons to 1e-6 px and sets the box to their extent", () => {
    const polygon = [10.5, 3.25, 90.125, 7.5, 60, 44.75, 12.2, 30.3];
    const subject = image(97, 51);
    const items = toLsResult(
      "instance_segmentation",
      {
        kind: "segmentation",
        instances: [{ label: "leaf", score: 0.8, xyxy: [0, 0, 1, 1], polygons: [polygon] }],
      },
      subject,
    );
    const back = fromLsResult("instance_segmentation", items, subject);
    if (back.kind !== "segmentation") throw new Error(back.kind);
    expect(back.instances).toHaveLength(1);
    const inst = back.instances[0]!;
    expect([inst.label, inst.score, inst.rle]).toEqual(["leaf", null, undefined]);
    expect(inst.polygons).toHaveLength(1);
    inst.polygons![0]!.forEach((v, i) => expect(v).toBeCloseTo(polygon[i]!, 6));
    [10.5, 3.25, 90.125, 44.75].forEach((v, i) => expect(inst.xyxy[i]).toBeCloseTo(v, 6));
  });

  it("keeps a brush mask identical", () => {
    const mask = circleMask();
    const rle = encodeRle(mask, 23, 37);
    const subject = image(37, 23);
    const instance: SegmentInstance = { label: "blob", score: 0.6, xyxy: [0, 0, 37, 23], rle };
    const items = toLsResult(
      "instance_segmentation",
      { kind: "segmentation", instances: [instance] },
      subject,
    );
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ type: "brushlabels", from_name: "brush", score: 0.6 });
    expect(items[0]!.value).toMatchObject({ format: "rle", brushlabels: ["blob"] });
    const back = fromLsResult("instance_segmentation", JSON.parse(JSON.stringify(items)), subject);
    if (back.kind !== "segmentation") throw new Error(back.kind);
    const inst = back.instances[0]!;
    expect(inst.rle).toEqual(rle);
    expect(decodeRle(inst.rle!)).toEqual(mask);
    expect(inst.xyxy).toEqual(maskBox(mask, 23, 37));
    expect(inst.xyxy).toEqual([0, 0, 29, 21]);
  });

  it("keeps NER spans and takes their text from the subject", () => {
    const entities = [
      { start: 0, end: 12, label: "PER", score: 0.99, text: "Ada Lovelace" },
      { start: 17, end: 32, label: "PER", score: null, text: "Charles Babbage" },
      { start: 36, end: 42, label: "LOC", score: 0.5, text: "London" },
    ];
    const subject: LsSubject = { kind: "text", text: TEXT };
    const items = toLsResult("ner", { kind: "entities", entities }, subject);
    expect(items[0]).toMatchObject({
      type: "labels",
      to_name: "text",
      value: { start: 0, end: 12, text: "Ada Lovelace", labels: ["PER"] },
    });
    const back = fromLsResult("ner", items, subject);
    expect(back).toEqual({ kind: "entities", entities: entities.map((e) => ({ ...e, score: null })) });
  });

  it("reads Label Studio's span offsets as code points, as it stores them (an emoji is one)", () => {
    const subject: LsSubject = { kind: "text", text: "🚀 Ada met 🇬🇧 Babbage" };
    const span = (start: number, end: number) => [
      { from_name: "label", to_name: "text", type: "labels", value: { start, end, labels: ["PER"] } },
    ];
    expect(fromLsResult("ner", span(2, 5), subject)).toEqual({
      kind: "entities",
      entities: [{ start: 2, end: 5, label: "PER", score: null, text: "Ada" }],
    });
    expect(fromLsResult("ner", span(13, 20), subject)).toMatchObject({
      entities: [{ text: "Babbage" }],
    });
  });

  it.each<[Task, LsSubject]>([
    ["image_classification", image(10, 10)],
    ["text_classification", { kind: "text", text: TEXT }],
  ])("keeps the %s choice", (task, subject) => {
    const items = toLsResult(task, { kind: "classification", label: "spam", score: 0.7 }, subject);
    expect(items).toEqual([
      {
        id: "p0",
        from_name: "label",
        to_name: subject.kind,
        type: "choices",
        value: { choices: ["spam"] },
        score: 0.7,
      },
    ]);
    expect(fromLsResult(task, items, subject)).toEqual({
      kind: "classification",
      label: "spam",
      score: null,
    });
  });
});

describe("fromLsResult", () => {
  const rect = (value: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    from_name: "label",
    to_name: "image",
    type: "rectanglelabels",
    value: { x: 10, y: 10, width: 20, height: 20, rectanglelabels: ["car"], ...value },
    ...extra,
  });

  it("reads an empty result as nothing there, except for classification", () => {
    expect(fromLsResult("object_detection", [], image(5, 5))).toEqual({ kind: "detection", boxes: [] });
    expect(fromLsResult("instance_segmentation", [], image(5, 5))).toEqual({
      kind: "segmentation",
      instances: [],
    });
    expect(fromLsResult("ner", [], { kind: "text", text: "x" })).toEqual({ kind: "entities", entities: [] });
    expect(formatError(() => fromLsResult("image_classification", [], image(5, 5))).message).toMatch(
      /exactly one choice, got 0/,
    );
  });

  it("skips relations and other controls' results, and accepts labels outside the label set", () => {
    const result = [
      { type: "relation", from_id: "a", to_id: "b", direction: "right" },
      { from_name: "quality", to_name: "image", type: "choices", value: { choices: ["blurry"] } },
      rect({ rectanglelabels: ["zebra"] }),
    ];
    const back = fromLsResult("object_detection", result, image(100, 100));
    expect(back).toEqual({
      kind: "detection",
      boxes: [{ label: "zebra", score: null, xyxy: [10, 10, 30, 30] }],
    });
  });

  it("turns a rotated rectangle into the extent of its corners", () => {
    // Rotated 90° clockwise about its top-left corner (10, 10): the 20×20 square swings left.
    const back = fromLsResult("object_detection", [rect({ rotation: 90 })], image(100, 100));
    if (back.kind !== "detection") throw new Error(back.kind);
    [-10, 10, 10, 30].forEach((v, i) => expect(back.boxes[0]!.xyxy[i]).toBeCloseTo(v, 9));
  });

  it("drops a brush region whose mask was erased", () => {
    const value = { format: "rle", rle: maskToLsRle(new Uint8Array(6), 3, 2), brushlabels: ["x"] };
    const item = { from_name: "brush", to_name: "image", type: "brushlabels", value };
    expect(fromLsResult("instance_segmentation", [item], image(3, 2))).toEqual({
      kind: "segmentation",
      instances: [],
    });
  });

  const brush = (rle: unknown) => ({
    from_name: "brush",
    to_name: "image",
    type: "brushlabels",
    value: { format: "rle", rle, brushlabels: ["x"] },
  });
  const text: LsSubject = { kind: "text", text: "hello" };
  const malformed: Array<[string, Task, unknown, LsSubject, RegExp]> = [
    ["result not an array", "object_detection", { result: [] }, image(9, 9), /^result: must be an array/],
    ["item not an object", "object_detection", [rect({}), 7], image(9, 9), /^result\[1\]: must be an object/],
    [
      "item without value",
      "object_detection",
      [{ from_name: "label", to_name: "image", type: "rectanglelabels" }],
      image(9, 9),
      /^result\[0\]\.value: must be an object, got nothing/,
    ],
    [
      "rectangle with NaN x",
      "object_detection",
      [rect({}), rect({ x: NaN })],
      image(9, 9),
      /^result\[1\]\.value\.x: must be a finite number, got NaN/,
    ],
    [
      "rectangle without height",
      "object_detection",
      [rect({ height: undefined })],
      image(9, 9),
      /^result\[0\]\.value\.height: must be a finite number, got nothing/,
    ],
    [
      "label not a string",
      "object_detection",
      [rect({ rectanglelabels: [3] })],
      image(9, 9),
      /^result\[0\]\.value\.rectanglelabels: must be an array of exactly one label string, got \[3\]/,
    ],
    [
      "our type under a foreign control",
      "object_detection",
      [rect({}, { from_name: "boxes" })],
      image(9, 9),
      /^result\[0\]\.from_name: "boxes" is not a control of the object_detection labeling config \(expected "label"\)/,
    ],
    [
      "our control with the wrong type",
      "instance_segmentation",
      [{ ...brush([0]), type: "polygonlabels", from_name: "brush" }],
      image(9, 9),
      /^result\[0\]\.type: control "brush" produces "brushlabels", got "polygonlabels"/,
    ],
    [
      "rotated image",
      "object_detection",
      [rect({}, { image_rotation: 90 })],
      image(9, 9),
      /^result\[0\]\.image_rotation: rotated images are not supported/,
    ],
    [
      "polygon of two points",
      "instance_segmentation",
      [
        {
          from_name: "polygon",
          to_name: "image",
          type: "polygonlabels",
          value: {
            points: [
              [1, 1],
              [2, 2],
            ],
            polygonlabels: ["a"],
          },
        },
      ],
      image(9, 9),
      /^result\[0\]\.value\.points: must be an array of at least 3/,
    ],
    [
      "polygon point not a pair",
      "instance_segmentation",
      [
        {
          from_name: "polygon",
          to_name: "image",
          type: "polygonlabels",
          value: { points: [[1, 1], [2, 2], [3]], polygonlabels: ["a"] },
        },
      ],
      image(9, 9),
      /^result\[0\]\.value\.points\[2\]: must be an \[x, y\] pair/,
    ],
    [
      "NER end beyond the text",
      "ner",
      [{ from_name: "label", to_name: "text", type: "labels", value: { start: 2, end: 6, labels: ["X"] } }],
      text,
      /^result\[0\]\.value: span \[2, 6\) is not inside the 5-character text/,
    ],
    [
      "NER start not an integer",
      "ner",
      [{ from_name: "label", to_name: "text", type: "labels", value: { start: "2", end: 4, labels: ["X"] } }],
      text,
      /^result\[0\]\.value\.start: must be an integer, got "2"/,
    ],
    [
      "two choices",
      "text_classification",
      [
        { from_name: "label", to_name: "text", type: "choices", value: { choices: ["a"] } },
        { from_name: "label", to_name: "text", type: "choices", value: { choices: ["b"] } },
      ],
      text,
      /exactly one choice, got 2/,
    ],
    [
      "brush rle of the wrong decoded length",
      "instance_segmentation",
      [brush(maskToLsRle(Uint8Array.of(1, 0), 2, 1))],
      image(3, 3),
      /^result\[0\]\.value\.rle: decodes to 8 values, expected 4 channels × 3×3 pixels = 36/,
    ],
    [
      "truncated brush rle",
      "instance_segmentation",
      [brush(maskToLsRle(Uint8Array.of(1, 0), 2, 1).slice(0, 8))],
      image(2, 1),
      /^result\[0\]\.value\.rle: truncated or corrupt/,
    ],
    [
      "brush rle with a non-byte",
      "instance_segmentation",
      [brush([0, 0, 0, 8, 300])],
      image(2, 1),
      /^result\[0\]\.value\.rle: byte 4 is 300, not an integer from 0 to 255/,
    ],
    [
      "brush in another format",
      "instance_segmentation",
      [{ ...brush([]), value: { format: "png", brushlabels: ["x"] } }],
      image(2, 1),
      /^result\[0\]\.value\.format: only "rle"/,
    ],
  ];
  it.each(malformed)("rejects %s", (_name, task, result, subject, reason) => {
    expect(formatError(() => fromLsResult(task, result, subject)).message).toMatch(reason);
  });
});
