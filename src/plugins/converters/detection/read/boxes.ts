/**
 * One box, read in the format the model writes it (core/box-format.ts) and turned into corners in
 * the model's input pixels, ready for the route's scaler: four numbers in the route's box_format
 * (else the converter's convention), or an object whose key names say its order
 * ({xmin, ymin, xmax, ymax}, {x, y, width, height}, …).
 */
import { boxFormatName, toCorners, type BoxFormat, type BoxOrder } from "../../../../core/box-format.js";
import type { Box, Xyxy } from "../../../../core/canonical.js";
import type { ConvertContext, Size } from "../../../../core/plugins.js";
import { asArray, asNumber, describe, fail, isRecord, round2 } from "../../shared.js";
import { someKeys } from "./containers.js";

/** The words of each order, for messages: "[x1, y1, x2, y2]". */
export const ORDER_WORDS: Record<BoxOrder, string> = {
  xyxy: "x1, y1, x2, y2",
  xywh: "x, y, width, height",
  cxcywh: "cx, cy, w, h",
  yxyx: "y1, x1, y2, x2",
};

/** Objects that name their coordinates, and the order those names mean. */
const NAMED: ReadonlyArray<readonly [BoxOrder, readonly [string, string, string, string]]> = [
  ["xyxy", ["xmin", "ymin", "xmax", "ymax"]],
  ["xyxy", ["x1", "y1", "x2", "y2"]],
  ["xyxy", ["left", "top", "right", "bottom"]],
  ["xywh", ["x", "y", "width", "height"]],
  ["xywh", ["x", "y", "w", "h"]],
  ["xywh", ["left", "top", "width", "height"]],
  ["cxcywh", ["cx", "cy", "w", "h"]],
  ["cxcywh", ["cx", "cy", "width", "height"]],
  ["cxcywh", ["x_center", "y_center", "width", "height"]],
];

/** Four numbers and their order, from a list or an object with named coordinates. */
function quadOf(
  v: unknown,
  order: BoxOrder,
  what: string,
): { q: [number, number, number, number]; order: BoxOrder } {
  if (isRecord(v)) {
    const named = NAMED.find(([, keys]) => keys.every((k) => v[k] !== undefined));
    if (!named) {
      fail(`${what}: expected {xmin, ymin, xmax, ymax} or {x, y, width, height}, got keys ${someKeys(v)}`);
    }
    const [namedOrder, keys] = named;
    const q = keys.map((k) => asNumber(v[k], `${what}.${k}`)) as [number, number, number, number];
    return { q, order: namedOrder };
  }
  const a = asArray(v, what);
  if (a.length !== 4) fail(`${what}: expected [${ORDER_WORDS[order]}], got ${describe(v)}`);
  return { q: a.map((n) => asNumber(n, what)) as [number, number, number, number], order };
}

/** The size normalised coordinates are fractions of. */
function normalizedBy(format: BoxFormat, ctx: ConvertContext, who: string): Size {
  if (format.scale === "normalized_original") {
    if (!ctx.imageSize) {
      fail(
        `${who}: boxes are ${boxFormatName(format)}, but no image was read from the request to give its size`,
      );
    }
    return ctx.imageSize;
  }
  const size = ctx.inputSize ?? ctx.imageSize;
  if (!size) fail(`${who}: coordinates are normalized, but neither input_size nor the image size is known`);
  return size;
}

/** A point in the format's scale → model-input pixels (original pixels when nothing is scaled). */
export function pointScaler(
  format: BoxFormat,
  ctx: ConvertContext,
  who: string,
): (x: number, y: number) => [number, number] {
  if (format.scale === "pixels") return (x, y) => [x, y];
  const { width, height } = normalizedBy(format, ctx, who);
  const back = format.scale === "normalized_original" ? ctx.originalToModel : undefined;
  return back ? (x, y) => back(x * width, y * height) : (x, y) => [x * width, y * height];
}

/** A box as the model wrote it → corners in model-input pixels. */
export function readBox(v: unknown, format: BoxFormat, ctx: ConvertContext, what: string, who: string): Xyxy {
  const { q, order } = quadOf(v, format.order, what);
  const [x1, y1, x2, y2] = toCorners(q, order);
  const point = pointScaler(format, ctx, who);
  const [ax, ay] = point(x1, y1);
  const [bx, by] = point(x2, y2);
  return [ax, ay, bx, by];
}

/** Geometry to 1/100 px; scores to 6 decimals (an FP32 tensor's 0.9 arrives as 0.8999999761581421). */
export function makeBox(label: string, score: number | null, xyxy: Xyxy): Box {
  return {
    label,
    score: score === null ? null : Math.round(score * 1e6) / 1e6,
    xyxy: [round2(xyxy[0]), round2(xyxy[1]), round2(xyxy[2]), round2(xyxy[3])],
  };
}
