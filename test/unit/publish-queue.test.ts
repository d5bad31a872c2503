/**
 * src/collector/publish-queue.ts: the collector's publish buffer never holds its line behind one
 * record. A record the broker refuses while it takes others is retried behind them, then dropped
 * and counted; an outage backs everyone off and costs no record its attempts.
 */
import { describe, expect, it } from "vitest";
import { createCollectorMetrics } from "../../src/collector/metrics.js";
import { PublishQueue, type PublishQueueOptions } from "../../src/collector/publish-queue.js";
import { PublishRejectedError } from "../../src/core/errors.js";
import type { RecordPublisher } from "../../src/core/ports.js";
import type { CaptureRecord } from "../../src/core/record.js";
import { captureLog } from "../support/log.js";
import { newRecord } from "../support/records.js";

/** A broker that takes every record but those `refuse` names (by id), and counts tries per id. */
class FakePublisher implements RecordPublisher {
  readonly published: string[] = [];
  readonly tries = new Map<string, number>();
  down = false;
  constructor(private readonly refuse: (id: string) => Error | undefined = () => undefined) {}
  async publish(record: CaptureRecord): Promise<void> {
    this.tries.set(record.id, (this.tries.get(record.id) ?? 0) + 1);
    await new Promise((r) => setTimeout(r, 1));
    if (this.down) throw new Error("CONNECTION_REFUSED");
    const err = this.refuse(record.id);
    if (err) throw err;
    this.published.push(record.id);
  }
}

const OPTIONS: PublishQueueOptions = {
  maxRecords: 1000,
  maxBytes: 1 << 20,
  concurrency: 1,
  maxAttempts: 5,
  retryBaseMs: 5,
  retryMaxMs: 20,
};

function setup(publisher: FakePublisher, options: Partial<PublishQueueOptions> = {}) {
  const metrics = createCollectorMetrics();
  const { log, lines } = captureLog();
  const queue = new PublishQueue(publisher, { ...OPTIONS, ...options }, metrics, log);
  const drops = async (reason: string) =>
    (await metrics.drops.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
  return { queue, metrics, lines, drops };
}

const record = (id: string) => newRecord({ id, model: "iris" });

async function until(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

describe("PublishQueue", () => {
  it("keeps the others flowing past a refused record, then drops it after maxAttempts and counts it", async () => {
    const publisher = new FakePublisher((id) =>
      id === "poison" ? new PublishRejectedError("refused", { permanent: false }) : undefined,
    );
    const { queue, drops, lines } = setup(publisher);
    queue.enqueue(record("poison"));
    for (let i = 0; i < 50; i++) queue.enqueue(record(`ok-${i}`));
    // The 50 good ones go first, though the poison one was enqueued ahead of them.
    await until("the good records", () => publisher.published.length === 50);
    expect(publisher.tries.get("poison")!).toBeLessThan(5);
    await until("the drop", () => queue.depth === 0);
    expect(publisher.tries.get("poison")).toBe(5);
    expect(await drops("publish_rejected")).toBe(1);
    expect(publisher.published).not.toContain("poison");
    const dropped = lines.find((l) => l.msg === "capture could not be published; dropped");
    expect(dropped).toMatchObject({ request_id: "poison", attempts: 5, reason: "publish_rejected" });
  });

  it("treats any error as the record's own once others got through since it was sent", async () => {
    const publisher = new FakePublisher((id) => (id === "poison" ? new Error("boom") : undefined));
    const { queue, drops, lines } = setup(publisher, { concurrency: 4 });
    for (let i = 0; i < 20; i++) {
      queue.enqueue(record(i === 3 ? "poison" : `ok-${i}`));
    }
    // Traffic keeps arriving while the poison record is retried: each of its failures is followed
    // by others' successes, so each is held against it.
    const feed = setInterval(() => queue.enqueue(record(`late-${Math.random()}`)), 2);
    await until("the drop", () => lines.some((l) => l.msg === "capture could not be published; dropped"));
    clearInterval(feed);
    expect(publisher.tries.get("poison")).toBe(5);
    await until("an empty buffer", () => queue.depth === 0);
    expect(await drops("publish_rejected")).toBe(1);
    expect(publisher.published.filter((id) => id.startsWith("ok-"))).toHaveLength(19);
  });

  it("stays bounded behind a poison record under steady traffic", async () => {
    const publisher = new FakePublisher((id) =>
      id === "poison" ? new PublishRejectedError("refused", { permanent: false }) : undefined,
    );
    const { queue } = setup(publisher, { maxAttempts: 1000, retryMaxMs: 5 });
    queue.enqueue(record("poison"));
    let maxDepth = 0;
    for (let i = 0; i < 300; i++) {
      queue.enqueue(record(`ok-${i}`));
      maxDepth = Math.max(maxDepth, queue.depth);
      await new Promise((r) => setTimeout(r, 2));
    }
    await until("the good records", () => publisher.published.length === 300);
    // Publishing keeps up with arrivals: the line never builds up behind the refused record.
    expect(maxDepth).toBeLessThan(20);
    await queue.drain(0);
  });

  it("drops a record that can never fit at once, without retrying it", async () => {
    const publisher = new FakePublisher((id) =>
      id === "huge" ? new PublishRejectedError("over max payload", { permanent: true }) : undefined,
    );
    const { queue, drops } = setup(publisher);
    queue.enqueue(record("huge"));
    queue.enqueue(record("ok"));
    await until("an empty buffer", () => queue.depth === 0);
    expect(publisher.tries.get("huge")).toBe(1);
    expect(await drops("too_large")).toBe(1);
    expect(publisher.published).toEqual(["ok"]);
  });

  it("spends no attempts during an outage: everything is published once NATS is back", async () => {
    const publisher = new FakePublisher();
    publisher.down = true;
    const { queue, drops, metrics } = setup(publisher, { concurrency: 4, maxAttempts: 2 });
    for (let i = 0; i < 10; i++) queue.enqueue(record(`r-${i}`));
    // Every record fails at least maxAttempts times, and none is dropped for it.
    await until(
      "two failed rounds",
      () => publisher.tries.size === 10 && Math.min(...publisher.tries.values()) >= 2,
    );
    expect(await drops("publish_rejected")).toBe(0);
    expect((await metrics.publishErrors.get()).values[0]!.value).toBeGreaterThan(10);
    publisher.down = false;
    await until("an empty buffer", () => queue.depth === 0);
    expect(publisher.published.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `r-${i}`).sort());
  }, 15_000);

  it("never drops a failing record while nothing else gets through (it may be an outage)", async () => {
    const publisher = new FakePublisher((id) => (id === "alone" ? new Error("boom") : undefined));
    const { queue, drops, lines } = setup(publisher, { maxAttempts: 2 });
    queue.enqueue(record("alone"));
    await until("several tries", () => (publisher.tries.get("alone") ?? 0) >= 4, 10_000);
    expect(await drops("publish_rejected")).toBe(0);
    // Once others get through, its failures are its own: dropped after maxAttempts.
    const feed = setInterval(() => queue.enqueue(record(`late-${Math.random()}`)), 5);
    await until(
      "the drop",
      () => lines.some((l) => l.msg === "capture could not be published; dropped"),
      10_000,
    );
    clearInterval(feed);
    await until("an empty buffer", () => queue.depth === 0, 10_000);
    expect(await drops("publish_rejected")).toBe(1);
  }, 30_000);

  it("drops nothing for an outage even with maxAttempts 1, with as many senders as the collector runs", async () => {
    const publisher = new FakePublisher();
    const { queue, drops } = setup(publisher, { concurrency: 64, maxAttempts: 1 });
    for (let i = 0; i < 5; i++) queue.enqueue(record(`before-${i}`));
    await until("the first records", () => publisher.published.length === 5);
    publisher.down = true;
    for (let i = 0; i < 100; i++) queue.enqueue(record(`r-${i}`));
    await until(
      "every record tried",
      () => [...publisher.tries.keys()].filter((k) => k.startsWith("r-")).length === 100,
    );
    publisher.down = false;
    await until("an empty buffer", () => queue.depth === 0);
    expect(await drops("publish_rejected")).toBe(0);
    expect(publisher.published).toHaveLength(105);
  }, 15_000);

  it("discards what a dropped record parked", async () => {
    const discarded: string[] = [];
    const publisher = Object.assign(
      new FakePublisher(() => new PublishRejectedError("too big", { permanent: true })),
      {
        discard: async (r: CaptureRecord) => void discarded.push(r.id),
      },
    );
    const { queue, drops } = setup(publisher);
    queue.enqueue(record("big"));
    await until("the drop", () => queue.depth === 0);
    expect(await drops("too_large")).toBe(1);
    await until("the discard", () => discarded.length === 1);
    expect(discarded).toEqual(["big"]);
  });

  it("counts refused records waiting out their backoff against the buffer, and drops them at shutdown", async () => {
    const publisher = new FakePublisher(() => new PublishRejectedError("refused", { permanent: false }));
    const { queue, drops } = setup(publisher, { maxRecords: 2, retryBaseMs: 10_000, retryMaxMs: 10_000 });
    queue.enqueue(record("a"));
    queue.enqueue(record("b"));
    await until("both waiting", () => publisher.tries.size === 2);
    expect(queue.depth).toBe(2);
    expect(queue.enqueue(record("c"))).toBe(false);
    expect(await drops("buffer_full")).toBe(1);
    expect(await queue.drain(0)).toBe(2);
    expect(await drops("shutdown")).toBe(2);
  });

  it("is closed after the drain: a later record is dropped as shutdown, and a failing one is not retried", async () => {
    const tries = new Map<string, number>();
    let fail: (err: Error) => void = () => undefined;
    const held: RecordPublisher = {
      publish: (r) => {
        tries.set(r.id, (tries.get(r.id) ?? 0) + 1);
        return new Promise<void>((_, reject) => (fail = reject));
      },
    };
    const metrics = createCollectorMetrics();
    const queue = new PublishQueue(held, OPTIONS, metrics, captureLog().log);
    const drops = async () =>
      (await metrics.drops.get()).values.find((v) => v.labels.reason === "shutdown")?.value ?? 0;
    queue.enqueue(record("in-flight"));
    await until("the in-flight try", () => tries.has("in-flight"));
    // Nothing unsent: the in-flight record is settled by its answer, not counted here.
    expect(await queue.drain(0)).toBe(0);
    expect(queue.enqueue(record("late"))).toBe(false);
    expect(await drops()).toBe(1);
    fail(new Error("TIMEOUT"));
    await new Promise((r) => setTimeout(r, 50));
    // It failed after the drain: counted once, not retried; the late one was never sent.
    expect(await drops()).toBe(2);
    expect(tries.get("in-flight")).toBe(1);
    expect(tries.has("late")).toBe(false);
    expect(queue.depth).toBe(0);
  });
});
