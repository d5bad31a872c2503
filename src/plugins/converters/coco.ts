/** COCO results format: [{bbox: [x, y, width, height], category_id|label, score}], absolute pixels. */
import type { Box } from "../../core/canonical.js";
import type { ConvertContext, Converter } from "../../core/plugins.js";
import { describe, fail, isRecord } from "./shared.js";
import { detectionList, labelAt, makeBox, quad, scoreAt } from "./voc.js";

function cocoBox(item: unknown, i: number, ctx: ConvertContext): Box {
  const what = `coco[${i}]`;
  if (!isRecord(item)) fail(`${what}: expected an object with a bbox, got ${describe(item)}`);
  const [x, y, w, h] = quad(item.bbox, `${what}.bbox`, "[x, y, width, height]");
  const label = labelAt(item, ["category_id", "label"], ctx, what);
  return makeBox(label, scoreAt(item, ["score"], what), [x, y, x + w, y + h]);
}

export const cocoBoxes: Converter = {
  name: "coco",
  description: "[{bbox: [x, y, w, h], category_id|label, score}] → boxes",
  tasks: ["object_detection"],
  convert: (raw, ctx) => ({
    kind: "detection",
    boxes: detectionList(raw, "coco").map((item, i) => cocoBox(item, i, ctx)),
  }),
};
