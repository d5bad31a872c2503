/**
 * YOLO: boxes [cx, cy, w, h] as fractions of the image the model saw (cxcywh_normalized), from any
 * container; rows carry the label first, as YOLO's text format does: [class, cx, cy, w, h, conf].
 */
import { conventionConverter } from "./read/convention.js";

export const yoloBoxes = conventionConverter({
  name: "yolo",
  description:
    "Normalized [cx, cy, w, h] (cxcywh_normalized), from any container; rows [class, cx, cy, w, h, conf]",
  tasks: ["object_detection"],
  format: { order: "cxcywh", scale: "normalized" },
  labelFirstRows: true,
  labelKeys: ["class"],
});
