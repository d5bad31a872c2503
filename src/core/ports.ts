/**
 * The small interfaces the core needs from the outside world. Adapters under src/adapters
 * implement them; nothing in src/core imports an I/O library.
 */
import type { Analysis, Prediction, Task } from "./canonical.js";
import type { CaptureRecord, HeaderList } from "./record.js";

/** Publishes finished capture records (collector → JetStream). */
export interface RecordPublisher {
  publish(record: CaptureRecord): Promise<void>;
  /** Delete what a failed publish of this record may have parked (the record is dropped). */
  discard?(record: CaptureRecord): Promise<void>;
}

/**
 * One capture message as the broker delivered it (JetStream → worker), independent of the broker
 * client.
 */
export interface InboundMessage {
  readonly data: Uint8Array;
  readonly subject: string;
  /** 1 on first delivery. */
  readonly deliveryCount: number;
  ack(): Promise<void>;
  nak(delayMs: number): void;
  /** Still being worked on: the broker restarts its redelivery timer (ack_wait). */
  working(): void;
  /** Publish to the dead-letter subject with the reason, then terminate this message. */
  deadLetter(reason: string): Promise<void>;
}

/** Object storage for bodies (worker → S3). Puts are idempotent: same key, same bytes. */
export interface BlobStore {
  put(key: string, body: Uint8Array, contentType: string): Promise<void>;
  get(key: string): Promise<Uint8Array | undefined>;
  uri(key: string): string;
  /** Remove one object; a key with no object is no error (so a retried erasure is a no-op). */
  delete(key: string): Promise<void>;
  /** Up to `limit` keys under a folder prefix (one ending in "/"), in no set order. */
  list(prefix: string, limit: number): Promise<string[]>;
}

/** Bodies too large to inline in a JetStream message, parked in a JetStream object store. */
export interface LargeBodyStore {
  get(ref: string): Promise<Uint8Array | undefined>;
  delete(ref: string): Promise<void>;
}

/** How one body of a capture is stored (a column group of the capture row). */
export interface BodyRow {
  contentType: string;
  contentEncoding: string;
  sizeBytes: number;
  wireSizeBytes: number;
  truncated: boolean;
  decoded: boolean;
  decodeError: string;
  objectKey: string | null;
  objectUri: string | null;
  /** The body itself when it is small enough to live in the row (then objectKey is null). */
  inline: Uint8Array | null;
  headers: HeaderList;
}

export interface CaptureRow {
  /** The capture id (a UUIDv7 per exchange and hop; rows from before schema 2: the x-request-id). */
  id: string;
  /** The exchange's x-request-id: shared by every hop of one request. */
  requestId: string;
  sampledBy: string;
  model: string;
  version: string;
  task: string;
  route: string;
  cluster: string;
  mode: string;
  method: string;
  path: string;
  receivedAt: Date;
  durationMs: number;
  ttfbMs: number;
  /** Envoy's upstream service time; null when Envoy did not report it. */
  upstreamMs: number | null;
  statusCode: number;
  complete: boolean;
  sampleRate: number;
  request: BodyRow;
  response: BodyRow;
  protocol: string;
  parseError: string;
  /** The canonical analysis as stored (long texts and masks replaced by object URIs). */
  analysis: Analysis | null;
  /** Per-instance tabular features, for feature queries; null when there are none. */
  features: Array<Record<string, unknown> | null> | null;
  predictions: unknown[] | null;
  labelRate: number;
  labelSet: string[];
  /** Instances chosen for the labeling tool (label_rate); the worker queues them with the row. */
  labelExports: number[];
}

export interface CaptureQuery {
  model?: string;
  /** Every capture (hop) of this x-request-id. */
  requestId?: string;
  limit: number;
}

/** A partial monitoring profile to insert with captures (src/core/monitoring/store.ts PartialProfile). */
export interface PartialProfileWrite {
  model: string;
  version: string;
  minute: Date;
  captures: number;
  profile: unknown;
}

/** The capture index (worker → Postgres). insertCaptures ignores rows whose id already exists. */
export interface CaptureRepository {
  /**
   * Insert the rows that are new, and in the same transaction what `partialsFor` makes of exactly
   * those rows (the monitoring profiles): a redelivered capture adds nothing to either.
   */
  insertCaptures(
    rows: readonly CaptureRow[],
    partialsFor?: (inserted: readonly CaptureRow[]) => readonly PartialProfileWrite[],
  ): Promise<number>;
  listCaptures(q: CaptureQuery): Promise<CaptureRow[]>;
  getCapture(id: string): Promise<CaptureRow | undefined>;
}

/** The received_at before which a model's captures have aged out; null: kept forever. */
export type Cutoff = Date | null;

export interface RetentionCutoffs {
  defaultCutoff: Cutoff;
  overrides: ReadonlyArray<{ model: string; cutoff: Cutoff }>;
}

/** A capture as an erasure sees it: enough to find every object it has. */
export interface StoredCapture {
  id: string;
  model: string;
  version: string;
  receivedAt: Date;
  /** The row's request_object_key and response_object_key, where set. */
  objectKeys: readonly string[];
}

/** Which captures an erasure takes: aged out under retention cutoffs, or named ones. */
export type CaptureSelection =
  | {
      kind: "aged";
      cutoffs: RetentionCutoffs;
      model?: string;
      /** Captures this sweep could not erase: left for the next one, so they do not stop the rest. */
      exclude?: readonly string[];
    }
  | { kind: "ids"; ids: readonly string[] }
  | { kind: "request"; requestId: string };

/** What one erased batch removed from the database. */
export interface ErasedBatch {
  captures: StoredCapture[];
  groundTruth: number;
  labelExports: number;
}

/** Deleting captures and what hangs off them (Postgres), for retention and erasure on request. */
export interface RetentionRepository {
  /**
   * Lock up to `limit` selected captures (aged ones: skipping rows another sweep holds), run
   * eraseObjects on them, then delete their rows, ground truth and label-export state in the same
   * transaction. If eraseObjects throws, nothing in the database is deleted.
   */
  eraseCaptures(
    selection: CaptureSelection,
    limit: number,
    eraseObjects: (captures: readonly StoredCapture[]) => Promise<void>,
  ): Promise<ErasedBatch>;
  /**
   * Delete the labels posted for these capture ids and for these requests (a label posted by request
   * id belongs to the request), whether or not a capture of them exists.
   */
  eraseGroundTruth(keys: { captureIds: readonly string[]; requestIds: readonly string[] }): Promise<number>;
  /** Delete up to `limit` labels received before `before` whose capture does not exist. */
  eraseOrphanGroundTruth(before: Date, limit: number): Promise<number>;
}

/** One version of a true label for one capture instance, from one source. */
export interface GroundTruthWrite {
  /** The capture the label belongs to; "" for a label posted by request id. */
  captureId: string;
  /**
   * For a label posted by request id (captureId ""): it belongs to the request, so to every capture
   * (hop) of that request, persisted before or after it (docs/ground-truth.md).
   */
  requestId?: string;
  instance: number;
  /** "api", "label_studio", or a caller's own source name. */
  source: string;
  /** Tells labels of one source apart (a Label Studio annotation id); "" when there is one. */
  sourceRef: string;
  label: Prediction;
  labeledAt: Date;
}

export interface GroundTruthRow extends Omit<GroundTruthWrite, "label"> {
  label: Prediction | null;
  deleted: boolean;
  receivedAt: Date;
}

/** Ground truth (worker/API → Postgres). Writes are idempotent; a version never replaces a newer one. */
export interface GroundTruthRepository {
  /** Insert or replace; returns how many rows changed (a stale or repeated write changes none). */
  upsertGroundTruth(rows: readonly GroundTruthWrite[]): Promise<number>;
  /**
   * Mark every label of this source with one of these refs deleted; returns how many changed. With
   * projectRef, only labels of capture instances exported to that project (a webhook's deletion
   * reaches no further than its own project).
   */
  deleteGroundTruth(
    source: string,
    sourceRefs: readonly string[],
    at: Date,
    projectRef?: string,
  ): Promise<number>;
  /** The labels of this capture: its own, and those posted by its request id when one is given. */
  groundTruthFor(captureId: string, requestId?: string): Promise<GroundTruthRow[]>;
  /** When each of these refs of a source was last labeled, as stored (deleted ones included). */
  storedVersions(source: string, sourceRefs: readonly string[]): Promise<Map<string, Date>>;
  /**
   * Mark deleted the labels of this source on captures exported to this project whose refs are not
   * in liveRefs and that were received before `before` (the reconciler's snapshot time, so a label
   * arriving during the snapshot is never taken for a deleted one).
   */
  deleteMissing(
    source: string,
    projectRef: string,
    liveRefs: readonly string[],
    before: Date,
  ): Promise<number>;
}

/** A capture instance claimed for export to the labeling tool. */
export interface ExportClaim {
  captureId: string;
  instance: number;
  model: string;
  /** 1 on the first claim; above 1 the tool may already hold a task from a claim that crashed. */
  attempts: number;
}

export interface LabelingProject {
  backend: string;
  model: string;
  projectRef: string;
  task: string;
  labelSet: string[];
}

/** The label-export queue and the labeling projects (Postgres). */
export interface LabelExportRepository {
  /** Claim up to `limit` due rows (pending, or claimed longer than leaseMs ago) for this exporter. */
  claimExports(limit: number, leaseMs: number): Promise<ExportClaim[]>;
  markExported(
    done: ReadonlyArray<{ captureId: string; instance: number; taskRef: string; projectRef: string }>,
  ): Promise<void>;
  markSkipped(keys: ReadonlyArray<{ captureId: string; instance: number }>, reason: string): Promise<void>;
  /** Retry later, or give up ("failed") when retryAt is null. */
  markRetry(
    keys: ReadonlyArray<{ captureId: string; instance: number }>,
    error: string,
    retryAt: Date | null,
  ): Promise<void>;
  exportCounts(): Promise<Record<string, number>>;
  /** The task and project a capture instance was exported as; undefined unless state is exported. */
  exportedTask(captureId: string, instance: number): Promise<ExportedTask | undefined>;
  getProject(backend: string, model: string): Promise<LabelingProject | undefined>;
  listProjects(backend: string): Promise<LabelingProject[]>;
  /** Run fn holding a lock on this backend and model, so concurrent exporters make one project. */
  withProjectLock<T>(backend: string, model: string, fn: () => Promise<T>): Promise<T>;
  saveProject(p: LabelingProject): Promise<void>;
}

// --- The labeling tool (Label Studio, or none): captures out as tasks, annotations back as labels.

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

/** Where the labeling tool holds an exported capture instance. */
export interface ExportedTask {
  taskRef: string;
  projectRef: string;
}

/** A webhook delivery, understood. */
export type LabelingEvent =
  | {
      kind: "upsert";
      captureId: string;
      instance: number;
      /** The tool's task and project the annotation is on: checked against what modeltap exported. */
      taskRef: string;
      projectRef: string;
      sourceRef: string;
      labeledAt: Date;
      /** The tool's own result, converted by toLabel once the capture's task is known. */
      result: unknown;
    }
  | { kind: "delete"; sourceRefs: string[]; at: Date; projectRef: string }
  | { kind: "ignored"; reason: string };

/** One current annotation as the tool holds it (for reconciling webhooks that never arrived). */
export interface AnnotationSnapshot {
  captureId: string;
  instance: number;
  /** The tool's task the annotation is on (its project is the one listed). */
  taskRef: string;
  sourceRef: string;
  labeledAt: Date;
  result: unknown;
  /** The labeler skipped the task: the annotation is no label. */
  cancelled: boolean;
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
