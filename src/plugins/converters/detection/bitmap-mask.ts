/**
 * Per-instance bitmap masks: [{mask: H×W of 0/1 or probabilities, label, score, box?}] or a masks
 * column. Pixels above the route's mask_threshold are set; the mask is stored as COCO RLE at its
 * own resolution. RLE or polygons are read too when an instance has no bitmap.
 */
import { conventionConverter } from "./read/convention.js";

export const bitmapMask = conventionConverter({
  name: "bitmap_mask",
  description: "[{mask: H×W 0/1 or probabilities, label, score, box?}] → instances with RLE masks",
  tasks: ["instance_segmentation"],
  format: { order: "xyxy", scale: "pixels" },
  shapes: ["mask", "rle", "polygons"],
});
