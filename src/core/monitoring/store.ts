/**
 * The monitoring engine's port to its database: partial profiles (written by the worker with its
 * captures), buckets, quality, results, baselines and leases. Implemented by
 * src/adapters/postgres/monitor-repository.ts.
 */
import type { Prediction } from "../canonical.js";
import type { ProfiledCapture } from "./fields.js";
import type { Baseline } from "./baseline.js";
import type { ProfileJson } from "./profile.js";

export type Resolution = "minute" | "hour";

/** One partial profile: the captures of one (model, version, minute) inserted by one transaction. */
export interface PartialProfile {
  model: string;
  version: string;
  minute: Date;
  captures: number;
  profile: ProfileJson;
}

export interface BucketRow {
  model: string;
  version: string;
  resolution: Resolution;
  startAt: Date;
  captures: number;
  profile: ProfileJson;
  revision: number;
  updatedAt: Date;
}

/** A minute queued for its quality to be recomputed; `seq` tells a re-queued one apart. */
export interface PendingMinute {
  version: string;
  minute: Date;
  seq: string;
}

export interface QualityRow {
  model: string;
  version: string;
  minute: Date;
  labeled: number;
  /** The task's mergeable quality aggregate (quality-aggregate.ts). */
  quality: unknown;
  revision: number;
  updatedAt: Date;
}

export interface ResultRow {
  model: string;
  version: string;
  window: string;
  windowEnd: Date;
  revision: number;
  baselineId: string | null;
  captures: number;
  instances: number;
  labeled: number;
  result: unknown;
  evaluatedAt: Date;
}

export interface StoredBaseline {
  id: string;
  model: string;
  version: string | null;
  active: boolean;
  createdAt: Date;
  doc: Baseline;
}

/** What a fold did: partials taken and the minute buckets they went into. */
export interface FoldOutcome {
  partials: number;
  buckets: number;
  /** The minute buckets written, with the partials each took, so the windows over them can be evaluated. */
  touched: Array<{ version: string; startAt: Date; partials: number }>;
}

/** A labeled prediction, for quality: the capture's prediction and its latest live label. */
export interface LabeledPrediction {
  version: string;
  minute: Date;
  instance: number;
  prediction: Prediction | null;
  label: Prediction;
}

/** A stored capture as profiling reads it (baselines from a window, backfills). */
export type StoredProfiledCapture = ProfiledCapture & { id: string; version: string; receivedAt: Date };

export interface MonitorStore {
  activeBaselines(): Promise<Baseline[]>;
  baselines(model?: string): Promise<StoredBaseline[]>;
  baseline(id: string): Promise<StoredBaseline | undefined>;
  activeBaseline(model: string): Promise<Baseline | undefined>;
  /** Store a baseline (refusing an existing id), and make it the active one when `activate`. */
  saveBaseline(b: Baseline, activate: boolean): Promise<void>;
  activateBaseline(id: string): Promise<StoredBaseline>;

  /** Models with partials, buckets or results. */
  models(): Promise<string[]>;
  /** Renew this replica's heartbeat; the number of live replicas. */
  heartbeat(owner: string, ttlMs: number): Promise<number>;
  /** Take or keep leases on up to `share` models; returns the models this owner holds. */
  leaseModels(owner: string, ttlMs: number, share: number): Promise<string[]>;
  releaseLeases(owner: string): Promise<void>;

  /**
   * Fold the model's partials of minutes before `closedBefore` into minute buckets, in one
   * transaction per call (at most `limit` partials): merge(bucket or null, partials) gives the new
   * bucket profile. Partials are deleted as they are folded, so each counts once.
   */
  foldPartials(
    model: string,
    closedBefore: Date,
    limit: number,
    merge: (bucket: ProfileJson | null, partials: ProfileJson[]) => ProfileJson,
  ): Promise<FoldOutcome>;
  /** Buckets of a model (every version when version is null) starting in [from, to). */
  buckets(model: string, version: string | null, from: Date, to: Date): Promise<BucketRow[]>;
  /**
   * What a window of [from, to) merges, read in one snapshot: the hour buckets of the whole hours
   * inside it, minute buckets for the rest (and for any whole hour without an hour bucket), and
   * with `withPartials` the partials not folded yet. Every capture is counted once.
   */
  windowBuckets(
    model: string,
    version: string | null,
    from: Date,
    to: Date,
    withPartials: boolean,
  ): Promise<{
    buckets: BucketRow[];
    partials: Array<{ version: string; minute: Date; profile: ProfileJson }>;
  }>;
  /** Buckets updated after `since`. */
  bucketsUpdatedSince(
    model: string,
    since: Date,
  ): Promise<Array<{ version: string; startAt: Date; resolution: Resolution }>>;
  /**
   * Drop the minute buckets of whole hours before `before` (their hour buckets, kept by every
   * fold, stay); an hour with no hour bucket gets the merge of its minutes first. Returns the
   * minute buckets dropped.
   */
  rollUp(
    model: string,
    before: Date,
    merge: (bucket: ProfileJson | null, partials: ProfileJson[]) => ProfileJson,
  ): Promise<number>;
  /**
   * Replace the hour buckets of [from, to) (whole hours) by the merge of their minute buckets, an
   * hour per transaction; an hour without minute buckets (no stored captures: retention erased
   * them) keeps its hour bucket.
   */
  rebuildHours(
    model: string,
    from: Date,
    to: Date,
    merge: (bucket: ProfileJson | null, partials: ProfileJson[]) => ProfileJson,
  ): Promise<number>;
  /** Run fn holding the model's backfill lock (rollups of the model skip their turn meanwhile). */
  withBackfillLock<T>(model: string, fn: () => Promise<T>): Promise<T>;
  /** Delete results of these windows that ended before `before`; returns how many. */
  pruneResults(model: string, windows: readonly string[], before: Date): Promise<number>;
  /**
   * Delete at most `limit` rows of each of the model's monitoring tables that hold nothing after
   * `before`: minute and hour buckets, partials and quality of earlier minutes, and results of
   * windows that ended by then. Returns how many rows went; fewer than `limit` in all means none
   * is left.
   */
  expire(model: string, before: Date, limit: number): Promise<number>;
  /**
   * The version and minute (of prediction time) of every capture whose labels changed since the
   * watermark `since`, and the next watermark. Times are ISO 8601 with microseconds, as stored.
   */
  labelChanges(
    model: string,
    since: string,
  ): Promise<{ minutes: Array<{ version: string; minute: Date }>; newest: string | null }>;
  /**
   * Queue minutes whose labels changed for their quality to be recomputed, and move the label
   * watermark to `watermark`, in one transaction. A minute already queued keeps its place.
   */
  queueQuality(
    model: string,
    minutes: ReadonlyArray<{ version: string; minute: Date }>,
    watermark: string | null,
  ): Promise<void>;
  /** The `limit` minutes queued first for a model, and how many are queued in all. */
  pendingQuality(model: string, limit: number): Promise<{ minutes: PendingMinute[]; total: number }>;
  /** Unqueue these minutes, each only if it is still the entry that was read (same `seq`). */
  clearQuality(model: string, minutes: readonly PendingMinute[]): Promise<void>;
  /** Labeled predictions of captures received in [from, to) (every version when version is null). */
  labeledPredictions(
    model: string,
    version: string | null,
    from: Date,
    to: Date,
  ): Promise<LabeledPrediction[]>;
  /** Partial profiles not folded yet, of minutes in [from, to). */
  partials(
    model: string,
    from: Date,
    to: Date,
  ): Promise<Array<{ version: string; minute: Date; profile: ProfileJson }>>;
  /** Insert or replace a minute's quality; false when it was stored already, unchanged. */
  saveQuality(row: Omit<QualityRow, "revision" | "updatedAt">): Promise<boolean>;
  quality(model: string, version: string | null, from: Date, to: Date): Promise<QualityRow[]>;
  /** ISO 8601 with microseconds. */
  watermark(model: string, name: string): Promise<string | null>;
  setWatermark(model: string, name: string, at: Date | string): Promise<void>;

  /** Insert or replace a window's result; returns its revision (1 when new). */
  saveResult(row: Omit<ResultRow, "revision" | "evaluatedAt">): Promise<number>;
  results(model: string, window: string, from: Date, to: Date): Promise<ResultRow[]>;
  /** The newest result per (model, version, window). */
  latestResults(): Promise<ResultRow[]>;
  addCounter(name: string, model: string, n: number): Promise<void>;
  counters(): Promise<Array<{ name: string; model: string; value: number }>>;
  /** Whether any capture, bucket or baseline names this model. */
  knownModel(model: string): Promise<boolean>;
  /** Stored captures of a model received in [from, to), in (received_at, id) order, after a cursor. */
  profiledCaptures(
    model: string,
    from: Date,
    to: Date,
    after: { receivedAt: Date; id: string } | null,
    limit: number,
  ): Promise<StoredProfiledCapture[]>;
  /**
   * Replace the model's buckets of one minute by profiles built from its stored captures, in one
   * snapshot: its partials are dropped (they are in the captures read), so every capture counts
   * once whatever the worker inserts meanwhile. `build` gets the minute's captures per version.
   */
  rebuildMinute(
    model: string,
    minute: Date,
    build: (
      captures: readonly StoredProfiledCapture[],
    ) => Array<{ version: string; captures: number; profile: ProfileJson }>,
  ): Promise<{ captures: number; versions: string[] }>;
}
