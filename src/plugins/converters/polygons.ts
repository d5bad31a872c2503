/**
 * Polygon instance masks in absolute pixels: [{polygon|segmentation, label, score, bbox?}], where a
 * polygon is flat [x, y, x, y, …], a list of such, or a list of [x, y] points (or a list of those).
 * bbox is COCO [x, y, width, height] (box: [x1, y1, x2, y2]); without either, the polygons' extent.
 */
import type { SegmentInstance, Xyxy } from "../../core/canonical.js";
import type { ConvertContext, Converter } from "../../core/plugins.js";
import { asArray, asNumber, describe, fail, isRecord, round2 } from "./shared.js";
import { detectionList, labelAt, makeBox, pick, quad, scoreAt } from "./voc.js";

const isPoint = (p: unknown) => Array.isArray(p) && p.length === 2 && p.every((n) => !Array.isArray(n));

function readPolygons(v: unknown, what: string): number[][] {
  const list = asArray(v, what);
  let polys: unknown[][];
  if (list.every((x) => !Array.isArray(x))) polys = [list];
  else if (list.length >= 3 && list.every(isPoint)) polys = [list.flat()];
  else polys = list.map((p, k) => asArray(p, `${what}[${k}]`).flat());
  if (polys.length === 0) fail(`${what}: no polygons`);
  return polys.map((p, k) => {
    if (p.length < 6 || p.length % 2 !== 0) {
      fail(`${what}[${k}]: a polygon needs at least 3 [x, y] points, got ${describe(p)}`);
    }
    return p.map((n) => round2(asNumber(n, `${what}[${k}]`)));
  });
}

function extent(polys: number[][]): Xyxy {
  const xs = polys.flatMap((p) => p.filter((_, i) => i % 2 === 0));
  const ys = polys.flatMap((p) => p.filter((_, i) => i % 2 === 1));
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs), Math.max(...ys)];
}

function instance(item: unknown, i: number, ctx: ConvertContext): SegmentInstance {
  const what = `polygons[${i}]`;
  if (!isRecord(item)) fail(`${what}: expected {polygon, label, score}, got ${describe(item)}`);
  const polys = readPolygons(pick(item, ["polygon", "segmentation", "polygons"]), `${what}.polygon`);
  let xyxy: Xyxy;
  if (item.bbox !== undefined) {
    const [x, y, w, h] = quad(item.bbox, `${what}.bbox`, "[x, y, width, height]");
    xyxy = [x, y, x + w, y + h];
  } else if (item.box !== undefined) {
    xyxy = quad(item.box, `${what}.box`, "[x1, y1, x2, y2]");
  } else {
    xyxy = extent(polys);
  }
  const label = labelAt(item, ["label", "class", "category_id"], ctx, what);
  return { ...makeBox(label, scoreAt(item, ["score", "confidence"], what), xyxy), polygons: polys };
}

export const polygons: Converter = {
  name: "polygons",
  description: "[{polygon|segmentation: flat or [x, y] point lists, label, score, bbox?}] → instances",
  tasks: ["instance_segmentation"],
  convert: (raw, ctx) => ({
    kind: "segmentation",
    instances: detectionList(raw, "polygons").map((item, i) => instance(item, i, ctx)),
  }),
};
