/**
 * src/worker/batch.ts: processBatch's settle rules with in-memory ports: ack only after both
 * writes, dead-letter a record that keeps failing, and never dead-letter during an outage of the
 * database or object store.
 */
import { captureObjectPrefix } from "../../src/core/storage/object-key.js";
import { randomUUID } from "node:crypto";
import { expect, it } from "vitest";
import type { CaptureRecord } from "../../src/core/record.js";
import type { InboundMessage } from "../../src/core/ports.js";
import { processBatch, type BatchDeps } from "../../src/worker/batch.js";
import { png } from "../support/bytes.js";
import {
  FakeBlobStore,
  FakeCaptureRepository,
  FakeLargeBodyStore,
  inboundMessage,
  nothingSettled,
  type Settled,
} from "../support/fakes.js";
import { capturedBody, newRecord } from "../support/records.js";
import { batchDeps } from "../support/worker.js";

function record(id: string): CaptureRecord {
  return newRecord({
    id,
    model: "m",
    route: "r",
    cluster: "c",
    path: "/predict",
    ttfbUs: 10,
    durationUs: 20,
    request: capturedBody("application/json", '{"x":1}'),
    response: capturedBody("application/json", '{"y":2}'),
  });
}

const message = (deliveryCount: number, out: Settled): InboundMessage =>
  inboundMessage(record(randomUUID()), deliveryCount, out);

function deps(opts: { failWrites: boolean; up: boolean; failIds?: Set<string> }): BatchDeps & {
  repo: FakeCaptureRepository;
} {
  const blobs = new FakeBlobStore();
  if (opts.failWrites) blobs.failWith = new Error("connect ECONNREFUSED 127.0.0.1:8333");
  const repo = new FakeCaptureRepository();
  const insert = repo.insertCaptures.bind(repo);
  repo.insertCaptures = async (batch) => {
    if (batch.some((r) => opts.failIds?.has(r.id))) throw new Error("value too long");
    return insert(batch);
  };
  return { ...batchDeps({ blobs, repo, dependenciesUp: async () => opts.up }), repo };
}

const stored = (d: { repo: FakeCaptureRepository }) => [...d.repo.rows.values()];

it("acks every message once its body objects and row are written", async () => {
  const out = nothingSettled();
  const d = deps({ failWrites: false, up: true });
  await processBatch([message(1, out), message(1, out)], d);
  expect(out).toEqual({ acked: 2, naked: [], deadLettered: [] });
  expect(stored(d)).toHaveLength(2);
});

it("puts a whole batch back with backoff during an outage, and never dead-letters then", async () => {
  const out = nothingSettled();
  const d = deps({ failWrites: true, up: false });
  // Delivered far more often than maxDeliver (3): still an outage, not a poison record.
  await processBatch([message(1, out), message(9, out)], d);
  expect(out.acked).toBe(0);
  expect(out.deadLettered).toEqual([]);
  expect(out.naked).toEqual([250, 10_000]);
  expect(stored(d)).toHaveLength(0);
  expect(
    (await d.metrics.registry.getSingleMetric("modeltap_worker_outage_batches_total")!.get()).values[0]!
      .value,
  ).toBe(1);
});

it("dead-letters only the record that keeps failing while its dependencies answer", async () => {
  const out = nothingSettled();
  const good = message(3, out);
  const bad = message(3, out);
  const badId = d0(bad);
  const d = deps({ failWrites: false, up: true, failIds: new Set([badId]) });
  await processBatch([good, bad], d);
  expect(out.acked).toBe(1);
  expect(out.deadLettered).toHaveLength(1);
  expect(out.deadLettered[0]).toMatch(/failed 3 deliveries: value too long/);
  expect(stored(d).map((r) => r.id)).not.toContain(badId);
});

it("retries a failing record with backoff before its last delivery", async () => {
  const out = nothingSettled();
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

it("stores input images, inline or parked, as objects and deletes the parked one after the ack", async () => {
  const out = nothingSettled();
  const [small, parked] = [png(4, 3), png(5, 2)];
  const analysis = {
    schema_version: 1,
    task: "image_classification",
    protocol: "hf_pipeline",
    instances: [0, 1].map(() => ({
      input: { image: { width: 4, height: 3, format: "png" } },
      prediction: null,
    })),
  };
  const rec = newRecord({
    ...record("img-1"),
    startedAtUs: Date.UTC(2026, 0, 2, 3) * 1000,
    analysisJson: Buffer.from(JSON.stringify(analysis)),
    inputImages: [
      { instance: 0, contentType: "image/png", data: small, objectRef: "", sizeBytes: small.byteLength },
      {
        instance: 1,
        contentType: "image/png",
        data: new Uint8Array(0),
        objectRef: "img-1/input-1",
        sizeBytes: 9,
      },
    ],
  });
  const largeBodies = new FakeLargeBodyStore([["img-1/input-1", parked]]);
  const blobs = new FakeBlobStore();
  const repo = new FakeCaptureRepository();
  await processBatch(
    [inboundMessage(rec, 1, out)],
    batchDeps({ blobs, repo, largeBodies, rowInlineMaxBytes: 8192 }),
  );
  expect(out.acked).toBe(1);
  const prefix = captureObjectPrefix({ model: "m", version: "1", id: "img-1", startedAtUs: rec.startedAtUs });
  expect(prefix).toMatch(/^m\/1\/2026\/01\/02\/03\/r-[0-9a-f]{64}$/);
  expect(blobs.objects.get(`${prefix}/input-0.png`)).toEqual(small);
  expect(blobs.objects.get(`${prefix}/input-1.png`)).toEqual(parked);
  expect(largeBodies.bodies.size).toBe(0);
  const images = repo.rows.get("img-1")!.analysis!.instances.map((i) => i.input.image?.uri);
  expect(images).toEqual([`s3://bucket/${prefix}/input-0.png`, `s3://bucket/${prefix}/input-1.png`]);
});

it("reads a parked analysis back before persisting, and deletes it after the ack", async () => {
  const out = nothingSettled();
  const analysis = {
    schema_version: 1,
    task: "tabular_regression",
    protocol: "kserve_v2",
    instances: [{ input: { features: { x: 1 } }, prediction: { kind: "regression", value: 2 } }],
  };
  const rec = { ...record("big-1"), task: "tabular_regression", analysisRef: "big-1/analysis" };
  const largeBodies = new FakeLargeBodyStore([["big-1/analysis", Buffer.from(JSON.stringify(analysis))]]);
  const repo = new FakeCaptureRepository();
  await processBatch(
    [inboundMessage(rec, 1, out)],
    batchDeps({ blobs: new FakeBlobStore(), repo, largeBodies }),
  );
  expect(out).toEqual({ acked: 1, naked: [], deadLettered: [] });
  expect(repo.rows.get("big-1")!.analysis).toEqual(analysis);
  expect(repo.rows.get("big-1")!.predictions).toEqual([{ kind: "regression", value: 2 }]);
  expect(largeBodies.bodies.size).toBe(0);
});

it("retries a record whose parked analysis is missing, and acks it when it was already stored", async () => {
  const rec = { ...record("big-2"), analysisRef: "big-2/analysis" };
  const d = deps({ failWrites: false, up: true });
  const missing = nothingSettled();
  await processBatch([inboundMessage(rec, 1, missing)], d);
  expect(missing).toMatchObject({ acked: 0, deadLettered: [] });
  expect(missing.naked).toHaveLength(1);
  // An earlier delivery was stored and its parked analysis deleted; only its ack was lost.
  await processBatch([inboundMessage({ ...rec, analysisRef: "" }, 1, nothingSettled())], d);
  const again = nothingSettled();
  await processBatch([inboundMessage(rec, 2, again)], d);
  expect(again).toEqual({ acked: 1, naked: [], deadLettered: [] });
});

it("tells the broker a batch is still being worked on while it persists, so ack_wait does not redeliver it", async () => {
  const out = nothingSettled();
  const blobs = new FakeBlobStore();
  const slow: typeof blobs = Object.assign(Object.create(blobs) as typeof blobs, {
    put: async (k: string, b: Uint8Array) => {
      await new Promise((r) => setTimeout(r, 60));
      await blobs.put(k, b);
    },
  });
  const rec = newRecord({
    ...record("slow-1"),
    request: capturedBody("application/octet-stream", "x".repeat(100)),
  });
  await processBatch(
    [inboundMessage(rec, 1, out)],
    batchDeps({ blobs: slow, repo: new FakeCaptureRepository(), workingEveryMs: 10 }),
  );
  expect(out.acked).toBe(1);
  expect(out.working ?? 0).toBeGreaterThanOrEqual(2);
});
