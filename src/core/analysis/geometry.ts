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

/** Points checked before the per-axis path is trusted to give what the scaler gives pixel by pixel. */
const SEPARABILITY_PROBES = 17;

/**
 * The mask pixel column under each original column's centre, and row under each row's centre, when
 * the scaler maps x and y independently (every built-in one does); undefined when it does not, or
 * when probing finds a point where the two disagree.
 */
function axisMaps(
  scaler: Scaler,
  model: Size,
  original: Size,
  mw: number,
  mh: number,
): { cols: Int32Array; rows: Int32Array } | undefined {
  const { width, height } = original;
  const sx = mw / model.width;
  const sy = mh / model.height;
  const cell = (v: number, s: number, n: number) => {
    const p = Math.floor(v * s);
    return p >= 0 && p < n ? p : -1;
  };
  const cols = new Int32Array(width);
  const rows = new Int32Array(height);
  for (let ox = 0; ox < width; ox++)
    cols[ox] = cell(scaler.toModel(ox + 0.5, 0.5, model, original)[0], sx, mw);
  for (let oy = 0; oy < height; oy++)
    rows[oy] = cell(scaler.toModel(0.5, oy + 0.5, model, original)[1], sy, mh);
  for (let i = 0; i < SEPARABILITY_PROBES; i++) {
    const ox = Math.floor(((i * 7 + 3) % SEPARABILITY_PROBES) * (width / SEPARABILITY_PROBES));
    const oy = Math.floor(((i * 11 + 5) % SEPARABILITY_PROBES) * (height / SEPARABILITY_PROBES));
    const [x, y] = scaler.toModel(ox + 0.5, oy + 0.5, model, original);
    if (cell(x, sx, mw) !== cols[ox] || cell(y, sy, mh) !== rows[oy]) return undefined;
  }
  return { cols, rows };
}

/**
 * The scaled mask's RLE straight from the per-axis maps, without drawing it: each original column
 * is the mask column under it sampled at the rows' mask rows, and columns that sample the same mask
 * column are the same runs. Work and memory grow with the mask and the image's sides, not its area.
 */
function scaleRleByAxes(src: Uint8Array, mw: number, maps: { cols: Int32Array; rows: Int32Array }): number[] {
  const { cols, rows } = maps;
  const columnRuns = new Map<number, number[]>();
  /** [value, length, value, length, ...] down one original column sampling mask column px. */
  const runsOf = (px: number): number[] => {
    const out: number[] = [];
    for (let oy = 0; oy < rows.length;) {
      const py = rows[oy]!;
      let end = oy + 1;
      while (end < rows.length && rows[end] === py) end++;
      const v = px >= 0 && py >= 0 && src[py * mw + px] ? 1 : 0;
      if (out.length > 0 && out[out.length - 2] === v) out[out.length - 1]! += end - oy;
      else out.push(v, end - oy);
      oy = end;
    }
    return out;
  };
  const counts: number[] = [];
  let current = 0;
  let run = 0;
  for (let ox = 0; ox < cols.length; ox++) {
    const px = cols[ox]!;
    let runs = columnRuns.get(px);
    if (!runs) columnRuns.set(px, (runs = runsOf(px)));
    for (let i = 0; i < runs.length; i += 2) {
      if (runs[i] !== current) {
        counts.push(run);
        current = runs[i]!;
        run = 0;
      }
      run += runs[i + 1]!;
    }
  }
  counts.push(run);
  return counts;
}

/**
 * The mask covers the model input (at its own resolution, which may be coarser than the input), so
 * each original pixel takes the value of the mask pixel under its centre. A scaler that maps the
 * axes independently takes the per-axis path; `byAxes: false` forces pixel by pixel (tests).
 */
export function scaleRle(rle: Rle, scaler: Scaler, model: Size, original: Size, byAxes = true): Rle {
  const [mh, mw] = rle.size;
  const src = decodeRle(rle);
  const sx = mw / model.width;
  const sy = mh / model.height;
  const { width, height } = original;
  checkMaskSize(height, width, "the original image, to draw a mask at its size,");
  const maps = byAxes ? axisMaps(scaler, model, original, mw, mh) : undefined;
  if (maps) return { size: [height, width], counts: scaleRleByAxes(src, mw, maps) };
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

/**
 * Whether a mask may be drawn at the original image's size (counted when it may): scaling
 * materialises the source mask and the original-size one. The RLE of a refused mask is left out;
 * its box and polygons stay.
 */
export type MaskGate = (
  original: readonly [number, number],
  source: readonly [number, number],
  index: number,
) => boolean;

function scaleInstance(
  inst: SegmentInstance,
  index: number,
  scaler: Scaler,
  model: Size,
  original: Size,
  gate: MaskGate | undefined,
): SegmentInstance {
  const { rle, ...rest } = inst;
  const out: SegmentInstance = scaleBox(rest, scaler, model, original);
  if (inst.polygons) out.polygons = inst.polygons.map((p) => scalePolygon(p, scaler, model, original));
  if (rle && (!gate || gate([original.height, original.width], rle.size, index))) {
    out.rle = scaleRle(rle, scaler, model, original);
  }
  return out;
}

export function scalePrediction(
  p: Prediction,
  scaler: Scaler,
  model: Size,
  original: Size,
  gate?: MaskGate,
): Prediction {
  if (p.kind === "detection") {
    return { ...p, boxes: p.boxes.map((b) => scaleBox(b, scaler, model, original)) };
  }
  if (p.kind === "segmentation") {
    return {
      ...p,
      instances: p.instances.map((inst, j) => scaleInstance(inst, j, scaler, model, original, gate)),
    };
  }
  return p;
}
