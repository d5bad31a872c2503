/**
 * Pascal VOC style absolute corner boxes: [{bbox|box: [x1, y1, x2, y2], label|class|category_id,
 * score|confidence}] or rows [x1, y1, x2, y2, score, class]. Also holds the small box helpers the
 * other detection converters share.
 */
import type { Box, Xyxy } from "../../core/canonical.js";
import type { ConvertContext, Converter } from "../../core/plugins.js";
import { asArray, asNumber, describe, fail, isRecord, labelOf, optionalNumber, round2 } from "./shared.js";

/** The value of the first of keys present in o. */
export function pick(o: Record<string, unknown>, keys: readonly string[]): unknown {
  const key = keys.find((k) => o[k] !== undefined && o[k] !== null);
  return key === undefined ? undefined : o[key];
}

/** The detections list itself, or the one list inside a wrapper object ({detections: [...]}). */
export function detectionList(raw: unknown, who: string): unknown[] {
  const values = isRecord(raw) ? Object.values(raw) : [];
  if (values.length === 1 && Array.isArray(values[0])) return values[0];
  if (!Array.isArray(raw)) fail(`${who}: expected a list of detections, got ${describe(raw)}`);
  return raw;
}

export function quad(v: unknown, what: string, shape: string): [number, number, number, number] {
  const a = asArray(v, what);
  if (a.length !== 4) fail(`${what}: expected ${shape}, got ${describe(v)}`);
  return [asNumber(a[0], what), asNumber(a[1], what), asNumber(a[2], what), asNumber(a[3], what)];
}

export function labelAt(
  o: Record<string, unknown>,
  keys: readonly string[],
  ctx: ConvertContext,
  what: string,
) {
  const v = pick(o, keys);
  if (v === undefined) fail(`${what}: no label (expected one of ${keys.join(", ")})`);
  return labelOf(v, ctx);
}

export function scoreAt(o: Record<string, unknown>, keys: readonly string[], what: string): number | null {
  return optionalNumber(pick(o, keys), `${what}.score`);
}

export function makeBox(label: string, score: number | null, xyxy: Xyxy): Box {
  return { label, score, xyxy: [round2(xyxy[0]), round2(xyxy[1]), round2(xyxy[2]), round2(xyxy[3])] };
}

function vocBox(item: unknown, i: number, ctx: ConvertContext): Box {
  const what = `voc[${i}]`;
  if (Array.isArray(item)) {
    if (item.length !== 6)
      fail(`${what}: expected a row [x1, y1, x2, y2, score, class], got ${describe(item)}`);
    const xyxy = quad(item.slice(0, 4), what, "[x1, y1, x2, y2]");
    return makeBox(labelOf(item[5], ctx), asNumber(item[4], `${what}.score`), xyxy);
  }
  if (!isRecord(item)) fail(`${what}: expected an object or a row, got ${describe(item)}`);
  const xyxy = quad(pick(item, ["bbox", "box"]), `${what}.bbox`, "[x1, y1, x2, y2]");
  const label = labelAt(item, ["label", "class", "category_id"], ctx, what);
  return makeBox(label, scoreAt(item, ["score", "confidence"], what), xyxy);
}

export const vocBoxes: Converter = {
  name: "voc",
  description: "[{bbox|box: [x1, y1, x2, y2], label, score}] or rows [x1, y1, x2, y2, score, class]",
  tasks: ["object_detection"],
  convert: (raw, ctx) => ({
    kind: "detection",
    boxes: detectionList(raw, "voc").map((item, i) => vocBox(item, i, ctx)),
  }),
};
