/**
 * Capture overhead through the real Envoy, on the local stack (127.0.0.1 only), 1 KB JSON body.
 *
 * Latency cells, each BENCH_ROUNDS rounds of BENCH_SECONDS at BENCH_CONNECTIONS, the cells in a
 * seeded random order each round (BENCH_SEED, printed): baseline (:10002, no modeltap filter) twice
 * as two cells ("baseline", "baseline again": their difference is the noise floor), observability
 * mode (:10000) at sample rates 0, 0.1, 1.0, normal mode (:10001) at 0 and 0.1, and the Go peer
 * (tools/bench/peer-extproc, a stream per exchange, behind its own Envoy) at 0 and 0.1. The worker is
 * stopped for the latency cells (modeltap and the peer both only publish to JetStream). Per cell: CPU
 * per exchange from /proc (Envoy + the capture server + NATS), and p50/p99/p99.9 timed per request.
 *
 * Then the saturation cell: sample rate 1.0 with autocannon (BENCH_SATURATION_CONNECTIONS for
 * BENCH_SATURATION_SECONDS), the worker running (overhead-saturation.ts).
 */
import os from "node:os";
import { loadStackConfig } from "../stack/settings.js";
import { restartService, serviceByName, stackContext, stackUp } from "../stack/stack.js";
import { envInt, percentile, sleep, writeResults } from "./common.js";
import {
  CLK_TCK,
  cpuTicks,
  jsonBody,
  metricSum,
  procEnv,
  quiesce,
  type HeldStreams,
  seededOrders,
  timed,
  type Body,
} from "./overhead-cells.js";
import { startPeer, type Peer } from "./overhead-peer.js";
import {
  cellTable,
  noiseFloor,
  noiseLines,
  saturationTable,
  targetTable,
  targets,
  type CellName,
  type CellResult,
} from "./overhead-report.js";
import { saturation, type SaturationResult } from "./overhead-saturation.js";

const config = loadStackConfig();
const SECONDS = envInt("BENCH_SECONDS", 4, 600);
const ROUNDS = envInt("BENCH_ROUNDS", 6, 100);
const CONNECTIONS = envInt("BENCH_CONNECTIONS", 4, 1000);
const SAT_CONNECTIONS = envInt("BENCH_SATURATION_CONNECTIONS", 64, 1000);
const SAT_SECONDS = envInt("BENCH_SATURATION_SECONDS", 120, 3600);
const PEER = {
  envoy: envInt("BENCH_PEER_ENVOY_PORT", 10003, 65535),
  admin: envInt("BENCH_PEER_ADMIN_PORT", 9903, 65535),
  grpc: envInt("BENCH_PEER_GRPC_PORT", 50052, 65535),
};
const SEED = process.env.BENCH_SEED
  ? Number(process.env.BENCH_SEED) >>> 0
  : Math.floor(Math.random() * 2 ** 32);

interface Cell {
  name: CellName;
  port: number;
  route: string;
  /** Envoy (first), the capture server (if any) and NATS: the pids whose CPU this cell reports. */
  pids: () => number[];
  cpuOf: string;
}

interface Acc {
  samples: number[];
  roundP99s: number[];
  exchanges: number;
  errors: number;
  ticks: number;
  /** Envoy's share of ticks (the first pid of every cell). */
  envoyTicks: number;
}

/** The ext_proc clusters whose streams a cell waits for (the stack's Envoy, the peer's). */
const STACK_HELD: HeldStreams[] = [
  { adminPort: config.ports.envoyAdmin, cluster: "modeltap_collector" },
  { adminPort: config.ports.envoyAdmin, cluster: "modeltap_collector_inline" },
];
const PEER_HELD: HeldStreams = { adminPort: PEER.admin, cluster: "peer_extproc" };

const log = (line: string) => console.error(`[bench] ${line}`);

function requirePid(name: string, ctx: ReturnType<typeof stackContext>): number {
  const pid = serviceByName(name).pid(ctx);
  if (pid === undefined)
    throw new Error(`the stack's ${name} is not running (node bin/modeltap.js stack status)`);
  return pid;
}

async function waitForWorker(ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    try {
      const pending =
        (await metricSum(config.ports.workerMetrics, "modeltap_worker_consumer_pending")) +
        (await metricSum(config.ports.workerMetrics, "modeltap_worker_consumer_ack_pending"));
      if (pending === 0) return true;
    } catch {
      /* not serving metrics yet */
    }
    await sleep(500);
  }
  return false;
}

async function runCell(cell: Cell, body: Body, acc: Acc): Promise<void> {
  const pids = cell.pids();
  const before = cpuTicks(pids);
  const envoyBefore = cpuTicks(pids.slice(0, 1));
  const samples: number[] = [];
  const { completed, errors } = await timed(
    `http://127.0.0.1:${cell.port}${cell.route}`,
    body,
    CONNECTIONS,
    SECONDS,
    samples,
  );
  // The cell's CPU includes the drain of what it left queued (Envoy flushing held ext_proc
  // messages, the collector reading and publishing them): that work is this cell's, not the
  // next one's. Every cell pays the same few admin and metrics polls while it waits.
  if (!(await quiesce(config.ports.collectorMetrics, [...STACK_HELD, PEER_HELD])))
    log("the collector's buffer did not empty within 120 s; measuring anyway");
  acc.ticks += cpuTicks(pids) - before;
  acc.envoyTicks += cpuTicks(pids.slice(0, 1)) - envoyBefore;
  acc.exchanges += completed;
  acc.errors += errors;
  acc.roundP99s.push(
    percentile(
      [...samples].sort((a, b) => a - b),
      99,
    ),
  );
  acc.samples.push(...samples);
}

async function main(): Promise<void> {
  let ctx = stackContext(config);
  // `stack up` only if something is down: it would start a second Envoy over a running one that is
  // briefly not ready.
  if (serviceByName("envoy").pid(ctx) === undefined || serviceByName("collector").pid(ctx) === undefined)
    ctx = await stackUp(config, { progress: (l) => console.error(`[stack] ${l}`) });
  const envoy = requirePid("envoy", ctx);
  const collector = requirePid("collector", ctx);
  const nats = requirePid("nats", ctx);
  const bufferCapacity = Number(procEnv(collector, "MODELTAP_BUFFER_MAX_RECORDS") ?? 50_000);
  const body: Body = { name: "1 KB JSON", contentType: "application/json", data: jsonBody(1024) };
  log(`cell order seed ${SEED} (BENCH_SEED=${SEED} replays it)`);
  const worker = serviceByName("worker");
  let peer: Peer | undefined;
  let sat: SaturationResult | undefined;
  const results: CellResult[] = [];
  let orders: CellName[][] | undefined;
  try {
    peer = await startPeer(config, PEER);
    const p = peer;
    const stackCell = (name: CellName, port: number, route: string, capture: boolean): Cell => ({
      name,
      port,
      route,
      pids: () => (capture ? [envoy, collector, nats] : [envoy, nats]),
      cpuOf: capture ? "Envoy + collector + NATS" : "Envoy + NATS",
    });
    const peerCell = (name: CellName, route: string): Cell => ({
      name,
      port: PEER.envoy,
      route,
      pids: () => [p.envoyPid, p.serverPid, nats],
      cpuOf: "peer Envoy + peer + NATS",
    });
    const cells: Cell[] = [
      stackCell("baseline", config.ports.envoyBaseline, "/bench/s1", false),
      stackCell("baseline again", config.ports.envoyBaseline, "/bench/s1", false),
      stackCell("observability s0", config.ports.envoy, "/bench/s0", true),
      stackCell("observability s0.1", config.ports.envoy, "/bench/s01", true),
      stackCell("observability s1", config.ports.envoy, "/bench/s1", true),
      stackCell("normal s0", config.ports.envoyNormal, "/bench/s0", true),
      stackCell("normal s0.1", config.ports.envoyNormal, "/bench/s01", true),
      peerCell("peer s0", "/bench/s0"),
      peerCell("peer s0.1", "/bench/s01"),
    ];
    const byName = new Map(cells.map((c) => [c.name, c]));
    const accs = new Map<CellName, Acc>(
      cells.map((c) => [
        c.name,
        { samples: [], roundP99s: [], exchanges: 0, errors: 0, ticks: 0, envoyTicks: 0 },
      ]),
    );
    // Latency cells with the worker stopped: persistence (Postgres, SeaweedFS) out of the picture
    // for modeltap and the peer alike; JetStream keeps what is published.
    log("stopping the worker for the latency cells");
    await worker.stop(ctx);
    for (const cell of cells) await timed(`http://127.0.0.1:${cell.port}${cell.route}`, body, 2, 1, []);
    await quiesce(config.ports.collectorMetrics, [...STACK_HELD, PEER_HELD]);
    orders = seededOrders(
      cells.map((c) => c.name),
      ROUNDS,
      SEED,
    );
    for (const [r, order] of orders.entries()) {
      log(`round ${r + 1}/${ROUNDS} order: ${order.join(", ")}`);
      for (const name of order) {
        log(`round ${r + 1}/${ROUNDS}: ${name} …`);
        await runCell(byName.get(name)!, body, accs.get(name)!);
      }
    }
    for (const cell of cells) {
      const a = accs.get(cell.name)!;
      const sorted = a.samples.sort((x, y) => x - y);
      results.push({
        cell: cell.name,
        listener: `:${cell.port} ${cell.route}`,
        cpuOf: cell.cpuOf,
        exchanges: a.exchanges,
        errors: a.errors,
        cpuSeconds: a.ticks / CLK_TCK,
        cpuUsPerExchange: a.exchanges ? ((a.ticks / CLK_TCK) * 1e6) / a.exchanges : 0,
        envoyCpuUsPerExchange: a.exchanges ? ((a.envoyTicks / CLK_TCK) * 1e6) / a.exchanges : 0,
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        p999: percentile(sorted, 99.9),
        roundP99s: a.roundP99s,
      });
    }
    p.stop();
    peer = undefined;
    log("starting the worker for the saturation cell");
    await restartService("worker", ctx);
    if (!(await waitForWorker(180_000))) log("the worker's backlog did not drain within 180 s; going on");
    await quiesce(config.ports.collectorMetrics, STACK_HELD);
    log(`saturation: sample rate 1.0, ${SAT_CONNECTIONS} connections for ${SAT_SECONDS} s`);
    const s3 = requirePid("s3", ctx);
    sat = await saturation({
      url: `http://127.0.0.1:${config.ports.envoy}/bench/s1`,
      body,
      connections: SAT_CONNECTIONS,
      seconds: SAT_SECONDS,
      envoyAdminPort: config.ports.envoyAdmin,
      extProcStats: "http.inference.ext_proc.modeltap",
      collectorMetricsPort: config.ports.collectorMetrics,
      workerMetricsPort: config.ports.workerMetrics,
      collectorPid: collector,
      cpuPids: () =>
        [envoy, collector, nats, worker.pid(ctx), serviceByName("postgres").pid(ctx), s3].filter(
          (x): x is number => x !== undefined,
        ),
    });
  } finally {
    peer?.stop();
    if (worker.pid(ctx) === undefined) {
      log("starting the worker again");
      await restartService("worker", ctx);
    }
  }
  const noise = noiseFloor(results);
  const rows = targets(results, noise, sat, bufferCapacity);
  const lines = [
    `Capture overhead through the real Envoy (1 KB JSON; latency: ${CONNECTIONS} connections, ${ROUNDS} rounds of ${SECONDS} s per cell, cell order shuffled each round with seed ${SEED}, worker stopped; saturation: autocannon, ${SAT_CONNECTIONS} connections for ${SAT_SECONDS} s, worker running; every process on one ${os.cpus().length}-core machine)`,
    "",
    `Cells in a seeded random order each round (seed ${SEED}). CPU per exchange: utime+stime (+ reaped children) from /proc of the listed processes over the cell, divided by the exchanges it completed.`,
    "",
    ...cellTable(results),
    "",
    ...noiseLines(noise),
    "",
    ...(sat ? [...saturationTable(sat, SAT_CONNECTIONS, SAT_SECONDS), ""] : []),
    ...targetTable(rows),
  ];
  console.log(lines.join("\n"));
  const errors = results.reduce((n, r) => n + r.errors, 0);
  if (errors) log(`${errors} requests failed or answered non-2xx`);
  writeResults(
    "overhead",
    {
      settings: { SECONDS, ROUNDS, CONNECTIONS, SAT_CONNECTIONS, SAT_SECONDS, seed: SEED, bufferCapacity },
      orders,
      results,
      noise,
      saturation: sat,
      targets: rows,
    },
    lines,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
