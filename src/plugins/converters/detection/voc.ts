/** Pascal VOC: corner boxes [x1, y1, x2, y2] in pixels, from any container (read/containers.ts). */
import { conventionConverter } from "./read/convention.js";

export const vocBoxes = conventionConverter({
  name: "voc",
  description: "Corner boxes [x1, y1, x2, y2] in pixels (xyxy), from any container",
  tasks: ["object_detection"],
  format: { order: "xyxy", scale: "pixels" },
});
