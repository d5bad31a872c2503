/** COCO results: boxes [x, y, width, height] in pixels, from any container (read/containers.ts). */
import { conventionConverter } from "./read/convention.js";

export const cocoBoxes = conventionConverter({
  name: "coco",
  description: "Boxes [x, y, width, height] in pixels (xywh), from any container",
  tasks: ["object_detection"],
  format: { order: "xywh", scale: "pixels" },
  labelKeys: ["category_id"],
});
