/**
 * The labeling-tool plugin interface: how captures become labeling tasks with the model's
 * prediction as a pre-annotation, and how the tool's annotations come back as ground truth.
 * Implementations live under src/adapters/labeling (one file each, one table).
 */
import type { Prediction } from "./canonical.js";
import type { LabelingProject } from "./ports.js";
import type { Task } from "./route-config.js";

/** What a labeler sees: an image (by a URL the tool can fetch) or a text. */
export type LabelSubject =
  { kind: "image"; width: number; height: number; url: string } | { kind: "text"; text: string };

export interface LabelTask {
  captureId: string;
  instance: number;
  model: string;
  version: string;
  task: Task;
  subject: LabelSubject;
  /** The model's canonical prediction, sent as the pre-annotation; null when there is none. */
  prediction: Prediction | null;
}

/** A webhook delivery, understood. */
export type LabelingEvent =
  | {
      kind: "upsert";
      captureId: string;
      instance: number;
      sourceRef: string;
      labeledAt: Date;
      /** The tool's own result, converted by toLabel once the capture's task is known. */
      result: unknown;
    }
  | { kind: "delete"; sourceRefs: string[]; at: Date }
  | { kind: "ignored"; reason: string };

/** One current annotation as the tool holds it (for reconciling webhooks that never arrived). */
export interface AnnotationSnapshot {
  captureId: string;
  instance: number;
  sourceRef: string;
  labeledAt: Date;
  result: unknown;
  /** The labeler skipped the task: the annotation is no label. */
  cancelled: boolean;
}

/** A webhook payload or annotation the backend cannot understand (answered with 400). */
export class LabelingPayloadError extends Error {
  override name = "LabelingPayloadError";
}

/** The project a task import targeted no longer exists in the tool (deleted by someone). */
export class ProjectGoneError extends Error {
  override name = "ProjectGoneError";
}

export const taskKey = (captureId: string, instance: number) => `${captureId}#${instance}`;

export interface LabelingBackend {
  readonly name: string;
  /** The ground-truth source name its labels are stored under. */
  readonly source: string;
  /** Create the model's project (or adapt an existing one to a new label set); returns its ref. */
  ensureProject(
    model: string,
    task: Task,
    labels: readonly string[],
    existing?: LabelingProject,
  ): Promise<string>;
  /**
   * Create tasks with pre-annotations, in one batch. When mayExist is set (an earlier claim of some
   * of them crashed after creating tasks), tasks that already exist are found, not created again.
   * Returns the task ref per taskKey(captureId, instance).
   */
  createTasks(
    projectRef: string,
    tasks: readonly LabelTask[],
    mayExist: boolean,
  ): Promise<Map<string, string>>;
  /** Every current annotation in a project (only annotated tasks), for the reconciler. */
  listAnnotations(projectRef: string): Promise<AnnotationSnapshot[]>;
  /** A webhook body → event; throws LabelingPayloadError when malformed. */
  parseWebhook(body: unknown): LabelingEvent;
  /** The tool's annotation result → canonical label; throws LabelingPayloadError when malformed. */
  toLabel(
    task: Task,
    result: unknown,
    subject: { kind: "image"; width: number; height: number } | { kind: "text"; text: string },
  ): Prediction;
}
