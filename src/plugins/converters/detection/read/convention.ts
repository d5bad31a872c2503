/**
 * A detection or segmentation converter is a convention: the box format its models write, and a
 * few names. The container (containers.ts) and the box format (boxes.ts) are read the same way for
 * every convention, so any converter works with any container a parser found, and the route's
 * box_format overrides the convention's.
 */
import type { BoxFormat, BoxOrder } from "../../../../core/box-format.js";
import type { Box, Prediction, SegmentInstance } from "../../../../core/canonical.js";
import { ParseError, type ConvertContext, type Converter } from "../../../../core/plugins.js";
import { describe, fail, labelOf, optionalNumber } from "../../shared.js";
import { makeBox, ORDER_WORDS, pointScaler, readBox } from "./boxes.js";
import { readDetections, type RawDetection } from "./containers.js";
import { readShape, shapeBox, type ShapeKind } from "./shapes.js";

export interface Convention {
  name: string;
  description: string;
  tasks: readonly string[];
  /** How its models write boxes, unless the route says otherwise (box_format). */
  format: BoxFormat;
  /** Object keys whose list boxes have another order (COCO's bbox is x, y, width, height). */
  keyOrders?: Readonly<Record<string, BoxOrder>>;
  /** YOLO-style rows: [label, a, b, c, d, score]. */
  labelFirstRows?: boolean;
  /** Object keys for the label, most specific first. */
  labelKeys?: readonly string[];
  /**
   * Segmentation: the shapes read, the first one an instance carries winning. Without it the
   * converter gives boxes, or instances when its output carries masks (torchvision).
   */
  shapes?: readonly ShapeKind[];
}

const BOX_KEYS = ["bbox", "box", "boxes", "bounding_box"];
const LABEL_KEYS = ["label", "class", "category_id", "class_id", "category", "class_name", "cls"];
/** Shapes a box converter still reads when the output carries them (torchvision's masks). */
const MASKS_ONLY: readonly ShapeKind[] = ["mask"];

/** The detection's box format: the route's, else the convention's (per object key). */
function formatOf(c: Convention, d: RawDetection, ctx: ConvertContext): BoxFormat {
  if (ctx.boxFormat) return ctx.boxFormat;
  const order = d.boxKey === undefined ? undefined : c.keyOrders?.[d.boxKey];
  return order ? { order, scale: c.format.scale } : c.format;
}

function label(c: Convention, d: RawDetection, ctx: ConvertContext, what: string): string {
  if (d.label === undefined || d.label === null) {
    fail(`${what}: no label (expected one of ${[...(c.labelKeys ?? []), ...LABEL_KEYS].join(", ")})`);
  }
  return labelOf(d.label, ctx);
}

/** A score is optional: one in an unexpected shape is dropped with a note, not the detection. */
function score(d: RawDetection, ctx: ConvertContext, what: string): number | null {
  try {
    return optionalNumber(d.score, `${what}.score`);
  } catch {
    ctx.note(`${what}.score: ignored ${describe(d.score)} (not a number)`);
    return null;
  }
}

function box(c: Convention, d: RawDetection, ctx: ConvertContext, what: string): Box {
  if (d.box === undefined) fail(`${what}: no box (expected one of ${BOX_KEYS.join(", ")})`);
  const xyxy = readBox(d.box, formatOf(c, d, ctx), ctx, `${what}.${d.boxKey ?? "box"}`, c.name);
  return makeBox(label(c, d, ctx, what), score(d, ctx, what), xyxy);
}

/** An instance: its shape, and its box (the shape's extent when it has none, or none readable). */
function instance(
  c: Convention,
  d: RawDetection,
  ctx: ConvertContext,
  what: string,
  shapes: readonly ShapeKind[],
): SegmentInstance {
  const format = formatOf(c, d, ctx);
  const shape = readShape(d, shapes, {
    what,
    threshold: ctx.maskThreshold,
    point: pointScaler(format, ctx, c.name),
  });
  let xyxy;
  if (d.box !== undefined) {
    try {
      xyxy = readBox(d.box, format, ctx, `${what}.${d.boxKey ?? "box"}`, c.name);
    } catch (err) {
      if (!(err instanceof ParseError) || !shape) throw err;
      ctx.note(`${err.message}: ignored, the box is the shape's extent`);
    }
  }
  if (!shape) {
    if (!xyxy) fail(`${what}: no shape (${shapes.join(", ")}) and no box`);
    ctx.note(`${what}: no ${shapes.join(" or ")}: kept the box alone`);
  }
  const base = makeBox(label(c, d, ctx, what), score(d, ctx, what), xyxy ?? shapeBox(shape!));
  if (!shape) return base;
  return shape.kind === "polygons" ? { ...base, polygons: shape.polygons } : { ...base, rle: shape.rle };
}

/** The one plain plugin object of a convention. */
export function conventionConverter(c: Convention): Converter {
  const options = {
    who: c.name,
    labelFirstRows: c.labelFirstRows ?? false,
    rowBox: ORDER_WORDS[c.format.order],
    boxKeys: BOX_KEYS,
    labelKeys: [...(c.labelKeys ?? []), ...LABEL_KEYS],
  };
  return {
    name: c.name,
    description: c.description,
    tasks: c.tasks,
    convert(raw, ctx): Prediction {
      const detections = readDetections(raw, ctx, options);
      const what = (d: RawDetection) => `${c.name}${d.where}`;
      // A box convention gives instances only on a segmentation route whose output carries masks.
      const masked = detections.some((d) => d.mask != null || d.item?.mask != null);
      const segmented = c.shapes ?? (ctx.task === "instance_segmentation" && masked ? MASKS_ONLY : undefined);
      if (!segmented) return { kind: "detection", boxes: detections.map((d) => box(c, d, ctx, what(d))) };
      return {
        kind: "segmentation",
        instances: detections.map((d) => instance(c, d, ctx, what(d), segmented)),
      };
    },
  };
}
