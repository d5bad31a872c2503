/**
 * YOLO normalized boxes: [{bbox: [cx, cy, w, h], class|label, score|confidence}] or rows
 * [class, cx, cy, w, h, conf?], all coordinates as fractions of the image the model saw.
 */
import type { Box } from "../../core/canonical.js";
import type { ConvertContext, Converter, Size } from "../../core/plugins.js";
import { asNumber, describe, fail, isRecord, labelOf } from "./shared.js";
import { detectionList, labelAt, makeBox, quad, scoreAt } from "./voc.js";

/** Normalized geometry is relative to the model input if known, else to the original image. */
export function normalizedSize(ctx: ConvertContext, who: string): Size {
  const size = ctx.inputSize ?? ctx.imageSize;
  if (!size) {
    fail(`${who}: coordinates are normalized, but neither input_size nor the image size is known`);
  }
  return size;
}

function yoloBox(item: unknown, i: number, ctx: ConvertContext, size: Size): Box {
  const what = `yolo[${i}]`;
  let label: string;
  let score: number | null;
  let cxcywh: [number, number, number, number];
  if (Array.isArray(item)) {
    if (item.length !== 5 && item.length !== 6) {
      fail(`${what}: expected a row [class, cx, cy, w, h, conf], got ${describe(item)}`);
    }
    label = labelOf(item[0], ctx);
    cxcywh = quad(item.slice(1, 5), what, "[cx, cy, w, h]");
    score = item.length === 6 ? asNumber(item[5], `${what}.conf`) : null;
  } else {
    if (!isRecord(item)) fail(`${what}: expected an object or a row, got ${describe(item)}`);
    cxcywh = quad(item.bbox, `${what}.bbox`, "[cx, cy, w, h]");
    label = labelAt(item, ["class", "label"], ctx, what);
    score = scoreAt(item, ["score", "confidence"], what);
  }
  const [cx, cy, w, h] = cxcywh;
  const W = size.width;
  const H = size.height;
  return makeBox(label, score, [(cx - w / 2) * W, (cy - h / 2) * H, (cx + w / 2) * W, (cy + h / 2) * H]);
}

export const yoloBoxes: Converter = {
  name: "yolo",
  description: "Normalized [cx, cy, w, h]: [{bbox, class, score}] or rows [class, cx, cy, w, h, conf]",
  tasks: ["object_detection"],
  convert: (raw, ctx) => {
    const list = detectionList(raw, "yolo");
    const size = list.length > 0 ? normalizedSize(ctx, "yolo") : { width: 0, height: 0 };
    return {
      kind: "detection",
      boxes: list.map((item, i) => yoloBox(item, i, ctx, size)),
    };
  },
};
