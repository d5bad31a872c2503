/**
 * Where detections travel (the container), apart from how one box is written (core/box-format.ts):
 *
 *   objects   [{bbox|box: …, label|class|category_id, score|confidence, …}]
 *   rows      [[a, b, c, d, score, label]], or label first for YOLO-style rows
 *   columns   {boxes, scores, labels, masks?, num_detections?} by name: JSON dictionaries, Open
 *             Inference Protocol / KServe named tensors (flat or nested by shape), TF Object
 *             Detection and torchvision dictionaries
 *
 * and the wrappers models put around them: {detections: […]}, a batch of one ([[…]]), a list
 * holding one dictionary of columns. Every converter reads every container; the route's
 * output_names name the columns (or object keys) when the usual names do not fit.
 */
import type { ConvertContext } from "../../../../core/plugins.js";
import { asNumber, describe, fail, isRecord, pick } from "../../shared.js";

/** One detection as the container carried it, before its box is read. */
export interface RawDetection {
  /** Where it was, for messages: "[2]", "boxes[3]". */
  where: string;
  /** The box as given: four numbers, or an object with named coordinates; undefined: none. */
  box: unknown;
  /** The object key the box came from (some conventions read bbox and box differently). */
  boxKey: string | undefined;
  label: unknown;
  score: unknown;
  /** The detection's object, for segmentation fields (polygon, segmentation, mask). */
  item: Record<string, unknown> | undefined;
  /** The detection's mask from a masks column. */
  mask: unknown;
}

export interface ContainerOptions {
  /** The converter, for messages. */
  who: string;
  /** YOLO-style rows carry the label first: [label, a, b, c, d, score] (unless the route's row_layout says). */
  labelFirstRows: boolean;
  /** How a row's four box numbers read, for messages: "x1, y1, x2, y2". */
  rowBox: string;
  /** Object keys holding the box, the label and the score, most specific first. */
  boxKeys: readonly string[];
  labelKeys: readonly string[];
}

const SCORE_KEYS = ["score", "confidence", "conf", "probability"];
const BOX_COLUMNS = ["boxes", "bboxes", "detection_boxes", "pred_boxes"];
const SCORE_COLUMNS = ["scores", "detection_scores", "confidences", "confidence", "conf", "score"];
const LABEL_COLUMNS = ["labels", "classes", "detection_classes", "class_ids", "category_ids", "label_ids"];
const MASK_COLUMNS = ["masks", "detection_masks"];
const COUNT_COLUMNS = ["num_detections"];

/** Detections kept per instance; a model answering more is cut short, with a note. */
export const MAX_DETECTIONS = 10_000;

/** The first few keys of an object, for a message (a model can send thousands). */
export function someKeys(o: Record<string, unknown>, max = 10): string {
  const keys = Object.keys(o);
  return keys.length > max
    ? `${keys.slice(0, max).join(", ")}, … (${keys.length} in all)`
    : keys.join(", ") || "no keys";
}

/** Wrappers are peeled at most this deep: a model output is never nested further. */
const MAX_WRAPPERS = 4;

/** A tensor has at most this many dimensions; deeper nesting is not a tensor (and would cost stack). */
const MAX_TENSOR_DIMS = 8;

/** A tensor's values, whatever nesting its shape gave them (up to MAX_TENSOR_DIMS). */
function flat(v: unknown, who: string, name: string): unknown[] {
  if (!Array.isArray(v)) return [v];
  const values = v.flat(MAX_TENSOR_DIMS - 1);
  if (values.some(Array.isArray)) fail(`${who}: ${name} is nested deeper than ${MAX_TENSOR_DIMS} dimensions`);
  return values;
}

/** The name of the column for `role`: the route's output_names, else the first usual name present. */
function columnName(
  raw: Record<string, unknown>,
  ctx: ConvertContext,
  role: string,
  usual: readonly string[],
): string | undefined {
  const named = ctx.outputNames[role];
  if (named !== undefined) return named;
  return usual.find((k) => raw[k] !== undefined && raw[k] !== null);
}

/**
 * Columns, not one detection: a box column holding several boxes. Inside a list (torchvision's
 * [{boxes, labels, scores}]) it must also look like columns: nested boxes, or a list of labels.
 */
function isColumns(raw: Record<string, unknown>, ctx: ConvertContext, inList: boolean): boolean {
  const name = columnName(raw, ctx, "boxes", BOX_COLUMNS);
  if (name === undefined) return false;
  const v = raw[name];
  if (!(name in raw)) return false;
  if (!Array.isArray(v)) return false;
  if (!inList) return true;
  const labels = columnName(raw, ctx, "labels", LABEL_COLUMNS);
  return Array.isArray(v[0]) || (labels !== undefined && Array.isArray(raw[labels]));
}

function fromColumns(raw: Record<string, unknown>, ctx: ConvertContext, o: ContainerOptions): RawDetection[] {
  const boxName = columnName(raw, ctx, "boxes", BOX_COLUMNS)!;
  if (!(boxName in raw)) {
    fail(`${o.who}: no output "${boxName}" for boxes (outputs: ${someKeys(raw)}); set output_names.boxes`);
  }
  const coords = flat(raw[boxName], o.who, boxName).map((v, i) => asNumber(v, `${o.who}: ${boxName}[${i}]`));
  if (coords.length % 4 !== 0) fail(`${o.who}: ${coords.length} box values is not a multiple of 4`);
  if (coords.length === 0) return [];
  const column = (role: string, usual: readonly string[], required: boolean) => {
    const name = columnName(raw, ctx, role, usual);
    if (name === undefined || !(name in raw)) {
      // A column the route named must be there; an optional one the model left out is fine.
      if (!required && ctx.outputNames[role] === undefined) return undefined;
      const hint = name ?? usual[0];
      fail(`${o.who}: no output "${hint}" for ${role} (outputs: ${someKeys(raw)}); set output_names.${role}`);
    }
    const v = raw[name];
    // Masks keep their shape (one H×W, or 1×H×W, per detection); the rest are flat values.
    return { name, values: role === "masks" ? (Array.isArray(v) ? v : [v]) : flat(v, o.who, name) };
  };
  const labels = column("labels", LABEL_COLUMNS, true)!;
  let scores = column("scores", SCORE_COLUMNS, false);
  let masks = column("masks", MASK_COLUMNS, false);
  const countColumn = column("num_detections", COUNT_COLUMNS, false);
  let n = coords.length / 4;
  // TF Object Detection pads its outputs; num_detections says how many rows are real.
  if (countColumn)
    n = Math.min(n, Math.max(0, Math.floor(asNumber(countColumn.values[0], `${o.who}: num_detections`))));
  // A masks tensor that kept its batch axis of one: [1, N, H, W] (N padded past num_detections).
  const [only] = masks?.values ?? [];
  if (masks && n !== 1 && masks.values.length === 1 && Array.isArray(only) && only.length >= n) {
    masks = { name: masks.name, values: only };
  }
  // Scores are optional: a column that does not fit (per-class scores, say) is dropped with a note.
  if (scores && (countColumn ? scores.values.length < n : scores.values.length !== n)) {
    ctx.note(`${n} boxes but ${scores.values.length} ${scores.name}: scores ignored`);
    scores = undefined;
  }
  if (n > MAX_DETECTIONS) {
    ctx.note(`${n} detections: kept the first ${MAX_DETECTIONS}`);
    n = MAX_DETECTIONS;
  }
  for (const c of [labels, masks]) {
    if (c && (countColumn ? c.values.length < n : c.values.length !== n)) {
      fail(`${o.who}: ${n} boxes but ${c.values.length} ${c.name}`);
    }
  }
  return Array.from({ length: n }, (_, i) => ({
    where: `${boxName}[${i}]`,
    box: coords.slice(4 * i, 4 * i + 4),
    boxKey: undefined,
    label: labels.values[i],
    score: scores?.values[i],
    item: undefined,
    mask: masks?.values[i],
  }));
}

function fromObject(
  item: Record<string, unknown>,
  i: number,
  ctx: ConvertContext,
  o: ContainerOptions,
): RawDetection {
  const named = (role: string) => ctx.outputNames[role];
  const keyOf = (keys: readonly string[]) => keys.find((k) => item[k] !== undefined && item[k] !== null);
  const boxKey = keyOf([...(named("boxes") ? [named("boxes")!] : []), ...o.boxKeys]);
  return {
    where: `[${i}]`,
    box: boxKey === undefined ? undefined : item[boxKey],
    boxKey,
    label: pick(item, [...(named("labels") ? [named("labels")!] : []), ...o.labelKeys]),
    score: pick(item, [...(named("scores") ? [named("scores")!] : []), ...SCORE_KEYS]),
    item,
    mask: undefined,
  };
}

function fromRow(row: unknown[], i: number, o: ContainerOptions, labelFirst: boolean): RawDetection {
  const shape = labelFirst ? `[class, ${o.rowBox}, conf]` : `[${o.rowBox}, score, class]`;
  const ok = labelFirst ? row.length === 5 || row.length === 6 : row.length === 6;
  if (!ok) fail(`${o.who}[${i}]: expected a row ${shape}, got ${describe(row)}`);
  const [box, label, score] = labelFirst
    ? [row.slice(1, 5), row[0], row[5]]
    : [row.slice(0, 4), row[5], row[4]];
  return { where: `[${i}]`, box, boxKey: undefined, label, score, item: undefined, mask: undefined };
}

/** The detections in one instance's raw output, whichever container carried them. */
export function readDetections(raw: unknown, ctx: ConvertContext, o: ContainerOptions): RawDetection[] {
  let v = raw;
  for (let depth = 0; depth <= MAX_WRAPPERS; depth++) {
    if (isRecord(v)) {
      if (isColumns(v, ctx, false)) return fromColumns(v, ctx, o);
      const values = Object.values(v);
      // {detections: […]}, {predictions: {…}}, {output0: rows}: one thing inside a wrapper.
      if (values.length === 1 && (Array.isArray(values[0]) || isRecord(values[0]))) {
        v = values[0];
        continue;
      }
      fail(
        `${o.who}: expected detections: a list of objects or rows, or columns of boxes, scores and labels (got an object with ${someKeys(v)}; output_names.boxes names the box column)`,
      );
    }
    if (!Array.isArray(v)) fail(`${o.who}: expected a list of detections, got ${describe(v)}`);
    if (v.length === 0) return [];
    const [first] = v;
    if (v.length === 1 && Array.isArray(first) && first.length === 0) return []; // a batch of one, empty
    // A batch of one: [[rows…]] or [[objects…]]; a list holding one dictionary of columns.
    if (
      v.length === 1 &&
      Array.isArray(first) &&
      first.length > 0 &&
      first.every((x) => Array.isArray(x) || isRecord(x))
    ) {
      v = first;
      continue;
    }
    if (v.length === 1 && isRecord(first) && isColumns(first, ctx, true)) return fromColumns(first, ctx, o);
    if (v.length > MAX_DETECTIONS) {
      ctx.note(`${v.length} detections: kept the first ${MAX_DETECTIONS}`);
      v = v.slice(0, MAX_DETECTIONS);
    }
    const labelFirst = ctx.rowLayout ? ctx.rowLayout === "class_first" : o.labelFirstRows;
    return (v as unknown[]).map((item, i) => {
      if (isRecord(item)) return fromObject(item, i, ctx, o);
      if (Array.isArray(item)) return fromRow(item, i, o, labelFirst);
      fail(`${o.who}[${i}]: expected an object or a row, got ${describe(item)}`);
    });
  }
  fail(`${o.who}: detections nested deeper than ${MAX_WRAPPERS} wrappers`);
}
