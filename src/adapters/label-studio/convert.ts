/**
 * Converts between canonical predictions and Label Studio (1.23, open source) JSON: the labeling
 * config a project is created with, pre-annotation results built from a model's prediction, and
 * the results a labeler submits, read back into the canonical schema. Pure: no I/O.
 *
 * Geometry in Label Studio is in percent of the original image; canonical geometry is in absolute
 * pixels of the original image, so every conversion needs the image size (the subject). Brush
 * masks travel in Label Studio's own RLE, which brush-rle.ts encodes and decodes.
 */
import type { Box, Entity, Prediction, Rle, SegmentInstance, Xyxy } from "../../core/canonical.js";
import { errorMessage } from "../../core/errors.js";
import { decodeRle, encodeRle, maskBox, polygonsBox } from "../../core/rle.js";
import { codePoints } from "../../core/text-span.js";
import type { Task } from "../../core/canonical.js";
import { lsRleToMask, maskToLsRle } from "./brush-rle.js";
import { checkSize, describe, LabelingFormatError } from "./errors.js";

export { LabelingFormatError } from "./errors.js";

type LabelableTask = Extract<
  Task,
  "image_classification" | "object_detection" | "instance_segmentation" | "text_classification" | "ner"
>;

/** A control tag of our labeling configs: its name (a result's from_name) and its result type. */
interface Control {
  readonly name: string;
  readonly tag: string;
  readonly type: string;
  readonly attrs?: string;
  readonly item: "Label" | "Choice";
}

interface Layout {
  readonly subject: "image" | "text";
  readonly prediction: Prediction["kind"];
  readonly controls: readonly Control[];
}

/**
 * Control names are unique within a config, so instance segmentation, which offers both polygons
 * and brush masks, cannot name both controls "label": they are "polygon" and "brush".
 */
const LAYOUTS: Readonly<Record<LabelableTask, Layout>> = {
  image_classification: {
    subject: "image",
    prediction: "classification",
    controls: [{ name: "label", tag: "Choices", type: "choices", attrs: ' choice="single"', item: "Choice" }],
  },
  object_detection: {
    subject: "image",
    prediction: "detection",
    controls: [{ name: "label", tag: "RectangleLabels", type: "rectanglelabels", item: "Label" }],
  },
  instance_segmentation: {
    subject: "image",
    prediction: "segmentation",
    controls: [
      { name: "polygon", tag: "PolygonLabels", type: "polygonlabels", item: "Label" },
      { name: "brush", tag: "BrushLabels", type: "brushlabels", item: "Label" },
    ],
  },
  text_classification: {
    subject: "text",
    prediction: "classification",
    controls: [{ name: "label", tag: "Choices", type: "choices", attrs: ' choice="single"', item: "Choice" }],
  },
  ner: {
    subject: "text",
    prediction: "entities",
    controls: [{ name: "label", tag: "Labels", type: "labels", item: "Label" }],
  },
};

/** Tasks Label Studio can label: the unstructured ones. */
export const LABELABLE_TASKS: ReadonlySet<Task> = new Set(Object.keys(LAYOUTS) as LabelableTask[]);

function layoutOf(task: Task): Layout {
  if (!LABELABLE_TASKS.has(task)) {
    throw new LabelingFormatError(
      `task ${JSON.stringify(task)} cannot be labeled in Label Studio (labelable tasks: ${[...LABELABLE_TASKS].join(", ")})`,
    );
  }
  return LAYOUTS[task as LabelableTask];
}

const XML_ENTITIES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&apos;",
};

function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => XML_ENTITIES[c]!);
}

/**
 * The Label Studio labeling config XML for a task and label set. Every task has one control named
 * "label", except instance segmentation, which has "polygon" (PolygonLabels) and "brush"
 * (BrushLabels). The object tag is "image" (value "$image") or "text" (value "$text").
 */
export function labelConfig(task: Task, labels: readonly string[]): string {
  const layout = layoutOf(task);
  if (labels.length === 0) throw new LabelingFormatError(`task ${task}: the label set is empty`);
  const seen = new Set<string>();
  for (const label of labels) {
    if (typeof label !== "string" || label === "") {
      throw new LabelingFormatError(`task ${task}: labels must be non-empty strings, got ${describe(label)}`);
    }
    if (seen.has(label)) {
      throw new LabelingFormatError(`task ${task}: label ${JSON.stringify(label)} repeats`);
    }
    seen.add(label);
  }
  const object = layout.subject === "image" ? "Image" : "Text";
  const lines = ["<View>", `  <${object} name="${layout.subject}" value="$${layout.subject}"/>`];
  for (const c of layout.controls) {
    lines.push(`  <${c.tag} name="${c.name}" toName="${layout.subject}"${c.attrs ?? ""}>`);
    for (const label of labels) lines.push(`    <${c.item} value="${escapeXml(label)}"/>`);
    lines.push(`  </${c.tag}>`);
  }
  lines.push("</View>");
  return lines.join("\n") + "\n";
}

export interface LsResultItem {
  id?: string;
  from_name: string;
  to_name: string;
  type: string;
  value: Record<string, unknown>;
  original_width?: number;
  original_height?: number;
  image_rotation?: number;
  score?: number;
}

/** What the labeling task shows: image size (original pixels) for image tasks, the text for text tasks. */
export type LsSubject = { kind: "image"; width: number; height: number } | { kind: "text"; text: string };

function checkSubject(task: Task, layout: Layout, subject: LsSubject): void {
  if (subject.kind !== layout.subject) {
    throw new LabelingFormatError(`task ${task} needs a ${layout.subject} subject, got ${subject.kind}`);
  }
  if (subject.kind === "image") checkSize(subject.width, subject.height);
}

type ImageSubject = Extract<LsSubject, { kind: "image" }>;

/**
 * Canonical prediction → Label Studio result items (pre-annotations), ids "p0", "p1", ….
 * A segmentation instance becomes one polygon item per polygon of at least three points; failing
 * those, a brush item from its mask; failing that, its box as a four-point polygon.
 */
export function toLsResult(task: Task, prediction: Prediction, subject: LsSubject): LsResultItem[] {
  const layout = layoutOf(task);
  checkSubject(task, layout, subject);
  if (prediction.kind !== layout.prediction) {
    throw new LabelingFormatError(
      `task ${task} expects a ${layout.prediction} prediction, got ${prediction.kind}`,
    );
  }
  const items: Omit<LsResultItem, "id">[] = [];
  const to = layout.subject;
  if (prediction.kind === "classification") {
    const value = { choices: [prediction.label] };
    items.push(withScore({ from_name: "label", to_name: to, type: "choices", value }, prediction.score));
  } else if (prediction.kind === "entities") {
    for (const e of prediction.entities) {
      const value = { start: e.start, end: e.end, text: e.text, labels: [e.label] };
      items.push(withScore({ from_name: "label", to_name: to, type: "labels", value }, e.score));
    }
  } else if (prediction.kind === "detection" && subject.kind === "image") {
    for (const box of prediction.boxes) items.push(rectangleItem(box, subject));
  } else if (prediction.kind === "segmentation" && subject.kind === "image") {
    prediction.instances.forEach((inst, i) => items.push(...instanceItems(inst, i, subject)));
  }
  return items.map((item, i) => ({ id: `p${i}`, ...item }));
}

function withScore<T extends Omit<LsResultItem, "id">>(item: T, score: number | null): T {
  return score === null ? item : { ...item, score };
}

function imageItem(subject: ImageSubject, fromName: string, type: string, value: Record<string, unknown>) {
  return {
    from_name: fromName,
    to_name: "image",
    type,
    original_width: subject.width,
    original_height: subject.height,
    image_rotation: 0,
    value,
  };
}

function rectangleItem(box: Box, subject: ImageSubject): Omit<LsResultItem, "id"> {
  const [a, b, c, d] = box.xyxy;
  const { width: w, height: h } = subject;
  const value = {
    x: (Math.min(a, c) / w) * 100,
    y: (Math.min(b, d) / h) * 100,
    width: (Math.abs(c - a) / w) * 100,
    height: (Math.abs(d - b) / h) * 100,
    rotation: 0,
    rectanglelabels: [box.label],
  };
  return withScore(imageItem(subject, "label", "rectanglelabels", value), box.score);
}

function instanceItems(
  inst: SegmentInstance,
  index: number,
  subject: ImageSubject,
): Omit<LsResultItem, "id">[] {
  const { width: w, height: h } = subject;
  const polygonItem = (flat: readonly number[]) => {
    const points: [number, number][] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      points.push([(flat[i]! / w) * 100, (flat[i + 1]! / h) * 100]);
    }
    const value = { points, closed: true, polygonlabels: [inst.label] };
    return withScore(imageItem(subject, "polygon", "polygonlabels", value), inst.score);
  };
  for (const [p, flat] of (inst.polygons ?? []).entries()) {
    if (flat.length % 2 !== 0) {
      throw new LabelingFormatError(
        `instance ${index} polygon ${p}: odd number of coordinates (${flat.length})`,
      );
    }
  }
  const polygons = (inst.polygons ?? []).filter((flat) => flat.length >= 6);
  if (polygons.length > 0) return polygons.map(polygonItem);
  if (inst.rle) {
    const [rh, rw] = inst.rle.size;
    if (rh !== h || rw !== w) {
      throw new LabelingFormatError(`instance ${index}: mask is ${rw}×${rh}, the image ${w}×${h}`);
    }
    let mask: Uint8Array;
    try {
      mask = decodeRle(inst.rle);
    } catch (err) {
      throw new LabelingFormatError(`instance ${index}: ${errorMessage(err)}`, { cause: err });
    }
    const value = { format: "rle", rle: maskToLsRle(mask, w, h), brushlabels: [inst.label] };
    return [withScore(imageItem(subject, "brush", "brushlabels", value), inst.score)];
  }
  const [x1, y1, x2, y2] = inst.xyxy;
  return [polygonItem([x1, y1, x2, y1, x2, y2, x1, y2])];
}

/**
 * Label Studio result (annotation or prediction, unknown JSON) → canonical prediction. Items of
 * a type none of our controls produce and with a from_name that is not ours (relations, extra
 * controls a user added) are skipped; any other item must be well formed. Boxes, polygons and
 * spans come back with score null; a rotated rectangle comes back as the extent of its corners.
 */
export function fromLsResult(task: Task, result: unknown, subject: LsSubject): Prediction {
  const layout = layoutOf(task);
  checkSubject(task, layout, subject);
  if (!Array.isArray(result)) {
    throw new LabelingFormatError(`result: must be an array, got ${describe(result)}`);
  }
  const parsed: Parsed[] = [];
  result.forEach((raw: unknown, i) => {
    const item = parseItem(layout, task, raw, `result[${i}]`, subject);
    if (item) parsed.push(item);
  });
  switch (layout.prediction) {
    case "classification": {
      if (parsed.length !== 1) {
        throw new LabelingFormatError(
          `result: classification needs exactly one choice, got ${parsed.length}`,
        );
      }
      return { kind: "classification", label: parsed[0]!.label, score: null };
    }
    case "detection":
      return {
        kind: "detection",
        boxes: parsed.map((p) => ({ label: p.label, score: null, xyxy: p.xyxy! })),
      };
    case "segmentation":
      return { kind: "segmentation", instances: parsed.map(toInstance) };
    default:
      return { kind: "entities", entities: parsed.map((p) => p.entity!) };
  }
}

/** One understood result item; which optional fields are set depends on its type. */
interface Parsed {
  label: string;
  xyxy?: Xyxy;
  polygon?: number[];
  rle?: Rle;
  entity?: Entity;
}

function toInstance(p: Parsed): SegmentInstance {
  const inst: SegmentInstance = { label: p.label, score: null, xyxy: p.xyxy! };
  if (p.polygon) inst.polygons = [p.polygon];
  if (p.rle) inst.rle = p.rle;
  return inst;
}

function parseItem(
  layout: Layout,
  task: Task,
  raw: unknown,
  at: string,
  subject: LsSubject,
): Parsed | undefined {
  if (!isRecord(raw)) throw new LabelingFormatError(`${at}: must be an object, got ${describe(raw)}`);
  const control = layout.controls.find((c) => c.name === raw.from_name);
  if (!control) {
    if (!layout.controls.some((c) => c.type === raw.type)) return undefined;
    const names = layout.controls.map((c) => JSON.stringify(c.name)).join(" or ");
    throw new LabelingFormatError(
      `${at}.from_name: ${describe(raw.from_name)} is not a control of the ${task} labeling config (expected ${names})`,
    );
  }
  if (raw.type !== control.type) {
    throw new LabelingFormatError(
      `${at}.type: control ${JSON.stringify(control.name)} produces ${JSON.stringify(control.type)}, got ${describe(raw.type)}`,
    );
  }
  const value = raw.value;
  if (!isRecord(value)) {
    throw new LabelingFormatError(`${at}.value: must be an object, got ${describe(value)}`);
  }
  if (raw.image_rotation !== undefined && raw.image_rotation !== 0) {
    throw new LabelingFormatError(
      `${at}.image_rotation: rotated images are not supported, got ${describe(raw.image_rotation)}`,
    );
  }
  const v = `${at}.value`;
  const label = oneLabel(value, control.type, v);
  if (control.type === "choices") return { label };
  if (subject.kind === "text") return { label, entity: span(value, v, label, subject.text) };
  const geometry = imageGeometry(control.type, value, v, subject);
  return geometry && { label, ...geometry };
}

function span(value: Record<string, unknown>, at: string, label: string, text: string): Entity {
  const start = integer(value.start, `${at}.start`);
  const end = integer(value.end, `${at}.end`);
  if (start < 0 || end <= start || end > codePoints(text).length) {
    throw new LabelingFormatError(
      `${at}: span [${start}, ${end}) is not inside the ${codePoints(text).length}-character text`,
    );
  }
  return { start, end, label, score: null, text: codePoints(text).slice(start, end) };
}

/** The geometry of a rectangle, polygon or brush item; undefined for an empty brush mask. */
function imageGeometry(
  type: string,
  value: Record<string, unknown>,
  at: string,
  { width: w, height: h }: ImageSubject,
): Omit<Parsed, "label"> | undefined {
  if (type === "rectanglelabels") return { xyxy: rectangleExtent(value, at, w, h) };
  if (type === "polygonlabels") {
    const points = value.points;
    if (!Array.isArray(points) || points.length < 3) {
      throw new LabelingFormatError(
        `${at}.points: must be an array of at least 3 [x, y] points, got ${describe(points)}`,
      );
    }
    const flat = points.flatMap((pt: unknown, j) => {
      if (!Array.isArray(pt) || pt.length !== 2) {
        throw new LabelingFormatError(`${at}.points[${j}]: must be an [x, y] pair, got ${describe(pt)}`);
      }
      return [
        (finite(pt[0], `${at}.points[${j}][0]`) * w) / 100,
        (finite(pt[1], `${at}.points[${j}][1]`) * h) / 100,
      ];
    });
    return { polygon: flat, xyxy: polygonsBox([flat]) };
  }
  if (value.format !== "rle") {
    throw new LabelingFormatError(
      `${at}.format: only "rle" brush masks are supported, got ${describe(value.format)}`,
    );
  }
  if (!Array.isArray(value.rle)) {
    throw new LabelingFormatError(`${at}.rle: must be an array of bytes, got ${describe(value.rle)}`);
  }
  let mask: Uint8Array;
  try {
    mask = lsRleToMask(value.rle as number[], w, h);
  } catch (err) {
    throw new LabelingFormatError(`${at}.rle: ${errorMessage(err)}`, { cause: err });
  }
  const box = maskBox(mask, h, w);
  // An erased brush region has no pixels left: nothing was marked, so there is no instance.
  return box ? { rle: encodeRle(mask, h, w), xyxy: box } : undefined;
}

/** Label Studio rotates a rectangle about its top-left corner, clockwise, in pixel space. */
function rectangleExtent(value: Record<string, unknown>, at: string, w: number, h: number): Xyxy {
  const x = (finite(value.x, `${at}.x`) * w) / 100;
  const y = (finite(value.y, `${at}.y`) * h) / 100;
  const bw = (finite(value.width, `${at}.width`) * w) / 100;
  const bh = (finite(value.height, `${at}.height`) * h) / 100;
  const rotation = value.rotation === undefined ? 0 : finite(value.rotation, `${at}.rotation`);
  if (rotation % 360 === 0) {
    return [Math.min(x, x + bw), Math.min(y, y + bh), Math.max(x, x + bw), Math.max(y, y + bh)];
  }
  const cos = Math.cos((rotation * Math.PI) / 180);
  const sin = Math.sin((rotation * Math.PI) / 180);
  return polygonsBox([
    [
      x,
      y,
      x + bw * cos,
      y + bw * sin,
      x + bw * cos - bh * sin,
      y + bw * sin + bh * cos,
      x - bh * sin,
      y + bh * cos,
    ],
  ]);
}

function oneLabel(value: Record<string, unknown>, key: string, at: string): string {
  const labels = value[key];
  if (!Array.isArray(labels) || labels.length !== 1 || typeof labels[0] !== "string") {
    throw new LabelingFormatError(
      `${at}.${key}: must be an array of exactly one label string, got ${describe(labels)}`,
    );
  }
  return labels[0];
}

function finite(v: unknown, at: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new LabelingFormatError(`${at}: must be a finite number, got ${describe(v)}`);
  }
  return v;
}

function integer(v: unknown, at: string): number {
  if (!Number.isInteger(v)) throw new LabelingFormatError(`${at}: must be an integer, got ${describe(v)}`);
  return v as number;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
