/**
 * Polygon instance masks: [{polygon|polygons|segmentation|points, label, score, bbox?|box?}] where a
 * polygon is flat [x, y, x, y, …], [x, y] points, or several rings. bbox is COCO [x, y, width,
 * height], box [x1, y1, x2, y2] or an object with named coordinates; without a readable one, the
 * polygons' extent. RLE or bitmap masks are read too when an instance has no polygon.
 */
import { conventionConverter } from "./read/convention.js";

export const polygons = conventionConverter({
  name: "polygons",
  description:
    "[{polygon|segmentation: flat, [x, y] points or several rings, label, score, bbox?}] → instances",
  tasks: ["instance_segmentation"],
  format: { order: "xyxy", scale: "pixels" },
  keyOrders: { bbox: "xywh" },
  shapes: ["polygons", "rle", "mask"],
});
