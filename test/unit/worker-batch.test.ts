/**
 * processBatch's settle rules with in-memory ports: ack only after both writes, dead-letter a record
 * that keeps failing, and never dead-letter during an outage of the database or object store.
 */
import { randomUUID } from "node:crypto";
import { expect, it } from "vitest";
import type { CaptureRow } from "../../src/core/ports.js";
import type { BlobStore, CaptureRepository } from "../../src/core/ports.js";
import { encodeRecord } from "../../src/core/storage/record-codec.js";
import { emptyBody, type CaptureRecord } from "../../src/core/record.js";
import { newRecord } from "../support/records.js";
import { createLogger } from "../../src/log.js";
import { processBatch, type BatchDeps } from "../../src/worker/batch.js";
import { type InboundMessage } from "../../src/core/ports.js";
import { createWorkerMetrics } from "../../src/worker/metrics.js";

function record(id: string): CaptureRecord {
  const body = (text: string) => ({
    ...emptyBody(),
    contentType: "application/json",
    data: Buffer.from(text),
    sizeBytes: text.length,
    wireSizeBytes: text.length,
  });
  return newRecord({
    id,
    model: "m",
    route: "r",
    cluster: "c",
    path: "/predict",
    ttfbUs: 10,
    durationUs: 20,
    request: body('{"x":1}'),
    response: body('{"y":2}'),
  });
}

interface Outcome {
  acked: number;
  naked: number[];
  deadLettered: string[];
}

function message(deliveryCount: number, out: Outcome): InboundMessage {
  return {
    data: encodeRecord(record(randomUUID())),
    subject: "modeltap.captures.m",
    deliveryCount,
    ack: async () => void out.acked++,
    nak: (ms) => void out.naked.push(ms),
    deadLetter: async (reason) => void out.deadLettered.push(reason),
  };
}

function deps(opts: {
  failWrites: boolean;
  up: boolean;
  failIds?: Set<string>;
}): BatchDeps & { rows: CaptureRow[] } {
  const rows: CaptureRow[] = [];
  const blobs: BlobStore = {
    put: async () => {
      if (opts.failWrites) throw new Error("connect ECONNREFUSED 127.0.0.1:8333");
    },
    get: async () => undefined,
    uri: (k) => `s3://b/${k}`,
  };
  const repo: CaptureRepository = {
    insertCaptures: async (batch) => {
      if (batch.some((r) => opts.failIds?.has(r.id))) throw new Error("value too long");
      rows.push(...batch);
      return batch.length;
    },
    listCaptures: async () => rows,
    getCapture: async (id) => rows.find((r) => r.id === id),
  };
  return {
    rows,
    blobs,
    repo,
    largeBodies: { get: async () => undefined, delete: async () => undefined },
    metrics: createWorkerMetrics(),
    log: createLogger("silent", "test"),
    maxDeliver: 3,
    concurrency: 4,
    rowInlineMaxBytes: 0,
    dependenciesUp: async () => opts.up,
    outagePollMs: 1,
    outageMaxWaitMs: 5,
  };
}

it("acks every message once its body objects and row are written", async () => {
  const out: Outcome = { acked: 0, naked: [], deadLettered: [] };
  const d = deps({ failWrites: false, up: true });
  await processBatch([message(1, out), message(1, out)], d);
  expect(out).toEqual({ acked: 2, naked: [], deadLettered: [] });
  expect(d.rows).toHaveLength(2);
});

it("puts a whole batch back with backoff during an outage, and never dead-letters then", async () => {
  const out: Outcome = { acked: 0, naked: [], deadLettered: [] };
  const d = deps({ failWrites: true, up: false });
  // Delivered far more often than maxDeliver (3): still an outage, not a poison record.
  await processBatch([message(1, out), message(9, out)], d);
  expect(out.acked).toBe(0);
  expect(out.deadLettered).toEqual([]);
  expect(out.naked).toEqual([250, 10_000]);
  expect(d.rows).toHaveLength(0);
  expect(
    (await d.metrics.registry.getSingleMetric("modeltap_worker_outage_batches_total")!.get()).values[0]!
      .value,
  ).toBe(1);
});

it("dead-letters only the record that keeps failing while its dependencies answer", async () => {
  const out: Outcome = { acked: 0, naked: [], deadLettered: [] };
  const good = message(3, out);
  const bad = message(3, out);
  const badId = d0(bad);
  const d = deps({ failWrites: false, up: true, failIds: new Set([badId]) });
  await processBatch([good, bad], d);
  expect(out.acked).toBe(1);
  expect(out.deadLettered).toHaveLength(1);
  expect(out.deadLettered[0]).toMatch(/failed 3 deliveries: value too long/);
  expect(d.rows.map((r) => r.id)).not.toContain(badId);
});

it("retries a failing record with backoff before its last delivery", async () => {
  const out: Outcome = { acked: 0, naked: [], deadLettered: [] };
  const bad = message(1, out);
  const d = deps({ failWrites: false, up: true, failIds: new Set([d0(bad)]) });
  await processBatch([bad], d);
  expect(out).toEqual({ acked: 0, naked: [250], deadLettered: [] });
});

/** The capture id inside a message. */
function d0(m: InboundMessage): string {
  return /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/.exec(
    Buffer.from(m.data).toString("latin1"),
  )![0];
}
