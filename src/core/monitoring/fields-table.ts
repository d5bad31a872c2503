/**
 * The vocabulary of monitored fields: every name observeCapture (fields.ts) emits, what kind of
 * observation it is, what it is counted per, and which tasks have it. docs/monitoring.md lists the
 * same table (a unit test keeps the two in step).
 */
import type { Task } from "../canonical.js";

/** numeric: a number; categorical: a string; data: the value decides (tabular features). */
export type FieldKind = "numeric" | "categorical" | "data";
/** One observation per capture, per instance (batch element), per box or mask, or per entity. */
export type FieldPer = "capture" | "instance" | "box" | "entity";

export interface MonitoredField {
  /** The field's name; `feature.<name>` stands for each tabular feature. */
  name: string;
  kind: FieldKind;
  per: FieldPer;
  /** The tasks whose captures have it (every task for route fields). */
  tasks: readonly Task[];
  doc: string;
}

/** The prefix of tabular feature fields: `feature.<feature name>`. */
export const FEATURE_PREFIX = "feature.";

const ALL: readonly Task[] = [
  "tabular_classification",
  "tabular_regression",
  "image_classification",
  "object_detection",
  "instance_segmentation",
  "text_classification",
  "ner",
  "text_generation",
  "unknown",
];
const CLASSIFICATION: readonly Task[] = [
  "tabular_classification",
  "image_classification",
  "text_classification",
];
const TABULAR: readonly Task[] = ["tabular_classification", "tabular_regression"];
const IMAGE: readonly Task[] = ["image_classification", "object_detection", "instance_segmentation"];
const BOXES: readonly Task[] = ["object_detection", "instance_segmentation"];
const TEXT: readonly Task[] = ["text_classification", "ner"];
const LLM: readonly Task[] = ["text_generation"];

const f = (name: string, kind: FieldKind, per: FieldPer, tasks: readonly Task[], doc: string) =>
  ({ name, kind, per, tasks, doc }) satisfies MonitoredField;

/**
 * Every monitored field. `prediction.score` appears twice: per instance for classification, per
 * box for detection and segmentation (a model has one task, so the two never mix in a profile).
 */
export const MONITORED_FIELDS: readonly MonitoredField[] = [
  f(
    "route.status",
    "categorical",
    "capture",
    ALL,
    'HTTP status code as a string; "0" when there was no response',
  ),
  f("route.request_bytes", "numeric", "capture", ALL, "request body size on the wire, in bytes"),
  f("route.response_bytes", "numeric", "capture", ALL, "response body size on the wire, in bytes"),
  f("route.latency_ms", "numeric", "capture", ALL, "the exchange's duration, in milliseconds"),
  f(
    "route.truncated",
    "categorical",
    "capture",
    ALL,
    '"true" when either captured body was truncated, else "false"',
  ),
  f(
    "route.parse_error",
    "categorical",
    "capture",
    ALL,
    '"true" when the capture has a parse error, else "false"',
  ),
  f(
    "prediction.kind",
    "categorical",
    "instance",
    ALL,
    'the prediction\'s kind ("classification", "detection", ...); "none" when null, "invalid" when not a known kind',
  ),
  f(
    `${FEATURE_PREFIX}<name>`,
    "data",
    "instance",
    TABULAR,
    "each tabular feature, numeric or categorical as the data is",
  ),
  f("prediction.label", "categorical", "instance", CLASSIFICATION, "the predicted class"),
  f(
    "prediction.score",
    "numeric",
    "instance",
    CLASSIFICATION,
    "the predicted class's score (missing when null)",
  ),
  f("prediction.value", "numeric", "instance", ["tabular_regression"], "the regression value"),
  f("input.image.width", "numeric", "instance", IMAGE, "the original image's width, in pixels"),
  f("input.image.height", "numeric", "instance", IMAGE, "the original image's height, in pixels"),
  f("input.image.format", "categorical", "instance", IMAGE, 'the image format ("jpg", "png", ...)'),
  f("prediction.instances", "numeric", "instance", BOXES, "boxes or masks predicted per image"),
  f("prediction.class", "categorical", "box", BOXES, "each box's class"),
  f("prediction.score", "numeric", "box", BOXES, "each box's score (missing when null)"),
  f(
    "prediction.box_area",
    "numeric",
    "box",
    BOXES,
    "each box's area in pixels, from xyxy, sides clamped at 0",
  ),
  f(
    "prediction.box_aspect",
    "numeric",
    "box",
    BOXES,
    "each box's width / height (missing when the height is 0)",
  ),
  f(
    "prediction.mask_area",
    "numeric",
    "box",
    ["instance_segmentation"],
    "each mask's area in pixels: the RLE's foreground runs, else the polygons' shoelace areas summed; missing when neither",
  ),
  f(
    "input.text_length",
    "numeric",
    "instance",
    TEXT,
    "the input text's length in UTF-16 code units (`text_chars` for a text the worker cut)",
  ),
  f("prediction.entities", "numeric", "instance", ["ner"], "entities found per text"),
  f("prediction.entity_type", "categorical", "entity", ["ner"], "each entity's type"),
  f("llm.prompt_tokens", "numeric", "instance", LLM, "usage.prompt_tokens (missing when null)"),
  f("llm.completion_tokens", "numeric", "instance", LLM, "usage.completion_tokens (missing when null)"),
  f("llm.ttft_ms", "numeric", "instance", LLM, "time to first token, streamed responses only (else missing)"),
  f("llm.total_ms", "numeric", "instance", LLM, "total generation time (missing when null)"),
  f("llm.finish_reason", "categorical", "instance", LLM, "the finish reason (missing when null)"),
  f(
    "llm.refusal",
    "categorical",
    "instance",
    LLM,
    '"true" when the completion matches a refusal pattern, else "false"',
  ),
  f("llm.completion_chars", "numeric", "instance", LLM, "the completion's length in UTF-16 code units"),
];
