/**
 * TensorFlow Object Detection API: boxes [ymin, xmin, ymax, xmax] as fractions (yxyx_normalized),
 * usually as detection_boxes / detection_classes / detection_scores columns padded past
 * num_detections; from any container.
 */
import { conventionConverter } from "./read/convention.js";

export const tfOdBoxes = conventionConverter({
  name: "tf_od",
  description: "Normalized [ymin, xmin, ymax, xmax] (yxyx_normalized), e.g. detection_boxes/classes/scores",
  tasks: ["object_detection"],
  format: { order: "yxyx", scale: "normalized" },
});
