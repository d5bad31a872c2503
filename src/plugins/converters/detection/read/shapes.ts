/**
 * The shape of one segmented instance, from any common way of writing it: polygons (flat
 * [x, y, x, y, …] or [x, y] points, one ring or several), COCO RLE (compressed string or
 * uncompressed counts) or a bitmap (H×W of 0/1 or probabilities, or 1×H×W).
 */
import type { Rle, Xyxy } from "../../../../core/canonical.js";
import { ParseError } from "../../../../core/plugins.js";
import {
  checkRle,
  decodeCompressedCounts,
  encodeRle,
  maskBox,
  polygonsBox,
  rleBox,
} from "../../../../core/rle.js";
import { asArray, asNumber, describe, fail, isRecord, round2 } from "../../shared.js";

export type ShapeKind = "polygons" | "rle" | "mask";

export type Shape =
  | { kind: "polygons"; polygons: number[][] }
  | { kind: "rle"; rle: Rle }
  | { kind: "mask"; rle: Rle; mask: Uint8Array };

const isPoint = (p: unknown) => Array.isArray(p) && p.length === 2 && p.every((n) => !Array.isArray(n));

/** Polygons in the model's own numbers; `point` maps them (normalised → pixels). */
export function readPolygons(
  v: unknown,
  what: string,
  point: (x: number, y: number) => [number, number],
): number[][] {
  const list = asArray(v, what);
  let rings: unknown[][];
  if (list.every((x) => !Array.isArray(x))) rings = [list];
  else if (list.length >= 3 && list.every(isPoint)) rings = [list.flat()];
  else rings = list.map((p, k) => asArray(p, `${what}[${k}]`).flat());
  if (rings.length === 0) fail(`${what}: no polygons`);
  return rings.map((p, k) => {
    if (p.length < 6 || p.length % 2 !== 0) {
      fail(`${what}[${k}]: a polygon needs at least 3 [x, y] points, got ${describe(p)}`);
    }
    const out: number[] = [];
    for (let j = 0; j < p.length; j += 2) {
      const [x, y] = point(asNumber(p[j], `${what}[${k}]`), asNumber(p[j + 1], `${what}[${k}]`));
      out.push(round2(x), round2(y));
    }
    return out;
  });
}

/** Checked, never drawn: a few characters of counts can claim a mask of any size. */
export function readRle(v: unknown, what: string): { rle: Rle } {
  if (!isRecord(v)) fail(`${what}: expected {size: [h, w], counts}, got ${describe(v)}`);
  const size = asArray(v.size, `${what}.size`);
  if (size.length !== 2) fail(`${what}.size: expected [height, width], got ${describe(v.size)}`);
  const [h, w] = size.map((n) => asNumber(n, `${what}.size`)) as [number, number];
  const raw = v.counts;
  try {
    const counts =
      typeof raw === "string"
        ? decodeCompressedCounts(raw)
        : asArray(raw, "counts").map((n, k) => asNumber(n, `counts[${k}]`));
    const rle: Rle = { size: [h, w], counts };
    checkRle(rle);
    return { rle };
  } catch (err) {
    if (err instanceof ParseError) fail(`${what}: ${err.message}`);
    throw err;
  }
}

/** An H×W bitmap (also 1×H×W, the channel axis torchvision keeps); pixels above threshold are set. */
export function readMask(v: unknown, threshold: number, what: string): { rle: Rle; mask: Uint8Array } {
  let rows = asArray(v, what);
  while (rows.length === 1 && Array.isArray(rows[0]) && Array.isArray(rows[0][0])) rows = rows[0];
  const height = rows.length;
  const width = height > 0 && Array.isArray(rows[0]) ? rows[0].length : 0;
  if (height === 0 || width === 0) fail(`${what}: expected an H×W mask, got ${describe(v)}`);
  const mask = new Uint8Array(height * width);
  rows.forEach((row, y) => {
    const r = asArray(row, `${what}[${y}]`);
    if (r.length !== width) fail(`${what}: row ${y} has ${r.length} pixels, row 0 has ${width}`);
    r.forEach((p, x) => {
      const value = typeof p === "boolean" ? Number(p) : asNumber(p, `${what}[${y}][${x}]`);
      if (value > threshold) mask[y * width + x] = 1;
    });
  });
  return { rle: encodeRle(mask, height, width), mask };
}

/**
 * Where each kind of shape may sit in an instance's object, most specific first. The value's type
 * tells the rest: COCO's `segmentation` is polygons when a list and RLE when an object.
 */
const SHAPE_KEYS: Record<ShapeKind, readonly string[]> = {
  polygons: ["polygon", "polygons", "points", "segmentation"],
  rle: ["segmentation", "rle", "mask"],
  mask: ["mask"],
};

const looksLike = (kind: ShapeKind, v: unknown) => (kind === "rle" ? isRecord(v) : Array.isArray(v));

export interface ShapeSource {
  item: Record<string, unknown> | undefined;
  /** A mask from a masks column. */
  mask: unknown;
}

/**
 * The instance's shape: the first kind in `prefer` that it carries. A shape that is there but
 * malformed fails the instance (it is the prediction); undefined when it carries none.
 */
export function readShape(
  src: ShapeSource,
  prefer: readonly ShapeKind[],
  opts: { what: string; threshold: number; point: (x: number, y: number) => [number, number] },
): Shape | undefined {
  for (const kind of prefer) {
    const found =
      kind === "mask" && src.mask !== undefined
        ? { key: "mask", value: src.mask }
        : SHAPE_KEYS[kind]
            .map((key) => ({ key, value: src.item?.[key] }))
            .find((c) => c.value !== undefined && c.value !== null && looksLike(kind, c.value));
    if (!found) continue;
    const what = `${opts.what}.${found.key}`;
    if (kind === "polygons") return { kind, polygons: readPolygons(found.value, what, opts.point) };
    if (kind === "rle") return { kind, ...readRle(found.value, what) };
    return { kind, ...readMask(found.value, opts.threshold, what) };
  }
  return undefined;
}

/** The extent of a shape, for an instance without a (readable) box. */
export function shapeBox(shape: Shape): Xyxy {
  if (shape.kind === "polygons") return polygonsBox(shape.polygons);
  if (shape.kind === "rle") return rleBox(shape.rle) ?? [0, 0, 0, 0];
  return maskBox(shape.mask, shape.rle.size[0], shape.rle.size[1]) ?? [0, 0, 0, 0];
}
