/**
 * The canonical analysis of a capture: what the input was and what the model predicted, in one
 * schema for every server and annotation format. Documented in docs/canonical-schema.md and
 * schema/canonical-v1.schema.json (kept in step by a unit test). Versioned: fields are only added
 * within a version.
 */
export const CANONICAL_SCHEMA_VERSION = 1;

/** What a model does; chosen per route (`task` in the route metadata). */
export const TASKS = [
  "tabular_classification",
  "tabular_regression",
  "image_classification",
  "object_detection",
  "instance_segmentation",
  "text_classification",
  "ner",
  "text_generation",
  "unknown",
] as const;
export type Task = (typeof TASKS)[number];

/** Tasks whose ground truth comes from human labelers (the labeling tool); label_rate applies to these. */
export const HUMAN_LABELED_TASKS: ReadonlySet<Task> = new Set<Task>([
  "image_classification",
  "object_detection",
  "instance_segmentation",
  "text_classification",
  "ner",
]);

/** Geometry is in absolute pixels of the ORIGINAL image: [x1, y1, x2, y2]. */
export type Xyxy = [number, number, number, number];

export interface ClassScore {
  label: string;
  score: number;
}

export interface Box {
  label: string;
  score: number | null;
  xyxy: Xyxy;
}

/** COCO run-length encoding, column-major, of an h×w binary mask. counts: uncompressed numbers. */
export interface Rle {
  size: [number, number];
  counts: number[];
}

export interface SegmentInstance extends Box {
  /** Polygons as flat [x1, y1, x2, y2, ...] lists in original-image pixels. */
  polygons?: number[][];
  /** The mask in original-image resolution. */
  rle?: Rle;
}

export interface Entity {
  start: number;
  end: number;
  label: string;
  score: number | null;
  text: string;
}

export interface ChatMessage {
  role: string;
  content: string;
}

export type Prediction =
  | { kind: "classification"; label: string; score: number | null; classes?: ClassScore[] }
  | { kind: "regression"; value: number }
  | { kind: "detection"; boxes: Box[] }
  | { kind: "segmentation"; instances: SegmentInstance[] }
  | { kind: "entities"; entities: Entity[] }
  | {
      kind: "generation";
      message: ChatMessage;
      finish_reason: string | null;
      usage: { prompt_tokens: number | null; completion_tokens: number | null; total_tokens: number | null };
      streamed: boolean;
      /** From the request's start to the first content token (streamed responses only). */
      ttft_ms: number | null;
      total_ms: number | null;
    };

export interface ImageInfo {
  width: number;
  height: number;
  format: string;
  /** The stored image object (set by the worker); absent on captures stored before it did. */
  uri?: string;
}

export interface InstanceInput {
  /** Tabular features by name. */
  features?: Record<string, number | string | boolean | null>;
  text?: string;
  image?: ImageInfo;
  messages?: ChatMessage[];
}

export interface Instance {
  input: InstanceInput;
  prediction: Prediction | null;
  /** Optional parts of the model's output that were ignored, and why (absent when none were). */
  notes?: string[];
}

/** The geometry budgets a capture was analysed under (see src/core/budget.ts). */
export interface AnalysisBudget {
  image_pixels: number;
  mask_pixels: number;
  record_mask_pixels: number;
  instances: number;
}

export interface Analysis {
  schema_version: number;
  task: string;
  protocol: string;
  instances: Instance[];
  /** Budgets the capture went over ("image_pixels", "mask_pixels", ...); absent when none. */
  over_budget?: string[];
  /** On image tasks: the budgets in force, which the worker draws masks within. */
  budget?: AnalysisBudget;
}
