/**
 * COCO RLE instance masks: [{segmentation: {size: [h, w], counts}, bbox?, category_id|label, score}]
 * with counts compressed (the pycocotools string) or uncompressed numbers; bbox is COCO [x, y,
 * width, height], else the mask's extent. Polygons or bitmaps are read too when there is no RLE.
 */
import { conventionConverter } from "./read/convention.js";

export const cocoRle = conventionConverter({
  name: "coco_rle",
  description: "[{segmentation: {size, counts (compressed or not)}, bbox?, category_id, score}] → instances",
  tasks: ["instance_segmentation"],
  format: { order: "xyxy", scale: "pixels" },
  keyOrders: { bbox: "xywh" },
  labelKeys: ["category_id"],
  shapes: ["rle", "polygons", "mask"],
});
