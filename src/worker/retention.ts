/**
 * Retention and erasure on request: captures, their objects, ground truth and label-export state
 * deleted in bounded batches (docs/retention.md). Objects go before the rows that name them, so a
 * crash leaves rows whose next sweep finishes the job, never objects that nothing points to.
 */
import { StorageError } from "../core/errors.js";
import type { BlobStore, CaptureSelection, RetentionRepository, StoredCapture } from "../core/ports.js";
import { orphanLabelCutoff, retentionCutoffs, type RetentionPolicy } from "../core/retention.js";
import { captureObjectPrefixes } from "../core/storage/retention.js";

/** Keys listed (and deleted) at a time under one capture's prefix. */
const LIST_PAGE = 1000;

export interface EraseDeps {
  repo: RetentionRepository;
  blobs: BlobStore;
  /** Concurrent object deletes. */
  concurrency: number;
}

export interface ErasedTotals {
  batches: number;
  captures: number;
  objects: number;
  groundTruth: number;
  labelExports: number;
  /** Aged-out captures this sweep could not erase (their objects would not delete): left for the next. */
  failed: number;
}

export const noneErased = (): ErasedTotals => ({
  batches: 0,
  captures: 0,
  objects: 0,
  groundTruth: 0,
  labelExports: 0,
  failed: 0,
});

async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (t: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/** Deletes every object of these captures; returns how many there were. */
export async function eraseCaptureObjects(
  blobs: BlobStore,
  captures: readonly StoredCapture[],
  concurrency: number,
): Promise<number> {
  let count = 0;
  for (const c of captures) {
    const prefixes = captureObjectPrefixes(c);
    for (const prefix of prefixes) {
      let previous = new Set<string>();
      for (;;) {
        const keys = await blobs.list(prefix, LIST_PAGE);
        if (keys.length === 0) break;
        // A key listed again after its delete would loop forever: fail the batch instead.
        if (keys.some((k) => previous.has(k))) {
          throw new StorageError(`objects under ${prefix} are still listed after their delete`);
        }
        await eachLimited(keys, concurrency, (k) => blobs.delete(k));
        count += keys.length;
        previous = new Set(keys);
      }
    }
    // The keys the row names outside those folders (an older key scheme) go one by one.
    const outside = c.objectKeys.filter((k) => !prefixes.some((p) => k.startsWith(p)));
    await eachLimited(outside, concurrency, (k) => blobs.delete(k));
    count += outside.length;
  }
  return count;
}

/**
 * Erase the selected captures batch by batch until none is left; `progress` hears after each
 * batch, with the running totals.
 */
export async function eraseSelection(
  deps: EraseDeps,
  selection: CaptureSelection,
  batch: number,
  progress: (totals: ErasedTotals, last: StoredCapture[]) => void,
  onFailed: (capture: StoredCapture, err: unknown) => void = () => undefined,
): Promise<ErasedTotals> {
  const totals = noneErased();
  const failed = new Set<string>();
  for (;;) {
    let objects = 0;
    let taken: readonly StoredCapture[] = [];
    const current: CaptureSelection =
      selection.kind === "aged" && failed.size > 0 ? { ...selection, exclude: [...failed] } : selection;
    let done: Awaited<ReturnType<RetentionRepository["eraseCaptures"]>>;
    try {
      done = await deps.repo.eraseCaptures(current, batch, async (captures) => {
        taken = captures;
        objects = await eraseCaptureObjects(deps.blobs, captures, deps.concurrency);
      });
    } catch (err) {
      // A sweep goes on past a capture whose objects will not delete (it stays for the next sweep),
      // rather than retry the same oldest batch forever; erasure on request stops and says so.
      if (selection.kind !== "aged" || taken.length === 0) throw err;
      done = { captures: [], groundTruth: 0, labelExports: 0 };
      for (const c of taken) {
        try {
          const one = await deps.repo.eraseCaptures({ kind: "ids", ids: [c.id] }, 1, async (cs) => {
            objects += await eraseCaptureObjects(deps.blobs, cs, deps.concurrency);
          });
          done.captures.push(...one.captures);
          done.groundTruth += one.groundTruth;
          done.labelExports += one.labelExports;
        } catch (oneErr) {
          failed.add(c.id);
          totals.failed++;
          onFailed(c, oneErr);
        }
      }
      totals.batches++;
      totals.captures += done.captures.length;
      totals.objects += objects;
      totals.groundTruth += done.groundTruth;
      totals.labelExports += done.labelExports;
      progress(totals, done.captures);
      continue;
    }
    if (done.captures.length === 0) return totals;
    totals.batches++;
    totals.captures += done.captures.length;
    totals.objects += objects;
    totals.groundTruth += done.groundTruth;
    totals.labelExports += done.labelExports;
    progress(totals, done.captures);
    // Named captures are all taken by the first batches; a short batch means none is left.
    if (done.captures.length < batch && selection.kind !== "aged") return totals;
  }
}

export interface RetentionRun extends ErasedTotals {
  /** Labels whose capture never arrived or is gone, past the longest retention. */
  orphanGroundTruth: number;
}

/** One retention sweep at `now`: every aged-out capture, then orphan labels. */
export async function runRetention(
  deps: EraseDeps,
  policy: RetentionPolicy,
  now: Date,
  opts: {
    batch: number;
    model?: string;
    progress: (totals: ErasedTotals) => void;
    onFailed?: (capture: StoredCapture, err: unknown) => void;
  },
): Promise<RetentionRun> {
  const cutoffs = retentionCutoffs(policy, now);
  const selection: CaptureSelection = {
    kind: "aged",
    cutoffs,
    ...(opts.model !== undefined ? { model: opts.model } : {}),
  };
  const totals = await eraseSelection(deps, selection, opts.batch, (t) => opts.progress(t), opts.onFailed);
  let orphanGroundTruth = 0;
  const before = orphanLabelCutoff(policy, now);
  // A run scoped to one model leaves labels alone: an orphan label says nothing of its model.
  if (before !== null && opts.model === undefined) {
    for (let n = -1; n !== 0;) {
      n = await deps.repo.eraseOrphanGroundTruth(before, opts.batch);
      orphanGroundTruth += n;
    }
  }
  return { ...totals, orphanGroundTruth };
}
