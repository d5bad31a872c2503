/**
 * What is monitored: one stored capture turned into named field observations (the vocabulary is
 * MONITORED_FIELDS, fields-table.ts; docs/monitoring.md "What is monitored").
 *
 * It reads the analysis as the worker stored it, which is parsed JSON from a row: every value is
 * checked before use, and an odd one (a string where a number belongs, a box that is not four
 * numbers) becomes a missing observation, never an exception, so a profile can never fail the
 * worker's batch.
 */
import type { CaptureRow, BodyRow } from "../ports.js";
import { FEATURE_PREFIX } from "./fields-table.js";

export {
  FEATURE_PREFIX,
  MONITORED_FIELDS,
  type FieldKind,
  type FieldPer,
  type MonitoredField,
} from "./fields-table.js";

/** Where observations go: the profile builder implements it. */
export interface FieldSink {
  /** A value of a field whose type the data decides (tabular features): finite numbers are numeric, strings and booleans categories, null/undefined missing, anything else a type mismatch. */
  value(field: string, value: unknown): void;
  /** A numeric observation (null/undefined: missing). observeCapture only passes finite numbers or null. */
  numeric(field: string, value: number | null | undefined): void;
  /** A categorical observation (strings; null/undefined: missing). */
  category(field: string, value: string | null | undefined): void;
}

export interface ObserveOptions {
  /** LLM refusal detection: a completion matching any of these is a refusal (case-insensitive patterns, compiled once by the caller). */
  refusalPatterns: readonly RegExp[];
}

export { DEFAULT_REFUSAL_PATTERNS } from "../monitor-settings.js";

/** Per-box and per-entity observations per capture, all instances together; the rest are not observed one by one. */
export const MAX_ITEM_OBSERVATIONS = 10_000;
/** Feature names longer than this (or empty) are skipped. */
export const MAX_FEATURE_NAME_CHARS = 200;
/** Refusal patterns are tried on the completion's first characters only: refusals open the answer, and it bounds the cost of a pattern on a long completion. */
export const REFUSAL_SCAN_CHARS = 2_000;

/** The stored capture fields monitoring reads. */
export type ProfiledCapture = Pick<CaptureRow, "statusCode" | "durationMs" | "parseError" | "analysis"> & {
  request: Pick<BodyRow, "wireSizeBytes" | "truncated">;
  response: Pick<BodyRow, "wireSizeBytes" | "truncated">;
};

type Json = Record<string, unknown>;

const KINDS = new Set([
  "classification",
  "regression",
  "detection",
  "segmentation",
  "entities",
  "generation",
]);

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
function num(v: unknown): number | null {
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}
function str(v: unknown): string | null {
  return typeof v === "string" ? v : null;
}
const flag = (b: boolean): string => (b ? "true" : "false");

/** Observations of one capture: route fields, then each instance's input and prediction. */
export function observeCapture(c: ProfiledCapture, sink: FieldSink, opts: ObserveOptions): void {
  const status = num(c.statusCode);
  sink.category("route.status", String(status !== null && Number.isInteger(status) ? status : 0));
  sink.numeric("route.request_bytes", num(c.request?.wireSizeBytes));
  sink.numeric("route.response_bytes", num(c.response?.wireSizeBytes));
  sink.numeric("route.latency_ms", num(c.durationMs));
  sink.category("route.truncated", flag(c.request?.truncated === true || c.response?.truncated === true));
  sink.category("route.parse_error", flag(typeof c.parseError === "string" && c.parseError !== ""));
  const analysis: unknown = c.analysis;
  if (!isObject(analysis) || !Array.isArray(analysis.instances)) return;
  const budget = { items: MAX_ITEM_OBSERVATIONS };
  for (const inst of analysis.instances as unknown[]) {
    if (!isObject(inst)) continue;
    if (isObject(inst.input)) observeInput(inst.input, sink);
    observePrediction(inst.prediction, sink, opts, budget);
  }
}

function observeInput(input: Json, sink: FieldSink): void {
  if (isObject(input.features)) {
    for (const [name, value] of Object.entries(input.features)) {
      if (name.length === 0 || name.length > MAX_FEATURE_NAME_CHARS) continue;
      sink.value(FEATURE_PREFIX + name, value);
    }
  }
  if (isObject(input.image)) {
    sink.numeric("input.image.width", num(input.image.width));
    sink.numeric("input.image.height", num(input.image.height));
    sink.category("input.image.format", str(input.image.format));
  }
  if (input.text !== undefined) {
    // The worker cuts long texts to a prefix and keeps their full length (String.length) in text_chars.
    const text = str(input.text);
    sink.numeric("input.text_length", num(input.text_chars) ?? (text === null ? null : text.length));
  }
}

function observePrediction(
  p: unknown,
  sink: FieldSink,
  opts: ObserveOptions,
  budget: { items: number },
): void {
  if (p === null || p === undefined) {
    sink.category("prediction.kind", "none");
    return;
  }
  const kind = isObject(p) ? str(p.kind) : null;
  if (!isObject(p) || kind === null || !KINDS.has(kind)) {
    sink.category("prediction.kind", "invalid");
    return;
  }
  sink.category("prediction.kind", kind);
  switch (kind) {
    case "classification":
      sink.category("prediction.label", str(p.label));
      sink.numeric("prediction.score", num(p.score));
      return;
    case "regression":
      sink.numeric("prediction.value", num(p.value));
      return;
    case "detection":
    case "segmentation":
      observeBoxes(kind === "detection" ? p.boxes : p.instances, kind === "segmentation", sink, budget);
      return;
    case "entities":
      observeEntities(p.entities, sink, budget);
      return;
    case "generation":
      observeGeneration(p, sink, opts);
  }
}

function observeBoxes(boxes: unknown, masks: boolean, sink: FieldSink, budget: { items: number }): void {
  if (!Array.isArray(boxes)) {
    sink.numeric("prediction.instances", null);
    return;
  }
  sink.numeric("prediction.instances", boxes.length);
  for (const box of boxes as unknown[]) {
    if (budget.items <= 0) return;
    budget.items -= 1;
    const b = isObject(box) ? box : {};
    sink.category("prediction.class", str(b.label));
    sink.numeric("prediction.score", num(b.score));
    const [w, h] = sides(b.xyxy);
    sink.numeric("prediction.box_area", w === null || h === null ? null : num(w * h));
    // A zero height makes w / h infinite or NaN, which num() turns into a missing aspect.
    sink.numeric("prediction.box_aspect", w === null || h === null ? null : num(w / h));
    if (masks) sink.numeric("prediction.mask_area", maskArea(b));
  }
}

/** A box's width and height from [x1, y1, x2, y2], clamped at 0; nulls unless four finite numbers. */
function sides(xyxy: unknown): [number | null, number | null] {
  if (!Array.isArray(xyxy) || xyxy.length !== 4) return [null, null];
  const [x1, y1, x2, y2] = (xyxy as unknown[]).map(num);
  if (x1 == null || y1 == null || x2 == null || y2 == null) return [null, null];
  return [Math.max(0, x2 - x1), Math.max(0, y2 - y1)];
}

/** Foreground pixels: the RLE's odd-indexed runs (COCO: runs alternate, zeros first), else the polygons' areas. */
function maskArea(seg: Json): number | null {
  if (isObject(seg.rle) && Array.isArray(seg.rle.counts)) {
    let area = 0;
    const counts = seg.rle.counts as unknown[];
    for (let i = 0; i < counts.length; i++) {
      const run = num(counts[i]);
      if (run === null || run < 0) return null;
      if (i % 2 === 1) area += run;
    }
    return num(area);
  }
  if (!Array.isArray(seg.polygons)) return null;
  let area = 0;
  for (const ring of seg.polygons as unknown[]) {
    const a = Array.isArray(ring) ? shoelace(ring as unknown[]) : null;
    if (a === null) return null;
    area += a;
  }
  return num(area);
}

/** The area of one flat [x1, y1, x2, y2, ...] ring (|shoelace|); null on a non-number coordinate. */
function shoelace(ring: readonly unknown[]): number | null {
  const n = Math.floor(ring.length / 2);
  let twice = 0;
  for (let i = 0; i < n; i++) {
    const j = (i + 1) % n;
    const xi = num(ring[2 * i]);
    const yi = num(ring[2 * i + 1]);
    const xj = num(ring[2 * j]);
    const yj = num(ring[2 * j + 1]);
    if (xi === null || yi === null || xj === null || yj === null) return null;
    twice += xi * yj - xj * yi;
  }
  return num(Math.abs(twice) / 2);
}

function observeEntities(entities: unknown, sink: FieldSink, budget: { items: number }): void {
  if (!Array.isArray(entities)) {
    sink.numeric("prediction.entities", null);
    return;
  }
  sink.numeric("prediction.entities", entities.length);
  for (const e of entities as unknown[]) {
    if (budget.items <= 0) return;
    budget.items -= 1;
    sink.category("prediction.entity_type", isObject(e) ? str(e.label) : null);
  }
}

function observeGeneration(p: Json, sink: FieldSink, opts: ObserveOptions): void {
  const usage = isObject(p.usage) ? p.usage : {};
  sink.numeric("llm.prompt_tokens", num(usage.prompt_tokens));
  sink.numeric("llm.completion_tokens", num(usage.completion_tokens));
  sink.numeric("llm.ttft_ms", num(p.ttft_ms));
  sink.numeric("llm.total_ms", num(p.total_ms));
  sink.category("llm.finish_reason", str(p.finish_reason));
  const content = isObject(p.message) ? str(p.message.content) : null;
  if (content === null) {
    sink.category("llm.refusal", null);
    sink.numeric("llm.completion_chars", null);
    return;
  }
  const head = content.slice(0, REFUSAL_SCAN_CHARS);
  sink.category("llm.refusal", flag(opts.refusalPatterns.some((re) => matches(re, head))));
  sink.numeric("llm.completion_chars", content.length);
}

/** A global or sticky pattern keeps lastIndex between calls; reset it so every completion is tested whole. */
function matches(re: RegExp, text: string): boolean {
  re.lastIndex = 0;
  return re.test(text);
}
