/**
 * TensorFlow Object Detection API signature outputs: detection_boxes as normalized
 * [ymin, xmin, ymax, xmax], detection_classes, detection_scores, and num_detections telling how
 * many of the (padded) rows are real.
 */
import type { Box } from "../../core/canonical.js";
import type { Converter } from "../../core/plugins.js";
import { asArray, asNumber, describe, fail, isRecord, labelOf } from "./shared.js";
import { makeBox, quad } from "./voc.js";
import { normalizedSize } from "./yolo.js";

function count(v: unknown): number | undefined {
  if (v === undefined || v === null) return undefined;
  const n = asNumber(Array.isArray(v) && v.length === 1 ? v[0] : v, "tf_od: num_detections");
  return Math.max(0, Math.floor(n));
}

export const tfOdBoxes: Converter = {
  name: "tf_od",
  description:
    "TF OD API {detection_boxes [ymin, xmin, ymax, xmax] normalized, detection_classes, detection_scores}",
  tasks: ["object_detection"],
  convert: (raw, ctx) => {
    if (!isRecord(raw) || raw.detection_boxes === undefined) {
      fail(`tf_od: expected an object with detection_boxes, got ${describe(raw)}`);
    }
    const rows = asArray(raw.detection_boxes, "tf_od: detection_boxes");
    const classes = asArray(raw.detection_classes, "tf_od: detection_classes");
    const scores = asArray(raw.detection_scores, "tf_od: detection_scores");
    const n = Math.min(count(raw.num_detections) ?? rows.length, rows.length);
    if (classes.length < n || scores.length < n) {
      fail(`tf_od: ${n} detection_boxes but ${classes.length} classes and ${scores.length} scores`);
    }
    const size = n > 0 ? normalizedSize(ctx, "tf_od") : { width: 0, height: 0 };
    const boxes: Box[] = [];
    for (let i = 0; i < n; i++) {
      const what = `tf_od: detection_boxes[${i}]`;
      const [ymin, xmin, ymax, xmax] = quad(rows[i], what, "[ymin, xmin, ymax, xmax]");
      const score = asNumber(scores[i], `tf_od: detection_scores[${i}]`);
      const xyxy = [xmin * size.width, ymin * size.height, xmax * size.width, ymax * size.height] as const;
      boxes.push(makeBox(labelOf(classes[i], ctx), score, [...xyxy]));
    }
    return { kind: "detection", boxes: boxes };
  },
};
