/**
 * Worker persistence on the local real stack (127.0.0.1 only):
 *  - tabular records per second and image MB/s to S3, from a JetStream stream pre-filled while the
 *    worker is stopped (records built by the collector's own analysis, published by its publisher);
 *  - capture lag under steady traffic through Envoy: from the client seeing the response end to the
 *    row being visible in Postgres.
 * Sizes: BENCH_WORKER_TABULAR (default 20000), BENCH_WORKER_IMAGES (default 500, 200 KB each),
 * BENCH_LAG_SECONDS (default 15) at BENCH_LAG_RPS (default 200).
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { connectNats } from "../../src/adapters/nats/connection.js";
import { JetStreamRecordPublisher } from "../../src/adapters/nats/record-publisher.js";
import { loadStackConfig } from "../stack/settings.js";
import { emptyBody, type CaptureRecord } from "../../src/core/record.js";
import { newRecord } from "../../test/support/records.js";
import { compileRouteConfig } from "../../src/core/route-config.js";
import { irisBody } from "../demo/payloads.js";
import { send } from "../demo/traffic.js";
import { createLogger } from "../../src/log.js";
import { PluginRegistry } from "../../src/plugins/registry.js";
import { restartService, serviceByName, stackContext, stackUp } from "../stack/stack.js";
import { noisyPng } from "./images.js";
import { analyzeAsCollector, envInt, percentile, sleep, writeResults } from "./common.js";

const config = loadStackConfig();
const ctx = stackContext(config);
const OBS = `http://127.0.0.1:${config.ports.envoy}`;
const TABULAR = envInt("BENCH_WORKER_TABULAR", 20_000, 1_000_000);
const IMAGES = envInt("BENCH_WORKER_IMAGES", 500, 100_000);
const LAG_SECONDS = envInt("BENCH_LAG_SECONDS", 15, 600);
const LAG_RPS = envInt("BENCH_LAG_RPS", 200, 5000);

function body(contentType: string, data: Buffer) {
  return { ...emptyBody(), contentType, data, sizeBytes: data.length, wireSizeBytes: data.length };
}

/** A record as the collector would publish it, analysis included. */
function buildRecord(
  model: string,
  route: Record<string, unknown>,
  request: ReturnType<typeof body>,
  response: ReturnType<typeof body>,
  plugins: PluginRegistry,
): CaptureRecord {
  const cfg = compileRouteConfig(plugins, { ...route, model });
  if (!cfg?.ok) throw new Error(cfg ? cfg.problems.join("; ") : "no config");
  const record = newRecord({
    id: randomUUID(),
    model,
    task: cfg.config.task,
    route: "bench",
    cluster: "bench",
    path: "/bench",
    ttfbUs: 1000,
    durationUs: 2000,
    request,
    response,
  });
  analyzeAsCollector(plugins, cfg.config, record);
  return record;
}

async function publishAll(publisher: JetStreamRecordPublisher, make: () => CaptureRecord, n: number) {
  let done = 0;
  const worker = async () => {
    while (done < n) {
      done++;
      await publisher.publish(make());
      if (done % 1000 === 0) process.stderr.write(`\r  published ${done}/${n}   `);
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  process.stderr.write(`\r  published ${n}/${n}   \n`);
}

/** Start the worker and time it until `n` rows of `model` are visible. */
async function drain(
  db: pg.Pool,
  model: string,
  n: number,
): Promise<{ seconds: number; firstToLast: number }> {
  const t0 = performance.now();
  await restartService("worker", ctx);
  let first: number | undefined;
  let last = -1;
  for (;;) {
    const r = await db.query<{ n: string }>("SELECT count(*) AS n FROM captures WHERE model = $1", [model]);
    const seen = Number(r.rows[0]!.n);
    if (seen > 0) first ??= performance.now();
    if (seen !== last) process.stderr.write(`\r  stored ${seen}/${n}   `);
    last = seen;
    if (seen >= n) break;
    if (performance.now() - t0 > 600_000) throw new Error(`only ${seen} of ${n} stored after 600 s`);
    await sleep(50);
  }
  process.stderr.write("\n");
  const end = performance.now();
  return { seconds: (end - t0) / 1000, firstToLast: (end - (first ?? t0)) / 1000 };
}

async function persistence(db: pg.Pool, plugins: PluginRegistry) {
  const nc = await connectNats(config.natsUrl, "modeltap-bench", createLogger("warn", "bench"));
  const publisher = new JetStreamRecordPublisher(nc, config.natsInlineMaxBytes);
  const stamp = Date.now().toString(36);
  const results: Array<{
    kind: string;
    records: number;
    bytes: number;
    seconds: number;
    firstToLast: number;
  }> = [];
  try {
    const iris = {
      task: "tabular_classification",
      protocol: "kserve_v2",
      features: ["sepal_length", "sepal_width", "petal_length", "petal_width"],
    };
    const irisResponse = Buffer.from(
      JSON.stringify({ outputs: [{ name: "label", datatype: "BYTES", shape: [1], data: ["setosa"] }] }),
    );
    const image = noisyPng(256, 256);
    const imageRoute = { task: "image_classification", protocol: "hf_pipeline", top_k: 2 };
    const imageResponse = Buffer.from(JSON.stringify([{ label: "cat", score: 0.9 }]));
    const cases = [
      {
        kind: "tabular (KServe V2, 1 row)",
        model: `bench-tabular-${stamp}`,
        n: TABULAR,
        make: (model: string) =>
          buildRecord(
            model,
            iris,
            body("application/json", Buffer.from(irisBody(Math.floor(Math.random() * 100)))),
            body("application/json", irisResponse),
            plugins,
          ),
      },
      {
        kind: `image (${(image.length / 1024).toFixed(0)} KB PNG)`,
        model: `bench-image-${stamp}`,
        n: IMAGES,
        make: (model: string) =>
          buildRecord(
            model,
            imageRoute,
            body("image/png", image),
            body("application/json", imageResponse),
            plugins,
          ),
      },
    ];
    for (const c of cases) {
      console.error(`${c.kind}: pre-filling JetStream with ${c.n} records, worker stopped`);
      await serviceByName("worker").stop(ctx);
      const sample = c.make(c.model);
      const bytesPer = sample.request.data.byteLength + sample.response.data.byteLength;
      await publishAll(publisher, () => c.make(c.model), c.n);
      const t = await drain(db, c.model, c.n);
      results.push({ kind: c.kind, records: c.n, bytes: bytesPer * c.n, ...t });
    }
  } finally {
    await nc.drain();
  }
  return results;
}

/** Steady traffic through Envoy; each exchange timed from response end to row visible. */
async function captureLag(db: pg.Pool) {
  console.error(`capture lag: ${LAG_RPS} requests/s through Envoy for ${LAG_SECONDS} s`);
  const ended = new Map<string, number>();
  const visible = new Map<string, number>();
  let stop = false;
  let stoppedAt = 0;
  const poller = (async () => {
    while (!stop || visible.size < ended.size) {
      const waiting = [...ended.keys()].filter((id) => !visible.has(id));
      if (waiting.length) {
        const r = await db.query<{ id: string }>(
          "SELECT request_id AS id FROM captures WHERE request_id = ANY($1)",
          [waiting],
        );
        const now = performance.now();
        for (const row of r.rows) visible.set(row.id, now);
      }
      if (stop && performance.now() - stoppedAt > 60_000) break;
      await sleep(20);
    }
  })();
  const t0 = performance.now();
  const inflight: Array<Promise<void>> = [];
  for (let i = 0; i < LAG_SECONDS * LAG_RPS; i++) {
    const due = t0 + (i * 1000) / LAG_RPS;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    inflight.push(
      send(`${OBS}/v2/models/iris/infer`, irisBody(i)).then((s) => {
        if (s.status === 200) ended.set(s.id, performance.now());
      }),
    );
  }
  await Promise.all(inflight);
  stop = true;
  stoppedAt = performance.now();
  await poller;
  const lags = [...ended].filter(([id]) => visible.has(id)).map(([id, end]) => visible.get(id)! - end);
  lags.sort((a, b) => a - b);
  return {
    sent: ended.size,
    stored: lags.length,
    p50: percentile(lags, 50),
    p99: percentile(lags, 99),
    max: lags[lags.length - 1]!,
  };
}

async function main(): Promise<void> {
  await stackUp(config, { progress: (l) => console.error(`[stack] ${l}`) });
  const db = new pg.Pool({ connectionString: config.databaseUrl, max: 4 });
  const plugins = new PluginRegistry();
  try {
    const rows = await persistence(db, plugins);
    const lag = await captureLag(db);
    const lines = [
      `Worker persistence on the local stack (one worker, batches of ${config.worker.batch}, ${config.worker.concurrency} concurrent S3 puts; JetStream pre-filled while the worker was stopped)`,
      "",
      "| measure | value | target |",
      "|---|---|---|",
      ...rows.map((r) => {
        const perSec = r.records / r.firstToLast;
        const mbs = r.bytes / r.firstToLast / 1e6;
        return r.kind.startsWith("tabular")
          ? `| ${r.kind}, records/s | ${Math.round(perSec)} (${r.records} in ${r.firstToLast.toFixed(1)} s; ${r.seconds.toFixed(1)} s with worker start) | ≥ 20000 |`
          : `| ${r.kind}, MB/s to S3 | ${mbs.toFixed(1)} (${Math.round(perSec)} records/s) | ≥ 200 |`;
      }),
      `| capture lag at ${LAG_RPS} req/s through Envoy, response end → row visible, p50 / p99 / max | ${lag.p50.toFixed(0)} / ${lag.p99.toFixed(0)} / ${lag.max.toFixed(0)} ms (${lag.stored} of ${lag.sent} stored) | p99 < 1000 ms |`,
    ];
    console.log(lines.join("\n"));
    writeResults("worker", { rows, lag }, lines);
  } finally {
    await restartService("worker", ctx);
    await db.end();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
