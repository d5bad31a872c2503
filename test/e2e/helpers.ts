/** Shared helpers for tests against the real stack. */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import pg from "pg";
import { expect } from "vitest";
import { S3BlobStore } from "../../src/adapters/s3/blob-store.js";
import { loadStackConfig } from "../../tools/stack/settings.js";
import { paths, s3Credentials, stackSamplingSeed } from "../../tools/stack/services.js";

export const config = loadStackConfig();
/** The seed the stack's collector samples with: predicts which request ids are captured. */
export const SAMPLING_SEED = stackSamplingSeed(config);
export const OBS = `http://127.0.0.1:${config.ports.envoy}`;
export const NORMAL = `http://127.0.0.1:${config.ports.envoyNormal}`;

export function db(): pg.Pool {
  const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 2 });
  // The outage drills stop Postgres: an idle client losing its connection is expected there.
  pool.on("error", () => undefined);
  return pool;
}

export function blobs(): S3BlobStore {
  const creds = s3Credentials(config);
  process.env.AWS_ACCESS_KEY_ID = creds.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = creds.secretAccessKey;
  return new S3BlobStore(config.s3);
}

export interface Row {
  /** The capture id (a UUIDv7 per exchange and hop). */
  id: string;
  /** The x-request-id the test sent: tests look captures up by it. */
  request_id: string;
  sampled_by: string;
  model: string;
  version: string;
  mode: string;
  status_code: number;
  complete: boolean;
  request_object_key: string | null;
  response_object_key: string | null;
  /** Small bodies that are not images live in the row (MODELTAP_ROW_INLINE_MAX_BYTES). */
  request_body: Buffer | null;
  response_body: Buffer | null;
  request_truncated: boolean;
  response_truncated: boolean;
  request_size_bytes: string;
  request_wire_size_bytes: string;
  response_decoded: boolean;
  response_content_encoding: string;
  request_headers: Array<{ name: string; value: string }>;
  response_headers: Array<{ name: string; value: string }>;
}

/** The captures of these request ids (the x-request-ids the test sent). */
export async function rowsFor(pool: pg.Pool, ids: readonly string[]): Promise<Row[]> {
  const res = await pool.query<Row>("SELECT * FROM captures WHERE request_id = ANY($1)", [ids]);
  return res.rows;
}

/** The capture ids of these request ids' captures (one per exchange and hop), in no given order. */
export async function captureIdsOf(pool: pg.Pool, requestIds: readonly string[]): Promise<string[]> {
  const res = await pool.query<{ id: string }>("SELECT id FROM captures WHERE request_id = ANY($1)", [
    requestIds,
  ]);
  return res.rows.map((r) => r.id);
}

/** The one capture id of a request captured on one hop; fails the test when there is not exactly one. */
export async function captureIdOf(pool: pg.Pool, requestId: string): Promise<string> {
  const ids = await captureIdsOf(pool, [requestId]);
  expect(ids, `captures of request ${requestId}`).toHaveLength(1);
  return ids[0]!;
}

/** Poll until `want` of the ids have rows (or the timeout passes); returns the rows found. */
export async function waitForRows(
  pool: pg.Pool,
  ids: readonly string[],
  want = ids.length,
  timeoutMs = 30_000,
): Promise<Row[]> {
  const deadline = Date.now() + timeoutMs;
  let rows: Row[] = [];
  while (Date.now() < deadline) {
    rows = await rowsFor(pool, ids);
    if (rows.length >= want) return rows;
    await new Promise((r) => setTimeout(r, 200));
  }
  return rows;
}

/** A stored body, wherever the worker put it: in the row, or in object storage. */
export async function storedBody(
  row: Pick<Row, "request_body" | "response_body" | "request_object_key" | "response_object_key">,
  which: "request" | "response",
): Promise<Uint8Array | undefined> {
  const inline = row[`${which}_body`];
  if (inline) return inline;
  const key = row[`${which}_object_key`];
  sharedBlobs ??= blobs();
  return key ? sharedBlobs.get(key) : undefined;
}
let sharedBlobs: S3BlobStore | undefined;

/** Envoy admin counters, by full stat name. */
export async function envoyStats(): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${config.ports.envoyAdmin}/stats?filter=ext_proc`);
  const text = await res.text();
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    const m = /^([^:]+): (\d+)$/.exec(line.trim());
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

export function stat(
  stats: Map<string, number>,
  listener: "inference" | "inference_normal",
  name: string,
): number {
  return stats.get(`http.${listener}.ext_proc.modeltap.${name}`) ?? 0;
}

/** Byte equality without vitest's element-wise diff (which is very slow on megabyte buffers). */
export function expectBytes(actual: Uint8Array | undefined, expected: Uint8Array): void {
  expect(actual, "object missing").toBeDefined();
  const a = Buffer.from(actual!);
  expect(a.length).toBe(expected.byteLength);
  expect(a.equals(Buffer.from(expected)), "bytes differ").toBe(true);
}

/** One sample of a Prometheus metric from the collector (sum over label sets matching `labels`). */
export function collectorMetric(name: string, labels: Record<string, string> = {}): Promise<number> {
  return metricAt(config.ports.collectorMetrics, name, labels);
}

/** The same from the worker. */
export function workerMetric(name: string, labels: Record<string, string> = {}): Promise<number> {
  return metricAt(config.ports.workerMetrics, name, labels);
}

async function metricAt(port: number, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) {
    const m = /^(\w+)(?:\{([^}]*)\})? ([-\d.e+]+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

/** Poll fn until it returns something other than undefined; throws after timeoutMs. */
export async function poll<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Poll until fn resolves true (a throw counts as not yet); throws after timeoutMs. */
export function until(what: string, fn: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  return poll(what, async () => ((await fn().catch(() => false)) ? true : undefined), timeoutMs).then(
    () => undefined,
  );
}

/** A loopback port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * The stack's Envoy binary on a config of a test's own (written to dir/envoy.yaml), returned once
 * its admin port says ready; stopped again if it never does.
 */
export async function startEnvoy(dir: string, yaml: string, adminPort: number): Promise<ChildProcess> {
  const file = path.join(dir, "envoy.yaml");
  fs.writeFileSync(file, yaml);
  const envoy = spawn(
    path.join(paths(config).venvBin, "envoy"),
    ["-c", file, "--disable-hot-restart", "-l", "error"],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  try {
    await until("Envoy", async () => (await fetch(`http://127.0.0.1:${adminPort}/ready`)).ok);
    return envoy;
  } catch (err) {
    envoy.kill("SIGTERM");
    throw err;
  }
}

/** The monitoring tests' tabular model: approve when x1 + x2/2 > 0, else deny. */
export function creditPrediction(row: Record<string, number | string>): string {
  return (row.x1 as number) + (row.x2 as number) / 2 > 0 ? "approve" : "deny";
}

/**
 * That model served as KServe V1 (at any path). It keeps idle connections longer than any test, since Envoy reuses
 * upstream connections far longer than Node's 5 s keep-alive and a connection the server closed
 * under it would answer 503 (still captured, but not the model's answer). Listening on a free
 * loopback port when it resolves.
 */
export async function startCreditModel(): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
        instances: Array<Record<string, number | string>>;
      };
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ predictions: body.instances.map(creditPrediction) }));
    });
  });
  server.keepAliveTimeout = 300_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

/** Delete every row these models left: captures, their labels, baselines and all monitoring state. */
export async function deleteModels(pool: pg.Pool, models: readonly string[]): Promise<void> {
  const m = [models];
  await pool.query(
    "DELETE FROM ground_truth WHERE capture_id IN (SELECT id FROM captures WHERE model = ANY($1))",
    m,
  );
  for (const table of [
    "captures",
    "monitor_partials",
    "monitor_buckets",
    "monitor_quality",
    "monitor_quality_pending",
    "monitor_results",
    "monitor_leases",
    "monitor_counters",
    "monitor_watermarks",
    "baselines",
  ]) {
    await pool.query(`DELETE FROM ${table} WHERE model = ANY($1)`, m);
  }
}
