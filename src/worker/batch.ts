/**
 * Persists one batch of capture messages: bodies to the BlobStore, rows to the CaptureRepository,
 * then acks. A message is acked only after both writes committed; writes are idempotent, so a
 * redelivery adds nothing. A message that keeps failing goes to the dead-letter subject once it has
 * been delivered maxDeliver times; one that cannot be decoded goes there at once.
 *
 * An outage is not a bad record: when a batch fails while the database or the object store does
 * not answer, every message goes back with backoff, nothing is dead-lettered however often it was
 * delivered, and the worker waits for its dependencies before it takes more.
 */
import { errorMessage } from "../core/errors.js";
import { maskPng } from "../core/storage/mask-png.js";
import { planPersist, type PersistPlan } from "../core/storage/persist-plan.js";
import type { BlobStore, CaptureRepository, InboundMessage, LargeBodyStore } from "../core/ports.js";
import { decodeRecord } from "../core/storage/record-codec.js";
import type { CaptureRecord } from "../core/record.js";
import type { Logger } from "../log.js";
import type { WorkerMetrics } from "./metrics.js";
import type { WorkerProfiles } from "./profiles.js";

export interface BatchDeps {
  blobs: BlobStore;
  repo: CaptureRepository;
  largeBodies: LargeBodyStore;
  metrics: WorkerMetrics;
  log: Logger;
  maxDeliver: number;
  concurrency: number;
  /** Bodies up to this size that are not images go in the row (see planPersist). */
  rowInlineMaxBytes: number;
  /** True when the database and the object store both answer now. */
  dependenciesUp(): Promise<boolean>;
  /** How often to look again while they do not, and for how long at most per batch. */
  outagePollMs: number;
  outageMaxWaitMs: number;
  /**
   * How often a batch still being persisted tells the broker so (in-progress acks), well inside
   * ack_wait: drawing many masks may take longer than ack_wait, and must not be redelivered for it.
   */
  workingEveryMs?: number;
  /** Monitoring: partial profiles inserted with the captures, in their transaction. */
  profiles?: Pick<WorkerProfiles, "partialsFor" | "refresh">;
}

interface Item {
  msg: InboundMessage;
  record: CaptureRecord;
  plan: PersistPlan;
}

async function mapLimit<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const run = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
}

function backoffMs(deliveryCount: number): number {
  return Math.min(250 * 2 ** (deliveryCount - 1), 10_000);
}

export async function processBatch(messages: readonly InboundMessage[], deps: BatchDeps): Promise<void> {
  const heartbeat = setInterval(() => {
    for (const m of messages) m.working();
  }, deps.workingEveryMs ?? 10_000);
  try {
    await processMessages(messages, deps);
  } finally {
    clearInterval(heartbeat);
  }
}

async function processMessages(messages: readonly InboundMessage[], deps: BatchDeps): Promise<void> {
  const started = performance.now();
  deps.metrics.batchSize.observe(messages.length);
  const items: Item[] = [];
  for (const msg of messages) {
    let record: CaptureRecord;
    try {
      record = decodeRecord(msg.data);
    } catch (err) {
      await deadLetterUndecodable(msg, err, deps);
      continue;
    }
    try {
      if (!(await readParkedAnalysis(record, deps))) {
        deps.metrics.duplicates.inc();
        await msg.ack();
        continue;
      }
    } catch (err) {
      await retryOrDeadLetter({ msg, record }, err, deps);
      continue;
    }
    try {
      const plan = planPersist(record, (k) => deps.blobs.uri(k), {
        rowInlineMaxBytes: deps.rowInlineMaxBytes,
      });
      items.push({ msg, record, plan });
    } catch (err) {
      await deadLetterUndecodable(msg, err, deps);
    }
  }
  if (items.length === 0) return;
  try {
    await persist(items, deps);
    await settle(items, deps);
  } catch (err) {
    if (!(await deps.dependenciesUp())) {
      deps.log.warn({ err, batch: items.length }, "database or object store down; batch put back");
      deps.metrics.redeliveries.inc(items.length);
      deps.metrics.outageBatches.inc();
      for (const it of items) it.msg.nak(backoffMs(it.msg.deliveryCount));
      await waitForDependencies(deps);
      return;
    }
    // Find the culprit: retry one by one, so one poison record cannot hold the batch back.
    deps.log.warn({ err, batch: items.length }, "batch persist failed; retrying records one by one");
    for (const item of items) {
      try {
        await persist([item], deps);
        await settle([item], deps);
      } catch (itemErr) {
        await retryOrDeadLetter(item, itemErr, deps);
      }
    }
  }
  deps.metrics.persistSeconds.observe((performance.now() - started) / 1000);
}

async function deadLetterUndecodable(msg: InboundMessage, err: unknown, deps: BatchDeps): Promise<void> {
  deps.metrics.deadLettered.inc({ reason: "undecodable" });
  deps.log.error({ err, subject: msg.subject }, "undecodable capture record; dead-lettered");
  await msg.deadLetter(`undecodable: ${errorMessage(err)}`).catch((e: unknown) => {
    deps.log.error({ err: e }, "dead-letter publish failed; will be redelivered");
    msg.nak(backoffMs(msg.deliveryCount));
  });
}

/**
 * A record over the server's max payload carries its analysis in the large-body store
 * (analysisRef): read it back into the record. False when it is gone because an earlier delivery
 * was stored and only its ack was lost.
 */
async function readParkedAnalysis(record: CaptureRecord, deps: BatchDeps): Promise<boolean> {
  if (!record.analysisRef) return true;
  const json = await deps.largeBodies.get(record.analysisRef);
  if (json) {
    record.analysisJson = json;
    return true;
  }
  if (await deps.repo.getCapture(record.id)) return false;
  throw new Error(`parked analysis ${record.analysisRef} is missing from the object store`);
}

async function persist(items: readonly Item[], deps: BatchDeps): Promise<void> {
  const objects = items.flatMap((it) => it.plan.objects.map((o) => ({ item: it, o })));
  await mapLimit(objects, deps.concurrency, async ({ item, o }) => {
    let bytes: Uint8Array | undefined;
    if ("inline" in o.source) bytes = o.source.inline;
    else if ("mask" in o.source) bytes = maskPng(o.source.mask);
    else {
      bytes = await deps.largeBodies.get(o.source.ref);
      if (!bytes) {
        // Deleted after an earlier, committed delivery whose ack was lost: nothing left to do.
        if (await deps.repo.getCapture(item.record.id)) return;
        throw new Error(`large body ${o.source.ref} is missing from the object store`);
      }
    }
    await deps.blobs.put(o.key, bytes, o.contentType);
  });
  await deps.profiles?.refresh();
  const inserted = await deps.repo.insertCaptures(
    items.map((it) => it.plan.row),
    deps.profiles?.partialsFor,
  );
  deps.metrics.persisted.inc(inserted);
  deps.metrics.duplicates.inc(items.length - inserted);
  const now = Date.now();
  for (const it of items) {
    const endMs = (it.record.startedAtUs + it.record.durationUs) / 1000;
    deps.metrics.lagSeconds.observe(Math.max(0, now - endMs) / 1000);
  }
}

async function settle(items: readonly Item[], deps: BatchDeps): Promise<void> {
  await Promise.all(items.map((it) => it.msg.ack()));
  for (const it of items) {
    const refs = it.plan.objects.flatMap((o) => ("ref" in o.source ? [o.source.ref] : []));
    if (it.record.analysisRef) refs.push(it.record.analysisRef);
    for (const ref of refs) {
      await deps.largeBodies.delete(ref).catch((err: unknown) => {
        deps.log.warn({ err, ref }, "could not delete large body from the object store");
      });
    }
  }
}

async function retryOrDeadLetter(
  item: Pick<Item, "msg" | "record">,
  err: unknown,
  deps: BatchDeps,
): Promise<void> {
  const log = deps.log.child({ capture_id: item.record.id, request_id: item.record.requestId });
  if (item.msg.deliveryCount >= deps.maxDeliver && (await deps.dependenciesUp())) {
    deps.metrics.deadLettered.inc({ reason: "max_deliver" });
    log.error({ err, deliveries: item.msg.deliveryCount }, "capture failed too often; dead-lettered");
    await item.msg
      .deadLetter(`failed ${item.msg.deliveryCount} deliveries: ${errorMessage(err)}`)
      .catch(() => {
        item.msg.nak(backoffMs(item.msg.deliveryCount));
      });
    return;
  }
  deps.metrics.redeliveries.inc();
  log.warn({ err, deliveries: item.msg.deliveryCount }, "capture persist failed; redelivery scheduled");
  item.msg.nak(backoffMs(item.msg.deliveryCount));
}

/** Hold the consumer (it handles one batch at a time) until the dependencies answer again. */
async function waitForDependencies(deps: BatchDeps): Promise<void> {
  const deadline = Date.now() + deps.outageMaxWaitMs;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, deps.outagePollMs));
    if (await deps.dependenciesUp()) return;
  }
}
