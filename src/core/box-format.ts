/**
 * How one box is written, apart from how detections travel (the container, read by the
 * converters): the order of its four numbers, and what they are relative to.
 *
 *   xyxy    x1, y1, x2, y2        (Pascal VOC, torchvision, Hugging Face)
 *   xywh    x, y, width, height   (COCO)
 *   cxcywh  centre x, centre y, width, height   (YOLO)
 *   yxyx    y1, x1, y2, x2        (TensorFlow Object Detection API)
 *
 * Plain names are absolute pixels of the image the model saw. `_normalized` means fractions of
 * it: of the model input when the route gives input_size, else of the original image (the image
 * the model saw). `_normalized_original` means fractions of the original image even when the
 * model saw a resized one.
 */
import type { Xyxy } from "./canonical.js";

export const BOX_ORDERS = ["xyxy", "xywh", "cxcywh", "yxyx"] as const;
export type BoxOrder = (typeof BOX_ORDERS)[number];

export type BoxScale = "pixels" | "normalized" | "normalized_original";

export interface BoxFormat {
  readonly order: BoxOrder;
  readonly scale: BoxScale;
}

const SUFFIXES: Record<BoxScale, string> = {
  pixels: "",
  normalized: "_normalized",
  normalized_original: "_normalized_original",
};

/** Every name a route may give as box_format. */
export const BOX_FORMAT_NAMES: readonly string[] = BOX_ORDERS.flatMap((order) =>
  Object.values(SUFFIXES).map((suffix) => `${order}${suffix}`),
);

export function parseBoxFormat(name: string): BoxFormat | undefined {
  for (const order of BOX_ORDERS) {
    for (const [scale, suffix] of Object.entries(SUFFIXES) as Array<[BoxScale, string]>) {
      if (name === `${order}${suffix}`) return { order, scale };
    }
  }
  return undefined;
}

export function boxFormatName(f: BoxFormat): string {
  return `${f.order}${SUFFIXES[f.scale]}`;
}

/** Four numbers in `order` → corners, in the same units. */
export function toCorners(q: readonly [number, number, number, number], order: BoxOrder): Xyxy {
  const [a, b, c, d] = q;
  switch (order) {
    case "xyxy":
      return [a, b, c, d];
    case "xywh":
      return [a, b, a + c, b + d];
    case "cxcywh":
      return [a - c / 2, b - d / 2, a + c / 2, b + d / 2];
    case "yxyx":
      return [b, a, d, c];
  }
}
