/**
 * torchvision detection models (Faster/Mask R-CNN, RetinaNet, …): {boxes: [[x1, y1, x2, y2]],
 * labels, scores, masks?}. Masks (N×1×H×W or N×H×W probabilities) make it a segmentation.
 */
import type { Box, Prediction, SegmentInstance } from "../../core/canonical.js";
import type { Converter } from "../../core/plugins.js";
import { asArray, asNumber, describe, fail, isRecord, labelOf } from "./shared.js";
import { readMask, maskInstance } from "./bitmap-mask.js";
import { makeBox, quad } from "./voc.js";

export const torchvisionBoxes: Converter = {
  name: "torchvision",
  description: "{boxes: [[x1, y1, x2, y2]], labels, scores, masks?} → boxes, or instances with RLE masks",
  tasks: ["object_detection", "instance_segmentation"],
  convert: (raw, ctx): Prediction => {
    if (!isRecord(raw) || raw.boxes === undefined) {
      fail(`torchvision: expected {boxes, labels, scores}, got ${describe(raw)}`);
    }
    const boxes = asArray(raw.boxes, "torchvision: boxes");
    const labels = asArray(raw.labels, "torchvision: labels");
    const scores = raw.scores === undefined ? undefined : asArray(raw.scores, "torchvision: scores");
    const masks = raw.masks === undefined ? undefined : asArray(raw.masks, "torchvision: masks");
    for (const [name, list] of [
      ["labels", labels],
      ["scores", scores],
      ["masks", masks],
    ] as const) {
      if (list && list.length !== boxes.length) {
        fail(`torchvision: ${boxes.length} boxes but ${list.length} ${name}`);
      }
    }
    const out: Array<Box | SegmentInstance> = [];
    boxes.forEach((b, i) => {
      const score = scores ? asNumber(scores[i], `torchvision: scores[${i}]`) : null;
      const xyxy = quad(b, `torchvision: boxes[${i}]`, "[x1, y1, x2, y2]");
      const label = labelOf(labels[i], ctx);
      out.push(
        masks
          ? maskInstance(
              label,
              score,
              readMask(masks[i], ctx.maskThreshold, `torchvision: masks[${i}]`),
              xyxy,
            )
          : makeBox(label, score, xyxy),
      );
    });
    return masks ? { kind: "segmentation", instances: out } : { kind: "detection", boxes: out };
  },
};
