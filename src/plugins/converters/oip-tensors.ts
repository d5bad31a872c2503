/**
 * Open Inference Protocol detection outputs: separate box, score and label tensors for one
 * instance, found by the route's output_names (defaults boxes, scores, labels). output_names.box_format
 * says how the 4 numbers of a box read: xyxy (default), xywh, cxcywh, or yxyx_normalized.
 */
import type { Box, Xyxy } from "../../core/canonical.js";
import type { ConvertContext, Converter } from "../../core/plugins.js";
import { asNumber, describe, fail, isRecord, labelOf } from "./shared.js";
import { makeBox } from "./voc.js";
import { normalizedSize } from "./yolo.js";

const FORMATS = ["xyxy", "xywh", "cxcywh", "yxyx_normalized"];

/** Tensors arrive flat or nested by shape; the row structure is recovered from the box width 4. */
function flat(v: unknown): unknown[] {
  return Array.isArray(v) ? v.flat(Infinity) : [v];
}

function tensor(raw: Record<string, unknown>, ctx: ConvertContext, role: string): unknown[] {
  const name = ctx.outputNames[role] ?? role;
  if (!(name in raw)) {
    fail(
      `oip_tensors: no output tensor "${name}" for ${role} (outputs: ${Object.keys(raw).join(", ")}); set output_names.${role}`,
    );
  }
  return flat(raw[name]);
}

function toXyxy(q: number[], format: string, ctx: ConvertContext): Xyxy {
  const [a, b, c, d] = q as [number, number, number, number];
  if (format === "xywh") return [a, b, a + c, b + d];
  if (format === "cxcywh") return [a - c / 2, b - d / 2, a + c / 2, b + d / 2];
  if (format === "yxyx_normalized") {
    const { width, height } = normalizedSize(ctx, "oip_tensors");
    return [b * width, a * height, d * width, c * height];
  }
  return [a, b, c, d];
}

export const oipTensors: Converter = {
  name: "oip_tensors",
  description:
    "Box, score and label tensors by name (output_names), box_format xyxy|xywh|cxcywh|yxyx_normalized",
  tasks: ["object_detection"],
  convert: (raw, ctx) => {
    if (!isRecord(raw)) fail(`oip_tensors: expected output tensors by name, got ${describe(raw)}`);
    const format = ctx.outputNames.box_format ?? "xyxy";
    if (!FORMATS.includes(format)) {
      fail(`oip_tensors: unknown box_format "${format}" (expected one of ${FORMATS.join(", ")})`);
    }
    const coords = tensor(raw, ctx, "boxes").map((v, i) => asNumber(v, `oip_tensors: boxes[${i}]`));
    const scores = tensor(raw, ctx, "scores");
    const labels = tensor(raw, ctx, "labels");
    if (coords.length % 4 !== 0) fail(`oip_tensors: ${coords.length} box values is not a multiple of 4`);
    const n = coords.length / 4;
    if (scores.length !== n || labels.length !== n) {
      fail(`oip_tensors: ${n} boxes but ${scores.length} scores and ${labels.length} labels`);
    }
    const boxes: Box[] = [];
    for (let i = 0; i < n; i++) {
      const score = asNumber(scores[i], `oip_tensors: scores[${i}]`);
      const xyxy = toXyxy(coords.slice(4 * i, 4 * i + 4), format, ctx);
      boxes.push(makeBox(labelOf(labels[i], ctx), score, xyxy));
    }
    return { kind: "detection", boxes };
  },
};
