/**
 * The ground-truth loop's two numbers, on the local real stack (127.0.0.1 only):
 *  - export throughput: with `modeltap api` stopped, captures chosen for labeling queue up; the api
 *    is started and the time to drain the backlog into Label Studio (tasks with pre-annotations)
 *    is measured from its first claim to its last export, per task kind;
 *  - webhook-to-row latency: annotations created through Label Studio's API, timed until the
 *    ground-truth row is visible in the database.
 * Sizes: BENCH_LABEL_TASKS (default 2000) per kind, BENCH_ANNOTATIONS (default 100).
 */
import pg from "pg";
import { loadStackConfig } from "../stack/settings.js";
import { nerBody, pngImage } from "../demo/payloads.js";
import { pool, send } from "../demo/traffic.js";
import { localSecrets } from "../stack/services.js";
import { restartService, serviceByName, stackContext, stackUp } from "../stack/stack.js";
import { envInt, percentile, sleep, writeResults } from "./common.js";

const config = loadStackConfig();
const OBS = `http://127.0.0.1:${config.ports.envoy}`;
const LS = `http://127.0.0.1:${config.ports.labelStudio}`;
const TASKS = envInt("BENCH_LABEL_TASKS", 2000, 100_000);
const ANNOTATIONS = envInt("BENCH_ANNOTATIONS", 100, 100_000);

async function untilAll(db: pg.Pool, ids: string[], state: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  for (;;) {
    const r = await db.query<{ n: string }>(
      "SELECT count(*) AS n FROM label_exports WHERE capture_id IN (SELECT id FROM captures WHERE request_id = ANY($1)) AND state = $2",
      [ids, state],
    );
    const n = Number(r.rows[0]!.n);
    if (n !== last) process.stderr.write(`\r  ${state}: ${n}/${ids.length}   `);
    last = n;
    if (n >= ids.length) break;
    if (Date.now() > deadline) throw new Error(`only ${n} of ${ids.length} reached ${state}`);
    await sleep(100);
  }
  process.stderr.write("\n");
}

interface ExportRow {
  kind: string;
  tasks: number;
  seconds: number;
  perMinute: number;
}

async function exportThroughput(
  db: pg.Pool,
  kind: string,
  sendOne: (i: number) => Promise<{ id: string; status: number }>,
): Promise<ExportRow> {
  const ctx = stackContext(config);
  console.error(`export throughput, ${kind}: stopping the api, queueing ${TASKS} captures`);
  await serviceByName("api").stop(ctx);
  const sent = await pool(TASKS, 16, sendOne);
  const bad = sent.filter((s) => s.status !== 200);
  if (bad.length) throw new Error(`${bad.length} requests failed`);
  const ids = sent.map((s) => s.id);
  await untilAll(db, ids, "pending", 120_000);
  await restartService("api", ctx);
  await untilAll(db, ids, "exported", 600_000);
  // From the exporter's first claim to its last recorded export (the database's clock for both).
  const r = await db.query<{ first: Date; last: Date }>(
    "SELECT min(first_claimed_at) AS first, max(exported_at) AS last FROM label_exports WHERE capture_id IN (SELECT id FROM captures WHERE request_id = ANY($1))",
    [ids],
  );
  const seconds = (r.rows[0]!.last.getTime() - r.rows[0]!.first.getTime()) / 1000;
  return { kind, tasks: ids.length, seconds, perMinute: (ids.length / seconds) * 60 };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Label Studio's JSON
async function ls(method: string, p: string, token: string, body?: unknown): Promise<any> {
  const res = await fetch(`${LS}${p}`, {
    method,
    headers: { authorization: `Token ${token}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!res.ok) throw new Error(`Label Studio ${method} ${p}: ${res.status}`);
  return res.json();
}

/** The api's own timing of webhook requests: arrival to ground-truth row committed. */
async function webhookSeconds(): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`http://127.0.0.1:${config.ports.api}/metrics`)).text();
  const get = (suffix: string) =>
    Number(
      new RegExp(`^modeltap_api_request_seconds_${suffix}\\{endpoint="webhook"\\} (\\S+)$`, "m").exec(
        text,
      )?.[1] ?? 0,
    );
  return { sum: get("sum"), count: get("count") };
}

async function webhookLatency(
  db: pg.Pool,
): Promise<{ n: number; p50: number; p95: number; max: number; callP50: number; receiverMeanMs: number }> {
  const token = localSecrets(config).labelStudioToken;
  const before = await webhookSeconds();
  const r = await db.query<{ capture_id: string; task_ref: string }>(
    `SELECT le.capture_id, le.task_ref FROM label_exports le
      WHERE le.state = 'exported' AND le.model = 'ner'
        AND NOT EXISTS (SELECT 1 FROM ground_truth g WHERE g.capture_id = le.capture_id)
      ORDER BY le.exported_at DESC LIMIT $1`,
    [ANNOTATIONS],
  );
  console.error(`webhook-to-row latency over ${r.rows.length} annotations`);
  const total: number[] = [];
  const call: number[] = [];
  for (const row of r.rows) {
    const task = await ls("GET", `/api/tasks/${row.task_ref}`, token);
    const result = (task.predictions[0]?.result ?? []).slice(0, 1);
    const t0 = performance.now();
    await ls("POST", `/api/tasks/${row.task_ref}/annotations`, token, { result });
    call.push(performance.now() - t0);
    for (;;) {
      const g = await db.query("SELECT 1 FROM ground_truth WHERE capture_id = $1", [row.capture_id]);
      if (g.rowCount) break;
      if (performance.now() - t0 > 30_000) throw new Error(`no ground truth for ${row.capture_id}`);
      await sleep(2);
    }
    total.push(performance.now() - t0);
  }
  total.sort((a, b) => a - b);
  call.sort((a, b) => a - b);
  const after = await webhookSeconds();
  return {
    receiverMeanMs: ((after.sum - before.sum) / Math.max(1, after.count - before.count)) * 1000,
    n: total.length,
    p50: percentile(total, 50),
    p95: percentile(total, 95),
    max: total[total.length - 1]!,
    callP50: percentile(call, 50),
  };
}

async function main(): Promise<void> {
  await stackUp(config, { progress: (l) => console.error(`[stack] ${l}`) });
  const db = new pg.Pool({ connectionString: config.databaseUrl, max: 4 });
  try {
    const image = pngImage(640, 480);
    const rows = [
      await exportThroughput(db, "NER text", (i) => send(`${OBS}/models/ner`, nerBody(i))),
      await exportThroughput(db, "OD image 640x480", () =>
        send(`${OBS}/predictions/detector`, image, { contentType: "image/png" }),
      ),
    ];
    const hook = await webhookLatency(db);
    const lines = [
      `Ground-truth loop on the local stack (Label Studio ${"1.23"}, one machine; backlog of ${TASKS} captures per kind, batches of ${config.labelExport.batch})`,
      "",
      "| measure | value |",
      "|---|---|",
      ...rows.map(
        (r) =>
          `| export throughput, ${r.kind} | ${Math.round(r.perMinute)} tasks/min (${r.tasks} tasks in ${r.seconds.toFixed(1)} s) |`,
      ),
      `| webhook-to-row latency (annotation POST → ground-truth row), p50 / p95 / max | ${hook.p50.toFixed(0)} / ${hook.p95.toFixed(0)} / ${hook.max.toFixed(0)} ms over ${hook.n} annotations |`,
      `| of which Label Studio's annotation call (the webhook runs inside it), p50 | ${hook.callP50.toFixed(0)} ms |`,
      `| of which modeltap's receiver, webhook arrival → row committed, mean | ${hook.receiverMeanMs.toFixed(1)} ms |`,
    ];
    console.log(lines.join("\n"));
    writeResults("labeling", { rows, hook }, lines);
  } finally {
    await db.end();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
