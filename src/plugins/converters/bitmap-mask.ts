/**
 * Per-instance bitmap masks: [{mask: H×W of 0/1 or probabilities, label, score, box?}]. Pixels above
 * the route's mask threshold are set; the mask is stored as COCO RLE at its own resolution.
 */
import type { SegmentInstance, Xyxy } from "../../core/canonical.js";
import type { ConvertContext, Converter } from "../../core/plugins.js";
import { encodeRle, maskBox } from "../../core/rle.js";
import { asArray, asNumber, describe, fail, isRecord } from "./shared.js";
import { detectionList, labelAt, makeBox, quad, scoreAt } from "./voc.js";

export interface Bitmap {
  mask: Uint8Array;
  height: number;
  width: number;
}

/** Reads an H×W mask, also accepting the 1×H×W channel axis torchvision keeps. */
export function readMask(v: unknown, threshold: number, what: string): Bitmap {
  let rows = asArray(v, what);
  while (rows.length === 1 && Array.isArray(rows[0]) && Array.isArray(rows[0][0])) rows = rows[0];
  const height = rows.length;
  const width = height > 0 && Array.isArray(rows[0]) ? rows[0].length : 0;
  if (height === 0 || width === 0) fail(`${what}: expected an H×W mask, got ${describe(v)}`);
  const mask = new Uint8Array(height * width);
  rows.forEach((row, y) => {
    const r = asArray(row, `${what}[${y}]`);
    if (r.length !== width) fail(`${what}: row ${y} has ${r.length} pixels, row 0 has ${width}`);
    r.forEach((p, x) => {
      const value = typeof p === "boolean" ? Number(p) : asNumber(p, `${what}[${y}][${x}]`);
      if (value > threshold) mask[y * width + x] = 1;
    });
  });
  return { mask, height, width };
}

/** An instance from a bitmap; the box is the mask's extent unless the model gave one. */
export function maskInstance(label: string, score: number | null, m: Bitmap, box?: Xyxy): SegmentInstance {
  const xyxy = box ?? maskBox(m.mask, m.height, m.width) ?? [0, 0, 0, 0];
  return { ...makeBox(label, score, xyxy), rle: encodeRle(m.mask, m.height, m.width) };
}

function instance(item: unknown, i: number, ctx: ConvertContext): SegmentInstance {
  const what = `bitmap_mask[${i}]`;
  if (!isRecord(item)) fail(`${what}: expected {mask, label, score}, got ${describe(item)}`);
  const m = readMask(item.mask, ctx.maskThreshold, `${what}.mask`);
  const box = item.box === undefined ? undefined : quad(item.box, `${what}.box`, "[x1, y1, x2, y2]");
  return maskInstance(
    labelAt(item, ["label", "class", "category_id"], ctx, what),
    scoreAt(item, ["score", "confidence"], what),
    m,
    box,
  );
}

export const bitmapMask: Converter = {
  name: "bitmap_mask",
  description: "[{mask: H×W 0/1 or probabilities, label, score, box?}] → instances with RLE masks",
  tasks: ["instance_segmentation"],
  convert: (raw, ctx) => ({
    kind: "segmentation",
    instances: detectionList(raw, "bitmap_mask").map((item, i) => instance(item, i, ctx)),
  }),
};
