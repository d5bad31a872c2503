/**
 * Capture overhead through the real Envoy, on the local stack (127.0.0.1 only), with autocannon as
 * the load generator. Configurations, side by side in one run:
 *   (a) Envoy with no filter (the limit), (b) modeltap in observability mode, (c) modeltap in normal
 *   mode with mode override, (d) a peer: a minimal Go ext_proc server (tools/bench/peer-extproc) doing
 *   the same capture job (sample, collect bodies, publish to JetStream), behind a second Envoy with
 *   the same routes in observability mode;
 * each at sample rates 0, 0.1 and 1.0, with a 1 KB JSON body and a 200 KB image body. Per cell:
 * p50 / p99 / p99.9 at fixed concurrency (timed per request with hrtime, over BENCH_ROUNDS
 * interleaved rounds so drift hits every cell alike), requests per second at saturation
 * (autocannon), and the capture server's CPU and RSS. Between runs the bench waits until the
 * collector's buffer and the worker's backlog are empty, so no cell pays for the one before.
 * Sizes: BENCH_SECONDS per latency run (default 4), BENCH_ROUNDS (2), BENCH_CONNECTIONS (4),
 * BENCH_SATURATION_CONNECTIONS (32) for BENCH_SATURATION_SECONDS (3).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import autocannon from "autocannon";
import { PACKAGE_ROOT } from "../../src/config.js";
import { loadStackConfig } from "../stack/settings.js";
import { paths } from "../stack/services.js";
import { serviceByName, stackContext, stackUp } from "../stack/stack.js";
import { noisyPng } from "./images.js";
import { envInt, percentile, sleep, writeResults } from "./common.js";

const config = loadStackConfig();
const ctx = stackContext(config);
const SECONDS = envInt("BENCH_SECONDS", 4, 600);
const ROUNDS = envInt("BENCH_ROUNDS", 2, 100);
const CONNECTIONS = envInt("BENCH_CONNECTIONS", 4, 1000);
const SAT_CONNECTIONS = envInt("BENCH_SATURATION_CONNECTIONS", 32, 1000);
const SAT_SECONDS = envInt("BENCH_SATURATION_SECONDS", 3, 600);
const PEER_ENVOY_PORT = envInt("BENCH_PEER_ENVOY_PORT", 10003, 65535);
const PEER_ADMIN_PORT = envInt("BENCH_PEER_ADMIN_PORT", 9903, 65535);
const PEER_GRPC_PORT = envInt("BENCH_PEER_GRPC_PORT", 50052, 65535);

interface Body {
  name: string;
  contentType: string;
  data: Buffer;
}

interface Cell {
  config: "baseline" | "observability" | "normal" | "peer";
  rate: "0" | "0.1" | "1.0" | "-";
  port: number;
  route: string;
  /** The capture server whose CPU and RSS this cell reports. */
  pid?: () => number | undefined;
}

interface Result {
  body: string;
  config: Cell["config"];
  rate: Cell["rate"];
  p50: number;
  p99: number;
  p999: number;
  errors: number;
  rps: number;
  cpuPercent: number | null;
  rssMb: number | null;
}

function jsonBody(bytes: number): Buffer {
  const row = Array.from({ length: 16 }, (_, i) => +(i * 0.37).toFixed(2));
  const instances: number[][] = [];
  while (JSON.stringify({ instances }).length < bytes - 40) instances.push(row);
  return Buffer.from(JSON.stringify({ instances }));
}

/** utime + stime in seconds, and RSS in MB, from /proc. */
function procSample(pid: number): { cpu: number; rssMb: number } | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    const rss = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return { cpu: ticks / 100, rssMb: rss ? Number(rss[1]) / 1024 : 0 };
  } catch {
    return undefined;
  }
}

/** Saturation: autocannon at many connections. */
async function saturate(url: string, body: Body, connections: number, seconds: number) {
  return autocannon({
    url,
    method: "POST",
    headers: { "content-type": body.contentType },
    body: body.data,
    connections,
    duration: seconds,
  });
}

/** Fixed-concurrency latency, each request timed with hrtime (autocannon rounds to whole ms). */
async function timed(url: string, body: Body, connections: number, seconds: number, out: number[]) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const end = performance.now() + seconds * 1000;
  let errors = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const t0 = process.hrtime.bigint();
      const req = http.request(
        url,
        {
          method: "POST",
          agent,
          headers: { "content-type": body.contentType, "content-length": body.data.length },
        },
        (res) => {
          res.resume();
          res.on("end", () => {
            if (res.statusCode === 200) out.push(Number(process.hrtime.bigint() - t0) / 1e6);
            else errors++;
            resolve();
          });
        },
      );
      req.on("error", () => {
        errors++;
        resolve();
      });
      req.end(body.data);
    });
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < end) await one();
    }),
  );
  agent.destroy();
  return errors;
}

/** Until the collector has published everything and the worker has stored it (at most 120 s). */
async function quiesce(): Promise<void> {
  const metric = async (port: number, name: string) => {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? 0);
  };
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const busy =
      (await metric(config.ports.collectorMetrics, "modeltap_publish_buffer_records")) +
      (await metric(config.ports.collectorMetrics, "modeltap_active_exchanges")) +
      (await metric(config.ports.workerMetrics, "modeltap_worker_consumer_pending")) +
      (await metric(config.ports.workerMetrics, "modeltap_worker_consumer_ack_pending"));
    if (busy === 0) return;
    await sleep(250);
  }
  console.error("[bench] the worker did not catch up within 120 s; measuring anyway");
}

interface Acc {
  samples: number[];
  errors: number;
  cpu: number;
  seconds: number;
  rssMax: number | null;
  rps: number;
}

async function latencyRound(cell: Cell, body: Body, acc: Acc): Promise<void> {
  const url = `http://127.0.0.1:${cell.port}${cell.route}`;
  const pid = cell.pid?.();
  const before = pid ? procSample(pid) : undefined;
  const sampler = setInterval(() => {
    const s = pid ? procSample(pid) : undefined;
    if (s) acc.rssMax = Math.max(acc.rssMax ?? 0, s.rssMb);
  }, 250);
  const started = performance.now();
  acc.errors += await timed(url, body, CONNECTIONS, SECONDS, acc.samples);
  acc.seconds += (performance.now() - started) / 1000;
  clearInterval(sampler);
  const after = pid ? procSample(pid) : undefined;
  if (before && after) acc.cpu += after.cpu - before.cpu;
  await quiesce();
}

/** The peer: build it if needed, start it and a second Envoy in front of it. */
async function startPeer(): Promise<{ procs: ChildProcess[]; pid: () => number | undefined }> {
  const src = path.join(PACKAGE_ROOT, "tools", "bench", "peer-extproc");
  const bin = path.join(config.home, "bin", "peer-extproc");
  if (!fs.existsSync(bin)) {
    console.error(`[bench] building the Go peer (${src}) into ${bin}`);
    fs.mkdirSync(path.dirname(bin), { recursive: true });
    try {
      execFileSync("go", ["build", "-o", bin, "."], { cwd: src, stdio: "inherit" });
    } catch (err) {
      throw new Error(
        `could not build the peer with Go (${(err as Error).message}); configuration (d) needs a Go toolchain on PATH`,
        { cause: err },
      );
    }
  }
  const logDir = paths(config).logs;
  const peer = spawn(bin, ["-listen", `127.0.0.1:${PEER_GRPC_PORT}`, "-nats", config.natsUrl], {
    stdio: ["ignore", fs.openSync(path.join(logDir, "peer-extproc.log"), "a"), "inherit"],
  });
  const envoyConfig = path.join(config.home, "peer-envoy.yaml");
  fs.writeFileSync(envoyConfig, peerEnvoyYaml());
  const envoy = spawn(
    path.join(paths(config).venvBin, "envoy"),
    ["-c", envoyConfig, "--disable-hot-restart", "-l", "error", "--base-id", "7"],
    { stdio: ["ignore", fs.openSync(path.join(logDir, "peer-envoy.log"), "a"), "inherit"] },
  );
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${PEER_ADMIN_PORT}/ready`);
      if (res.ok) break;
    } catch {
      /* not yet */
    }
    if (Date.now() > deadline || envoy.exitCode !== null || peer.exitCode !== null) {
      for (const p of [peer, envoy]) p.kill("SIGTERM");
      throw new Error(`the peer or its Envoy did not start; see ${logDir}/peer-*.log`);
    }
    await sleep(200);
  }
  return { procs: [peer, envoy], pid: () => peer.pid };
}

function peerEnvoyYaml(): string {
  const route = (p: string, rate: string) => `
                        - match: { path: "/bench/${p}" }
                          route: { cluster: inference_server }
                          metadata: { filter_metadata: { modeltap: { model: bench, sample_rate: ${rate} } } }`;
  return `# Generated by tools/bench/overhead.ts: the peer ext_proc server behind its own Envoy.
admin: { address: { socket_address: { address: 127.0.0.1, port_value: ${PEER_ADMIN_PORT} } } }
static_resources:
  listeners:
    - name: peer
      address: { socket_address: { address: 127.0.0.1, port_value: ${PEER_ENVOY_PORT} } }
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: peer
                route_config:
                  virtual_hosts:
                    - name: all
                      domains: ["*"]
                      routes:${route("s0", "0")}${route("s01", "0.1")}${route("s1", "1.0")}
                http_filters:
                  - name: peer
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor
                      grpc_service: { envoy_grpc: { cluster_name: peer_extproc } }
                      observability_mode: true
                      failure_mode_allow: true
                      deferred_close_timeout: 30s
                      processing_mode: { request_header_mode: SEND, response_header_mode: SEND, request_body_mode: STREAMED, response_body_mode: STREAMED, request_trailer_mode: SKIP, response_trailer_mode: SKIP }
                      request_attributes: ["xds.route_metadata"]
                  - name: envoy.filters.http.router
                    typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }
  clusters:
    - name: inference_server
      type: STATIC
      connect_timeout: 1s
      load_assignment: { cluster_name: inference_server, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${config.ports.demo} } } } }] }] }
    - name: peer_extproc
      type: STATIC
      connect_timeout: 0.25s
      typed_extension_protocol_options:
        envoy.extensions.upstreams.http.v3.HttpProtocolOptions:
          "@type": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions
          explicit_http_config: { http2_protocol_options: {} }
      circuit_breakers: { thresholds: [{ priority: DEFAULT, max_connections: 1000, max_pending_requests: 10000, max_requests: 20000 }] }
      load_assignment: { cluster_name: peer_extproc, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${PEER_GRPC_PORT} } } } }] }] }
`;
}

function table(results: Result[]): string[] {
  const fmt = (n: number) => n.toFixed(n < 10 ? 3 : 1);
  const lines = [
    "| body | configuration | sample | p50 ms | p99 ms | p99.9 ms | p99 vs (a) | req/s at saturation | capture server CPU | RSS MB |",
    "|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of results) {
    const base = results.find((b) => b.body === r.body && b.config === "baseline")!;
    const added = r.p99 - base.p99;
    lines.push(
      `| ${r.body} | ${r.config} | ${r.rate} | ${fmt(r.p50)} | ${fmt(r.p99)} | ${fmt(r.p999)} | ${r.config === "baseline" ? "-" : `${added >= 0 ? "+" : ""}${fmt(added)} ms (${((100 * added) / base.p99).toFixed(0)}%)`} | ${Math.round(r.rps)} | ${r.cpuPercent === null ? "-" : `${r.cpuPercent.toFixed(0)}%`} | ${r.rssMb === null ? "-" : r.rssMb.toFixed(0)} |`,
    );
  }
  return lines;
}

function verdicts(results: Result[]): string[] {
  const out: string[] = [];
  for (const body of new Set(results.map((r) => r.body))) {
    const get = (c: Cell["config"], rate: Cell["rate"]) =>
      results.find((r) => r.body === body && r.config === c && r.rate === rate)!;
    const base = get("baseline", "-");
    const obs = get("observability", "0.1");
    const normal = get("normal", "0");
    const obsPct = (100 * (obs.p99 - base.p99)) / base.p99;
    const normalMs = normal.p99 - base.p99;
    out.push(
      `- ${body}: observability at 10% sampling adds ${obsPct.toFixed(1)}% to p99 (target ≤ 3%: ${obsPct <= 3 ? "met" : "not met"}); normal mode, unsampled, adds ${normalMs.toFixed(2)} ms to p99 (target ≤ 0.5 ms: ${normalMs <= 0.5 ? "met" : "not met"})`,
    );
  }
  return out;
}

async function main(): Promise<void> {
  await stackUp(config, { progress: (l) => console.error(`[stack] ${l}`) });
  const peer = await startPeer();
  const collector = () => serviceByName("collector").pid(ctx);
  const cells: Cell[] = [
    { config: "baseline", rate: "-", port: config.ports.envoyBaseline, route: "/bench/s1" },
  ];
  for (const [rate, route] of [
    ["0", "/bench/s0"],
    ["0.1", "/bench/s01"],
    ["1.0", "/bench/s1"],
  ] as const) {
    cells.push({ config: "observability", rate, port: config.ports.envoy, route, pid: collector });
    cells.push({ config: "normal", rate, port: config.ports.envoyNormal, route, pid: collector });
    cells.push({ config: "peer", rate, port: PEER_ENVOY_PORT, route, pid: peer.pid });
  }
  const bodies: Body[] = [
    { name: "1 KB JSON", contentType: "application/json", data: jsonBody(1024) },
    {
      name: `${Math.round(noisyPng(256, 256).length / 1024)} KB PNG`,
      contentType: "image/png",
      data: noisyPng(256, 256),
    },
  ];
  const results: Result[] = [];
  try {
    for (const body of bodies) {
      const accs = cells.map((): Acc => ({
        samples: [],
        errors: 0,
        cpu: 0,
        seconds: 0,
        rssMax: null,
        rps: 0,
      }));
      for (const cell of cells) await timed(`http://127.0.0.1:${cell.port}${cell.route}`, body, 2, 1, []); // warm-up
      await quiesce();
      for (let round = 1; round <= ROUNDS; round++) {
        for (const [i, cell] of cells.entries()) {
          console.error(
            `[bench] ${body.name}, round ${round}/${ROUNDS}: ${cell.config}, sample ${cell.rate}`,
          );
          await latencyRound(cell, body, accs[i]!);
        }
      }
      for (const [i, cell] of cells.entries()) {
        console.error(`[bench] ${body.name}, saturation: ${cell.config}, sample ${cell.rate}`);
        const sat = await saturate(
          `http://127.0.0.1:${cell.port}${cell.route}`,
          body,
          SAT_CONNECTIONS,
          SAT_SECONDS,
        );
        accs[i]!.rps = sat.requests.average;
        accs[i]!.errors += sat.errors + sat.non2xx;
        await quiesce();
      }
      for (const [i, cell] of cells.entries()) {
        const a = accs[i]!;
        const sorted = a.samples.sort((x, y) => x - y);
        results.push({
          body: body.name,
          config: cell.config,
          rate: cell.rate,
          p50: percentile(sorted, 50),
          p99: percentile(sorted, 99),
          p999: percentile(sorted, 99.9),
          errors: a.errors,
          rps: a.rps,
          cpuPercent: cell.pid ? (100 * a.cpu) / a.seconds : null,
          rssMb: a.rssMax,
        });
      }
    }
  } finally {
    for (const p of peer.procs) p.kill("SIGTERM");
  }
  const lines = [
    `Capture overhead through the real Envoy (latency: ${CONNECTIONS} connections, ${ROUNDS} interleaved rounds of ${SECONDS} s per cell; saturation: autocannon, ${SAT_CONNECTIONS} connections for ${SAT_SECONDS} s; every process on one 2-core machine)`,
    "",
    ...table(results),
    "",
    ...verdicts(results),
  ];
  console.log(lines.join("\n"));
  const errors = results.reduce((n, r) => n + r.errors, 0);
  if (errors) console.error(`[bench] ${errors} requests failed or answered non-2xx`);
  writeResults("overhead", { results }, lines);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
