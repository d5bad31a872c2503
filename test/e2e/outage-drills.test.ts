/**
 * Dependency outages under load, 30 s each, against the real processes: NATS stopped (the collector
 * buffers), then Postgres down, then S3 down (the worker puts batches back and waits). Each drill
 * counts what the clients saw and what was stored: nothing may be lost, nothing stored twice,
 * nothing dead-lettered, and no message acked before its row and objects were written.
 */
import { connect, type NatsConnection } from "nats";
import { afterAll, beforeAll, expect, it } from "vitest";
import { STREAM, WORKER_DURABLE } from "../../src/adapters/nats/streams.js";
import { send } from "../support/http.js";
import { restartService, serviceByName, stackContext } from "../../tools/stack/stack.js";
import {
  OBS,
  collectorMetric,
  config,
  db,
  rowsFor,
  storedBody,
  waitForRows,
  workerMetric,
} from "./helpers.js";

const OUTAGE_MS = 30_000;
const BODY = Buffer.alloc(10 * 1024, 7);
const pg = db();
const ctx = stackContext(config);
let nc: NatsConnection;

beforeAll(async () => {
  nc = await connect({ servers: config.natsUrl, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
});

afterAll(async () => {
  for (const name of ["postgres", "s3", "nats"]) await restartService(name, ctx);
  await nc.close();
  await pg.end();
});

interface Timed {
  id: string;
  status: number;
  ms: number;
}

/**
 * Two clients, each at most one request per 50 ms, for `ms`: about 40 requests a second. The
 * bodies (10 KB, echoed) are over MODELTAP_ROW_INLINE_MAX_BYTES, so every capture needs both
 * object storage and the database.
 */
async function trafficFor(ms: number): Promise<Timed[]> {
  const out: Timed[] = [];
  const end = Date.now() + ms;
  await Promise.all(
    [0, 1].map(async () => {
      while (Date.now() < end) {
        const t0 = performance.now();
        const s = await send(`${OBS}/v2/models/echo/infer`, BODY, {
          contentType: "application/octet-stream",
        });
        const took = performance.now() - t0;
        out.push({ id: s.id, status: s.status, ms: took });
        if (took < 50) await new Promise((r) => setTimeout(r, 50 - took));
      }
    }),
  );
  return out;
}

/** Messages JetStream still holds for the worker: not yet delivered, or delivered and not acked. */
async function unacked(): Promise<number> {
  const info = await (await nc.jetstreamManager()).consumers.info(STREAM, WORKER_DURABLE);
  return info.num_pending + info.num_ack_pending;
}

async function expectAllStoredOnce(sent: readonly Timed[]): Promise<void> {
  const ids = sent.map((t) => t.id);
  const rows = await waitForRows(pg, ids, ids.length, 120_000);
  expect(rows).toHaveLength(ids.length);
  const dup = await pg.query<{ n: string }>(
    "SELECT count(*) - count(DISTINCT request_id) AS n FROM captures WHERE request_id = ANY($1)",
    [ids],
  );
  expect(Number(dup.rows[0]!.n)).toBe(0);
  // Every row's bodies are objects, and exist: no row was written ahead of its objects.
  for (const r of await rowsFor(pg, ids)) {
    expect(r.request_object_key, r.id).not.toBeNull();
    expect(await storedBody(r, "request"), r.id).toBeDefined();
    expect(await storedBody(r, "response"), r.id).toBeDefined();
  }
}

function expectInferenceUnaffected(sent: readonly Timed[], what: string): void {
  const slowest = Math.max(...sent.map((t) => t.ms));
  console.log(
    `${what}: ${sent.length} requests over ${OUTAGE_MS / 1000} s, slowest ${slowest.toFixed(0)} ms`,
  );
  expect(sent.filter((t) => t.status !== 200)).toEqual([]);
  // Nothing waited on the dead dependency (a NATS publish times out after 5 s).
  expect(slowest).toBeLessThan(2000);
}

it("NATS stopped for 30 s under load: inference unaffected, the collector's buffer holds every capture, and all arrive without a restart", async () => {
  const dropsBefore = await collectorMetric("modeltap_capture_drops_total");
  await serviceByName("nats").stop(ctx);
  const sending = trafficFor(OUTAGE_MS);
  await new Promise((r) => setTimeout(r, OUTAGE_MS / 2));
  const buffered = await collectorMetric("modeltap_publish_buffer_records");
  const sent = await sending;
  await restartService("nats", ctx);
  expectInferenceUnaffected(sent, "NATS down");
  console.log(`NATS down: ${buffered} captures held in the collector's buffer halfway through`);
  expect(buffered).toBeGreaterThan(0);
  await expectAllStoredOnce(sent);
  expect(await collectorMetric("modeltap_capture_drops_total")).toBe(dropsBefore);
});

for (const dependency of ["postgres", "s3"] as const) {
  it(`${dependency} down for 30 s under load: nothing acked early, nothing dead-lettered, all stored once it is back`, async () => {
    const deadBefore = await workerMetric("modeltap_worker_dead_lettered_total");
    const outagesBefore = await workerMetric("modeltap_worker_outage_batches_total");
    const publishedBefore = await collectorMetric("modeltap_captures_published_total");
    await serviceByName(dependency).stop(ctx);
    const sent = await trafficFor(OUTAGE_MS);
    expectInferenceUnaffected(sent, `${dependency} down`);
    // Everything captured during the outage reached JetStream, and none of it was acked.
    const published = (await collectorMetric("modeltap_captures_published_total")) - publishedBefore;
    const held = await unacked();
    console.log(
      `${dependency} down: ${published} captures published, ${held} unacked in JetStream at the end`,
    );
    expect(published).toBe(sent.length);
    expect(held).toBeGreaterThanOrEqual(published);
    if (dependency === "s3") {
      // Postgres is up: a row written ahead of its objects would show here.
      expect(
        await rowsFor(
          pg,
          sent.map((t) => t.id),
        ),
      ).toEqual([]);
    }
    await restartService(dependency, ctx);
    await expectAllStoredOnce(sent);
    expect(await workerMetric("modeltap_worker_dead_lettered_total")).toBe(deadBefore);
    const outages = (await workerMetric("modeltap_worker_outage_batches_total")) - outagesBefore;
    console.log(`${dependency} down: the worker put ${outages} batches back and waited`);
    expect(outages).toBeGreaterThan(0);
  });
}
