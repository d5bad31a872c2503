/**
 * Fail-open and no-loss drills against the real processes: kill the collector under traffic, kill
 * the worker mid-stream, and count what the clients and the database saw.
 */
import { afterAll, expect, it } from "vitest";
import { irisBody, nerBody } from "../../tools/demo/payloads.js";
import { pool, send } from "../support/http.js";
import { restartService, serviceByName, stackContext } from "../../tools/stack/stack.js";
import { stopPid, waitFor } from "../../tools/stack/process.js";
import { envoyReady } from "../../tools/stack/services.js";
import {
  NORMAL,
  OBS,
  collectorMetric,
  config,
  db,
  envoyStats,
  rowsFor,
  stat,
  waitForRows,
} from "./helpers.js";

const pg = db();
const ctx = stackContext(config);
afterAll(async () => {
  // Leave the stack whole for whatever runs next.
  await restartService("collector", ctx);
  await restartService("worker", ctx);
  await collectorHealthy();
  await pg.end();
});

/** Until Envoy's health check has the normal-mode collector cluster up again. */
function collectorHealthy(): Promise<void> {
  return waitFor(
    "the collector, as Envoy's health check sees it",
    () => envoyReady(config.ports.envoyAdmin),
    30_000,
    "envoy /clusters",
  );
}

interface Timed {
  id: string;
  status: number;
  ms: number;
}

/**
 * Paced requests for `ms` milliseconds: `concurrency` clients, each sending at most one request
 * per `paceMs` (so the worker can store the lot within the test's time), each one timed.
 */
async function trafficFor(base: string, ms: number, concurrency: number, paceMs: number): Promise<Timed[]> {
  const out: Timed[] = [];
  const end = Date.now() + ms;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < end) {
        const t0 = performance.now();
        const s = await send(`${base}/models/ner`, nerBody(out.length));
        const took = performance.now() - t0;
        out.push({ id: s.id, status: s.status, ms: took });
        if (took < paceMs) await new Promise((r) => setTimeout(r, paceMs - took));
      }
    }),
  );
  return out;
}

/** SIGSTOP the collector while `during` runs, then SIGCONT, whatever happens. */
async function withCollectorStopped<T>(during: () => Promise<T>): Promise<T> {
  const pid = serviceByName("collector").pid(ctx);
  expect(pid, "collector should be running").toBeDefined();
  process.kill(pid!, "SIGSTOP");
  try {
    return await during();
  } finally {
    process.kill(pid!, "SIGCONT");
  }
}

it("a stalled collector (SIGSTOP 8 s) slows neither mode; observability loses nothing, normal fails open within the health check", async () => {
  const STALL_MS = 8000;
  // Observability mode: Envoy never waits, and holds each ended exchange's stream for
  // deferred_close_timeout (30 s), so the collector reads every one of them once it resumes.
  const exchangesBefore = await collectorMetric("modeltap_exchanges_total", { mode: "observability" });
  const obs = await withCollectorStopped(() => trafficFor(OBS, STALL_MS, 4, 20));
  expect(obs.filter((t) => t.status !== 200)).toEqual([]);
  const obsSlowest = Math.max(...obs.map((t) => t.ms));
  const rows = await waitForRows(
    pg,
    obs.map((t) => t.id),
    obs.length,
    90_000,
  );
  const seen =
    (await collectorMetric("modeltap_exchanges_total", { mode: "observability" })) - exchangesBefore;
  console.log(
    `observability: ${obs.length} requests during an ${STALL_MS / 1000} s stall, slowest ${obsSlowest.toFixed(0)} ms; ` +
      `${seen} reached the collector, ${rows.length} stored`,
  );
  expect(obsSlowest).toBeLessThan(STALL_MS / 2);
  expect(rows).toHaveLength(obs.length);

  // Normal mode: Envoy waits on the collector, up to message_timeout (0.2 s) a message, until its
  // health check marks the collector down; from then on the filter fails open at once.
  await collectorHealthy();
  const before = await envoyStats();
  const normal = await withCollectorStopped(() => trafficFor(NORMAL, STALL_MS, 4, 20));
  const after = await envoyStats();
  const delta = (name: string) =>
    stat(after, "inference_normal", name) - stat(before, "inference_normal", name);
  expect(normal.filter((t) => t.status !== 200)).toEqual([]);
  const timeouts = delta("message_timeouts");
  const slow = normal.filter((t) => t.ms >= 200).length;
  console.log(
    `normal: ${normal.length} requests during an ${STALL_MS / 1000} s stall, ${slow} took >= 200 ms; ` +
      `message_timeouts +${timeouts}, failure_mode_allowed +${delta("failure_mode_allowed")}`,
  );
  // Without the health check every request in the stall waits 0.2 s: 4 clients x 8 s / 0.2 s =
  // 160 timeouts. With it, only the detection window (~1.5 s) pays: about 30.
  expect(timeouts).toBeLessThan(80);
  expect(delta("failure_mode_allowed")).toBeGreaterThan(timeouts);

  // Capture in normal mode resumes once the collector answers its health check again.
  await collectorHealthy();
  const resumed = await pool(10, 4, (i) => send(`${NORMAL}/v2/models/iris/infer`, irisBody(i)));
  expect(
    await waitForRows(
      pg,
      resumed.map((s) => s.id),
    ),
  ).toHaveLength(10);
});

function kill(name: string): Promise<void> {
  const pid = serviceByName(name).pid(ctx);
  expect(pid, `${name} should be running`).toBeDefined();
  return stopPid(pid!, "SIGKILL");
}

it("with the collector killed, every client request still succeeds (fail-open), and capture resumes on restart", async () => {
  const before = await envoyStats();
  await kill("collector");
  const N = 100;
  const sent = [
    ...(await pool(N, 8, (i) => send(`${OBS}/v2/models/iris/infer`, irisBody(i)))),
    ...(await pool(N, 8, (i) => send(`${NORMAL}/v2/models/iris/infer`, irisBody(i)))),
  ];
  const failed = sent.filter((s) => s.status !== 200);
  expect(failed.map((s) => s.error ?? s.status)).toEqual([]);
  const after = await envoyStats();
  const allowed = (l: "inference" | "inference_normal") =>
    stat(after, l, "failure_mode_allowed") - stat(before, l, "failure_mode_allowed");
  console.log(
    `failure_mode_allowed rose by ${allowed("inference")} (observability) and ${allowed("inference_normal")} (normal) over ${N} requests each`,
  );
  expect(allowed("inference_normal")).toBeGreaterThan(0);
  expect(allowed("inference")).toBeGreaterThan(0);

  await restartService("collector", ctx);
  const resumed = await pool(10, 4, (i) => send(`${OBS}/v2/models/iris/infer`, irisBody(i)));
  expect(
    await waitForRows(
      pg,
      resumed.map((s) => s.id),
    ),
  ).toHaveLength(10);
});

it("a worker killed mid-stream loses and duplicates nothing once restarted", async () => {
  const N = 300;
  let killed = false;
  const sending = pool(N, 4, async (i) => {
    if (i === 100) {
      await kill("worker");
      killed = true;
    }
    if (i === 200) await restartService("worker", ctx);
    return send(`${OBS}/v2/models/iris/infer`, irisBody(i));
  });
  const sent = await sending;
  expect(killed).toBe(true);
  expect(sent.every((s) => s.status === 200)).toBe(true);
  const ids = sent.map((s) => s.id);
  const rows = await waitForRows(pg, ids, N, 60_000);
  expect(rows).toHaveLength(N);
  const dup = await pg.query<{ n: string }>(
    "SELECT count(*) - count(DISTINCT request_id) AS n FROM captures WHERE request_id = ANY($1)",
    [ids],
  );
  expect(Number(dup.rows[0]!.n)).toBe(0);
  const stored = await rowsFor(pg, ids);
  expect(
    stored.every(
      (r) => (r.request_body || r.request_object_key) && (r.response_body || r.response_object_key),
    ),
  ).toBe(true);
});
