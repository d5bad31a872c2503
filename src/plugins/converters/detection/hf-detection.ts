/** Hugging Face object detection: [{score, label, box: {xmin, ymin, xmax, ymax}}], or any container. */
import { conventionConverter } from "./read/convention.js";

export const hfDetection = conventionConverter({
  name: "hf_detection",
  description: "Hugging Face [{score, label, box: {xmin, ymin, xmax, ymax}}] (xyxy pixels), or any container",
  tasks: ["object_detection"],
  format: { order: "xyxy", scale: "pixels" },
});
