/**
 * The collector's bounded publish buffer. Finished records are enqueued without waiting; a small
 * pool of senders publishes them. When the publisher fails (NATS slow or down) a record stays at
 * the head and is retried with backoff; when the buffer is full, new records are dropped and
 * counted. Nothing here ever blocks or fails an exchange.
 */
import type { Logger } from "../log.js";
import type { RecordPublisher } from "../core/ports.js";
import type { CaptureRecord } from "../core/record.js";
import type { CollectorMetrics } from "./metrics.js";

interface Item {
  record: CaptureRecord;
  bytes: number;
  enqueuedAt: number;
}

export interface PublishQueueOptions {
  maxRecords: number;
  maxBytes: number;
  concurrency: number;
}

export class PublishQueue {
  private readonly items: Item[] = [];
  private bytes = 0;
  private inFlight = 0;
  private backoffMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly publisher: RecordPublisher,
    private readonly options: PublishQueueOptions,
    private readonly metrics: CollectorMetrics,
    private readonly log: Logger,
  ) {}

  get depth(): number {
    return this.items.length + this.inFlight;
  }

  enqueue(record: CaptureRecord): boolean {
    const bytes =
      record.request.data.byteLength +
      record.response.data.byteLength +
      record.inputImages.reduce((n, img) => n + img.data.byteLength, 0);
    if (this.items.length >= this.options.maxRecords || this.bytes + bytes > this.options.maxBytes) {
      this.metrics.drops.inc({ reason: "buffer_full" });
      this.log.warn(
        { request_id: record.id, depth: this.items.length },
        "publish buffer full; capture dropped",
      );
      return false;
    }
    this.items.push({ record, bytes, enqueuedAt: performance.now() });
    this.bytes += bytes;
    this.updateGauges();
    this.pump();
    return true;
  }

  private updateGauges(): void {
    this.metrics.bufferDepth.set(this.items.length + this.inFlight);
    this.metrics.bufferBytes.set(this.bytes);
  }

  private pump(): void {
    if (this.timer) return;
    while (this.inFlight < this.options.concurrency && this.items.length > 0) {
      const item = this.items.shift()!;
      this.inFlight++;
      void this.send(item);
    }
    if (this.items.length === 0 && this.inFlight === 0) this.notifyIdle();
  }

  private async send(item: Item): Promise<void> {
    try {
      await this.publisher.publish(item.record);
      this.backoffMs = 0;
      this.bytes -= item.bytes;
      this.metrics.published.inc();
      this.metrics.publishLatency.observe((performance.now() - item.enqueuedAt) / 1000);
    } catch (err) {
      this.metrics.publishErrors.inc();
      this.items.unshift(item);
      this.backoffMs = Math.min(Math.max(this.backoffMs * 2, 50), 2000);
      this.log.warn(
        { err, request_id: item.record.id, retry_in_ms: this.backoffMs },
        "publish failed; will retry",
      );
      if (!this.timer) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, this.backoffMs);
      }
    } finally {
      this.inFlight--;
      this.updateGauges();
      this.pump();
    }
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Wait until the buffer is empty, or the timeout passes; drops what is left and counts it. */
  async drain(timeoutMs: number): Promise<number> {
    if (this.depth > 0) {
      await Promise.race([
        new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
        new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref()),
      ]);
    }
    const left = this.depth;
    if (left > 0) {
      this.metrics.drops.inc({ reason: "shutdown" }, left);
      this.log.error({ dropped: left }, "shutdown with captures still buffered");
    }
    if (this.timer) clearTimeout(this.timer);
    return left;
  }
}
