/**
 * The collector's bounded publish buffer. Finished records are enqueued without waiting; a small
 * pool of senders publishes them. Nothing here ever blocks or fails an exchange.
 *
 * Two kinds of failure, handled apart:
 * - one record the broker refuses while it takes others: the record is retried behind the others
 *   after its own backoff, and dropped and counted after maxAttempts, so it never holds the line.
 *   A PublishRejectedError is the record's own at once. Any other failure is held against the
 *   record only once another publish has succeeded after it (the broker works, so it refused this
 *   record): that is checked when the record comes up again;
 * - an outage (NATS down or slow for everyone), known by OUTAGE_FAILURES failures in a row with no
 *   success between them: every sender backs off together until one publish succeeds again, and
 *   every failure held so far is forgiven, so an outage costs no record its attempts.
 * One that can never fit (permanent) is dropped at once. When the buffer is full, new records are
 * dropped and counted. A dropped record's parked objects are discarded.
 */
import { PublishRejectedError } from "../core/errors.js";
import type { Logger } from "../log.js";
import type { RecordPublisher } from "../core/ports.js";
import type { CaptureRecord } from "../core/record.js";
import type { CollectorMetrics } from "./metrics.js";

interface Item {
  record: CaptureRecord;
  bytes: number;
  enqueuedAt: number;
  /** Failed attempts that were this record's fault (outages do not count). */
  attempts: number;
  /** A failure not yet held against the record: the successes count when it failed. */
  unjudged: number | undefined;
}

export interface PublishQueueOptions {
  maxRecords: number;
  maxBytes: number;
  concurrency: number;
  /** Attempts one refused record gets before it is dropped (MODELTAP_PUBLISH_MAX_ATTEMPTS). */
  maxAttempts: number;
  /** A refused record's first wait before its next attempt; doubled per attempt up to retryMaxMs. */
  retryBaseMs?: number;
  retryMaxMs?: number;
}

/** Failures in a row, with no success between them, that mean the broker is down for everyone. */
export const OUTAGE_FAILURES = 3;

export type DropReason = "buffer_full" | "shutdown" | "too_large" | "publish_rejected";

/** What a record holds in collector memory until it is published. */
function recordBytes(record: CaptureRecord): number {
  return (
    record.request.data.byteLength +
    record.response.data.byteLength +
    record.analysisJson.byteLength +
    record.inputImages.reduce((n, img) => n + img.data.byteLength, 0)
  );
}

export class PublishQueue {
  /** Records ready to send, oldest first. */
  private readonly ready: Item[] = [];
  /** Refused records waiting out their own backoff; they still count against the buffer. */
  private readonly waiting = new Map<NodeJS.Timeout, Item>();
  private bytes = 0;
  private inFlight = 0;
  private outageBackoffMs = 0;
  private outageTimer: NodeJS.Timeout | undefined;
  /** Failures since the last success that were not a PublishRejectedError. */
  private failuresInARow = 0;
  /** Successful publishes so far: tells a refused record from a broker that refuses everyone. */
  private successes = 0;
  private idleWaiters: Array<() => void> = [];
  private pumpScheduled = false;
  /** Set by drain: the collector is shutting down, and nothing is sent or retried any more. */
  private closed = false;

  constructor(
    private readonly publisher: RecordPublisher,
    private readonly options: PublishQueueOptions,
    private readonly metrics: CollectorMetrics,
    private readonly log: Logger,
  ) {}

  get depth(): number {
    return this.ready.length + this.waiting.size + this.inFlight;
  }

  enqueue(record: CaptureRecord): boolean {
    if (this.closed) {
      // An exchange that ended after the drain (its stream outlived the server's shutdown).
      this.metrics.drops.inc({ reason: "shutdown" });
      this.log.error(
        { capture_id: record.id, request_id: record.requestId },
        "capture after shutdown; dropped",
      );
      return false;
    }
    const bytes = recordBytes(record);
    if (this.depth >= this.options.maxRecords || this.bytes + bytes > this.options.maxBytes) {
      this.metrics.drops.inc({ reason: "buffer_full" });
      this.log.warn(
        { capture_id: record.id, request_id: record.requestId, depth: this.depth },
        "publish buffer full; capture dropped",
      );
      return false;
    }
    this.ready.push({ record, bytes, enqueuedAt: performance.now(), attempts: 0, unjudged: undefined });
    this.bytes += bytes;
    this.updateGauges();
    this.schedulePump();
    return true;
  }

  /**
   * Pump once the current I/O callbacks have run (setImmediate), not per record: the records
   * enqueued meanwhile (one socket read from Envoy finishes many exchanges) are then sent in one
   * go, and their JetStream publishes leave in one socket write instead of one each (a write per
   * publish was a fifth of the collector's CPU at 1.0 sampling).
   */
  private schedulePump(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private updateGauges(): void {
    this.metrics.bufferDepth.set(this.depth);
    this.metrics.bufferBytes.set(this.bytes);
  }

  private pump(): void {
    if (this.outageTimer || this.closed) return;
    while (this.inFlight < this.options.concurrency && this.ready.length > 0) {
      const item = this.ready.shift()!;
      if (item.unjudged !== undefined && this.successes > item.unjudged) {
        // Others got through since it failed: that failure was its own.
        item.unjudged = undefined;
        if (++item.attempts >= this.options.maxAttempts) {
          this.drop(item, "publish_rejected", undefined);
          continue;
        }
      }
      this.inFlight++;
      void this.send(item);
    }
    if (this.depth === 0) this.notifyIdle();
  }

  private async send(item: Item): Promise<void> {
    try {
      await this.publisher.publish(item.record);
      this.successes++;
      this.failuresInARow = 0;
      this.outageBackoffMs = 0;
      this.bytes -= item.bytes;
      this.metrics.published.inc();
      this.metrics.publishLatency.observe((performance.now() - item.enqueuedAt) / 1000);
    } catch (err) {
      this.metrics.publishErrors.inc();
      this.failed(item, err);
    } finally {
      this.inFlight--;
      this.updateGauges();
      this.schedulePump();
    }
  }

  private failed(item: Item, err: unknown): void {
    if (this.closed) {
      // In flight when the queue was drained: no retry outlives the drain. Its parked objects are
      // kept unless the broker refused it outright (after a timeout it may be stored after all).
      this.bytes -= item.bytes;
      this.metrics.drops.inc({ reason: "shutdown" });
      if (err instanceof PublishRejectedError) this.discard(item.record);
      this.log.error(
        { err, capture_id: item.record.id, request_id: item.record.requestId },
        "capture in flight at shutdown not published; dropped",
      );
      return;
    }
    if (err instanceof PublishRejectedError && err.permanent) {
      this.drop(item, "too_large", err);
      return;
    }
    if (err instanceof PublishRejectedError) {
      item.attempts++;
      if (item.attempts >= this.options.maxAttempts) this.drop(item, "publish_rejected", err);
      else this.retryLater(item, err);
      return;
    }
    // The broker's fault or the record's: judged when the record comes up again (pump).
    item.unjudged = this.successes;
    if (++this.failuresInARow < OUTAGE_FAILURES) {
      this.retryLater(item, err);
      return;
    }
    // An outage: nothing held against anyone for it.
    for (const it of [item, ...this.ready, ...this.waiting.values()]) it.unjudged = undefined;
    this.ready.push(item);
    this.outageBackoffMs = Math.min(Math.max(this.outageBackoffMs * 2, 50), 2000);
    this.log.warn(
      {
        err,
        capture_id: item.record.id,
        request_id: item.record.requestId,
        retry_in_ms: this.outageBackoffMs,
      },
      "publish failed; every sender backs off",
    );
    this.outageTimer ??= setTimeout(() => {
      this.outageTimer = undefined;
      this.pump();
    }, this.outageBackoffMs);
  }

  /** Back in line behind the others once its own backoff has passed. */
  private retryLater(item: Item, err: unknown): void {
    const base = this.options.retryBaseMs ?? 100;
    const delay = Math.min(base * 2 ** (item.attempts - 1), this.options.retryMaxMs ?? 5000);
    this.log.warn(
      {
        err,
        capture_id: item.record.id,
        request_id: item.record.requestId,
        attempt: item.attempts,
        retry_in_ms: delay,
      },
      "publish refused for this capture; retrying it behind the others",
    );
    const timer = setTimeout(() => {
      this.waiting.delete(timer);
      this.ready.push(item);
      this.pump();
    }, delay);
    this.waiting.set(timer, item);
  }

  private drop(item: Item, reason: DropReason, err: unknown): void {
    this.bytes -= item.bytes;
    this.metrics.drops.inc({ reason });
    this.discard(item.record);
    this.log.error(
      {
        err,
        capture_id: item.record.id,
        request_id: item.record.requestId,
        model: item.record.model,
        attempts: item.attempts,
        reason,
      },
      "capture could not be published; dropped",
    );
  }

  /** Whatever a failed publish of the record parked in the object store goes too (best effort). */
  private discard(record: CaptureRecord): void {
    void this.publisher.discard?.(record).catch((err: unknown) => {
      this.log.warn({ err, capture_id: record.id }, "could not discard a dropped capture's parked objects");
    });
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /**
   * Wait until the buffer is empty, or the timeout passes; drops what is left unsent and counts it
   * (returns how many). The queue is closed afterwards: what is enqueued later is dropped and
   * counted, nothing is retried, and no timer of its own keeps the process alive.
   */
  async drain(timeoutMs: number): Promise<number> {
    if (this.depth > 0) {
      await Promise.race([
        new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
        new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref()),
      ]);
    }
    this.closed = true;
    // Records not sent, or waiting to be sent again, are dropped now. Those in flight are settled
    // by their answer: published, or dropped and counted when it fails (send/failed).
    const left = this.ready.length + this.waiting.size;
    if (left > 0) {
      this.metrics.drops.inc({ reason: "shutdown" }, left);
      this.log.error(
        { dropped: left, in_flight: this.inFlight },
        "shutdown with captures still buffered; dropped",
      );
    }
    if (this.outageTimer) clearTimeout(this.outageTimer);
    for (const timer of this.waiting.keys()) clearTimeout(timer);
    // Those that waited to retry may have parked objects already.
    for (const item of this.waiting.values()) this.discard(item.record);
    for (const item of [...this.ready, ...this.waiting.values()]) this.bytes -= item.bytes;
    this.ready.length = 0;
    this.waiting.clear();
    this.updateGauges();
    return left;
  }
}
