/**
 * The small interfaces the core needs from the outside world. Adapters under src/adapters
 * implement them; nothing in src/core imports an I/O library.
 */
import type { CaptureRecord } from "./record.js";
import type { Prediction } from "./canonical.js";
import type { CaptureRow } from "./persist-plan.js";

/** Publishes finished capture records (collector → JetStream). */
export interface RecordPublisher {
  publish(record: CaptureRecord): Promise<void>;
}

/** Object storage for bodies (worker → S3). Puts are idempotent: same key, same bytes. */
export interface BlobStore {
  put(key: string, body: Uint8Array, contentType: string): Promise<void>;
  get(key: string): Promise<Uint8Array | undefined>;
  uri(key: string): string;
}

/** Bodies too large to inline in a JetStream message, parked in a JetStream object store. */
export interface LargeBodyStore {
  get(ref: string): Promise<Uint8Array | undefined>;
  delete(ref: string): Promise<void>;
}

export interface CaptureQuery {
  model?: string;
  limit: number;
}

/** The capture index (worker → Postgres). insertCaptures ignores rows whose id already exists. */
export interface CaptureRepository {
  insertCaptures(rows: readonly CaptureRow[]): Promise<number>;
  listCaptures(q: CaptureQuery): Promise<CaptureRow[]>;
  getCapture(id: string): Promise<CaptureRow | undefined>;
}

/** One version of a true label for one capture instance, from one source. */
export interface GroundTruthWrite {
  captureId: string;
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
  /** Mark every label of this source with one of these refs deleted; returns how many changed. */
  deleteGroundTruth(source: string, sourceRefs: readonly string[], at: Date): Promise<number>;
  groundTruthFor(captureId: string): Promise<GroundTruthRow[]>;
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
  getProject(backend: string, model: string): Promise<LabelingProject | undefined>;
  listProjects(backend: string): Promise<LabelingProject[]>;
  /** Run fn holding a lock on this backend and model, so concurrent exporters make one project. */
  withProjectLock<T>(backend: string, model: string, fn: () => Promise<T>): Promise<T>;
  saveProject(p: LabelingProject): Promise<void>;
}
