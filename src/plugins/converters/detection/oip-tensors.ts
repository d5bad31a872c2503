/**
 * Open Inference Protocol detection outputs: box, score and label tensors by name (output_names;
 * usual names boxes, scores, labels), corner boxes in pixels unless box_format says otherwise.
 * Kept as a name of its own; every converter reads named tensors the same way.
 */
import { conventionConverter } from "./read/convention.js";

export const oipTensors = conventionConverter({
  name: "oip_tensors",
  description: "Box, score and label tensors by name (output_names), xyxy pixels unless box_format says",
  tasks: ["object_detection"],
  format: { order: "xyxy", scale: "pixels" },
});
