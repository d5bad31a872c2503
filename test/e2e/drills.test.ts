/**
 * Fail-open and no-loss drills against the real processes: kill the collector under traffic, kill
 * the worker mid-stream, and count what the clients and the database saw.
 */
import { afterAll, expect, it } from "vitest";
import { irisBody, pool, send } from "../../src/demo/traffic.js";
import { restartService, serviceByName, stackContext } from "../../src/stack/stack.js";
import { stopPid } from "../../src/stack/process.js";
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
  await restartService("nats", ctx);
  await restartService("collector", ctx);
  await restartService("worker", ctx);
  await pg.end();
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

it("with NATS down, traffic is unaffected and buffered captures arrive once NATS is back", async () => {
  const bufferedBefore = await collectorMetric("modeltap_captures_published_total");
  await kill("nats");
  const N = 50;
  const started = Date.now();
  const sent = await pool(N, 4, (i) => send(`${OBS}/v2/models/iris/infer`, irisBody(i)));
  const elapsed = Date.now() - started;
  expect(sent.filter((s) => s.status !== 200)).toEqual([]);
  // Nothing waited on NATS: 50 small requests take well under the 5 s publish timeout.
  expect(elapsed).toBeLessThan(5000);
  expect(await collectorMetric("modeltap_publish_buffer_records")).toBeGreaterThan(0);
  await restartService("nats", ctx);
  const rows = await waitForRows(
    pg,
    sent.map((s) => s.id),
    N,
    60_000,
  );
  expect(rows).toHaveLength(N);
  expect(await collectorMetric("modeltap_captures_published_total")).toBeGreaterThanOrEqual(
    bufferedBefore + N,
  );
  expect(await collectorMetric("modeltap_capture_drops_total")).toBe(0);
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
    "SELECT count(*) - count(DISTINCT id) AS n FROM captures WHERE id = ANY($1)",
    [ids],
  );
  expect(Number(dup.rows[0]!.n)).toBe(0);
  expect((await rowsFor(pg, ids)).every((r) => r.request_object_key && r.response_object_key)).toBe(true);
});
