/**
 * Maps a prediction's geometry from the model's input pixels back onto the original image with a
 * scaler. Boxes and polygons map point by point; masks are resampled, because a mask pixel in the
 * input does not correspond to a whole pixel of the original.
 */
import type { Box, Prediction, Rle, SegmentInstance, Xyxy } from "../canonical.js";
import type { Scaler, Size } from "../plugins.js";
import { checkMaskSize, decodeRle, encodeRle } from "../rle.js";

function round2(n: number): number {
  // `+ 0` turns -0 into 0, which JSON and deep equality both prefer.
  return Math.round(n * 100) / 100 + 0;
}

function clamp(v: number, max: number): number {
  return Math.min(Math.max(v, 0), max);
}

/** Orders the corners, clips the box to the image and rounds it to 1/100 px. */
export function clipBox(xyxy: Xyxy, size: Size): Xyxy {
  const [a, b, c, d] = xyxy;
  return [
    round2(clamp(Math.min(a, c), size.width)),
    round2(clamp(Math.min(b, d), size.height)),
    round2(clamp(Math.max(a, c), size.width)),
    round2(clamp(Math.max(b, d), size.height)),
  ];
}

function scaleBox<T extends Box>(box: T, scaler: Scaler, model: Size, original: Size): T {
  const [x1, y1] = scaler.toOriginal(box.xyxy[0], box.xyxy[1], model, original);
  const [x2, y2] = scaler.toOriginal(box.xyxy[2], box.xyxy[3], model, original);
  return { ...box, xyxy: clipBox([x1, y1, x2, y2], original) };
}

function scalePolygon(flat: number[], scaler: Scaler, model: Size, original: Size): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const [x, y] = scaler.toOriginal(flat[i]!, flat[i + 1]!, model, original);
    out.push(round2(clamp(x, original.width)), round2(clamp(y, original.height)));
  }
  return out;
}

/**
 * The mask covers the model input (at its own resolution, which may be coarser than the input), so
 * each original pixel takes the value of the mask pixel under its centre.
 */
function scaleRle(rle: Rle, scaler: Scaler, model: Size, original: Size): Rle {
  const [mh, mw] = rle.size;
  const src = decodeRle(rle);
  const sx = mw / model.width;
  const sy = mh / model.height;
  const { width, height } = original;
  checkMaskSize(height, width, "the original image, to draw a mask at its size,");
  const out = new Uint8Array(width * height);
  for (let oy = 0; oy < height; oy++) {
    for (let ox = 0; ox < width; ox++) {
      const [x, y] = scaler.toModel(ox + 0.5, oy + 0.5, model, original);
      const px = Math.floor(x * sx);
      const py = Math.floor(y * sy);
      if (px >= 0 && py >= 0 && px < mw && py < mh && src[py * mw + px]) out[oy * width + ox] = 1;
    }
  }
  return encodeRle(out, height, width);
}

function scaleInstance(inst: SegmentInstance, scaler: Scaler, model: Size, original: Size): SegmentInstance {
  const out = scaleBox(inst, scaler, model, original);
  if (inst.polygons) out.polygons = inst.polygons.map((p) => scalePolygon(p, scaler, model, original));
  if (inst.rle) out.rle = scaleRle(inst.rle, scaler, model, original);
  return out;
}

export function scalePrediction(p: Prediction, scaler: Scaler, model: Size, original: Size): Prediction {
  if (p.kind === "detection") {
    return { ...p, boxes: p.boxes.map((b) => scaleBox(b, scaler, model, original)) };
  }
  if (p.kind === "segmentation") {
    return { ...p, instances: p.instances.map((i) => scaleInstance(i, scaler, model, original)) };
  }
  return p;
}
