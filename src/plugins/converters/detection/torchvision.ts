/**
 * torchvision detection models (Faster/Mask R-CNN, RetinaNet, …): {boxes: [[x1, y1, x2, y2]],
 * labels, scores, masks?}, or any container. Masks (N×1×H×W or N×H×W probabilities, thresholded at
 * mask_threshold) make it a segmentation.
 */
import { conventionConverter } from "./read/convention.js";

export const torchvisionBoxes = conventionConverter({
  name: "torchvision",
  description:
    "{boxes: [[x1, y1, x2, y2]], labels, scores, masks?} (xyxy pixels) → boxes, or instances with masks",
  tasks: ["object_detection", "instance_segmentation"],
  format: { order: "xyxy", scale: "pixels" },
});
