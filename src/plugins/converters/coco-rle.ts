/**
 * COCO RLE instance masks: [{segmentation: {size: [h, w], counts}, bbox?, category_id|label, score}]
 * with counts compressed (the pycocotools string) or uncompressed numbers. The canonical form keeps
 * uncompressed counts; bbox is COCO [x, y, width, height], else the mask's extent.
 */
import type { Rle, SegmentInstance, Xyxy } from "../../core/canonical.js";
import type { ConvertContext, Converter } from "../../core/plugins.js";
import { ParseError } from "../../core/plugins.js";
import { decodeCompressedCounts, decodeRle, maskBox } from "../../core/rle.js";
import { asArray, asNumber, describe, fail, isRecord } from "./shared.js";
import { detectionList, labelAt, makeBox, quad, scoreAt } from "./voc.js";

function readRle(v: unknown, what: string): { rle: Rle; mask: Uint8Array } {
  if (!isRecord(v)) fail(`${what}: expected {size: [h, w], counts}, got ${describe(v)}`);
  const size = asArray(v.size, `${what}.size`);
  if (size.length !== 2) fail(`${what}.size: expected [height, width], got ${describe(v.size)}`);
  const [h, w] = size.map((n) => asNumber(n, `${what}.size`)) as [number, number];
  const raw = v.counts;
  try {
    const counts =
      typeof raw === "string"
        ? decodeCompressedCounts(raw)
        : asArray(raw, "counts").map((n, k) => asNumber(n, `counts[${k}]`));
    const rle: Rle = { size: [h, w], counts };
    return { rle, mask: decodeRle(rle) };
  } catch (err) {
    if (err instanceof ParseError) fail(`${what}: ${err.message}`);
    throw err;
  }
}

function instance(item: unknown, i: number, ctx: ConvertContext): SegmentInstance {
  const what = `coco_rle[${i}]`;
  if (!isRecord(item)) fail(`${what}: expected {segmentation, category_id, score}, got ${describe(item)}`);
  const { rle, mask } = readRle(item.segmentation, `${what}.segmentation`);
  let xyxy: Xyxy;
  if (item.bbox !== undefined) {
    const [x, y, w, h] = quad(item.bbox, `${what}.bbox`, "[x, y, width, height]");
    xyxy = [x, y, x + w, y + h];
  } else {
    xyxy = maskBox(mask, rle.size[0], rle.size[1]) ?? [0, 0, 0, 0];
  }
  const label = labelAt(item, ["category_id", "label"], ctx, what);
  return { ...makeBox(label, scoreAt(item, ["score"], what), xyxy), rle };
}

export const cocoRle: Converter = {
  name: "coco_rle",
  description: "[{segmentation: {size, counts (compressed or not)}, bbox?, category_id, score}] → instances",
  tasks: ["instance_segmentation"],
  convert: (raw, ctx) => ({
    kind: "segmentation",
    instances: detectionList(raw, "coco_rle").map((item, i) => instance(item, i, ctx)),
  }),
};
