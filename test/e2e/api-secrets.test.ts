/**
 * `modeltap api` as built (dist/), started here with its secrets split by purpose, against a
 * database of its own on the stack's Postgres (so its exporter never touches the stack's queue):
 * the removed MODELTAP_API_SECRET stops it with the replacement named, /metrics moves to its own
 * listener, and the ground-truth API logs the token's name with each write, never the token.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/config.js";
import { config, poll } from "./helpers.js";

const MAIN = path.join(PACKAGE_ROOT, "dist", "cli", "main.js");
const DB = `modeltap_secrets_${randomBytes(4).toString("hex")}`;
const dbUrl = (name: string) => config.databaseUrl.replace(/\/[^/?]*(\?|$)/, `/${name}$1`);
const TOKEN = `ops-${randomBytes(16).toString("hex")}`;
const WEBHOOK = `hook-${randomBytes(16).toString("hex")}`;
const fsRoot = fs.mkdtempSync(path.join(os.tmpdir(), "modeltap-secrets-"));

async function freePort(): Promise<number> {
  const srv = net.createServer().listen(0, "127.0.0.1");
  await new Promise((r) => srv.once("listening", r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** Only what the api needs, none of the test process's own MODELTAP_* settings. */
function apiEnv(over: Record<string, string>): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    MODELTAP_DATABASE_URL: dbUrl(DB),
    MODELTAP_OBJECT_STORE: "fs",
    MODELTAP_FS_ROOT: fsRoot,
    MODELTAP_LABELING: "none",
    MODELTAP_API_TOKENS: `ops:${TOKEN}`,
    MODELTAP_WEBHOOK_SECRET: WEBHOOK,
    MODELTAP_LABEL_SYNC_INTERVAL_S: "0",
    ...over,
  };
}

const admin = new pg.Pool({ connectionString: config.databaseUrl, max: 1 });
let child: ChildProcess | undefined;
let out = "";
let base = "";
let metricsBase = "";

beforeAll(async () => {
  await admin.query(`CREATE DATABASE ${DB}`);
  const migrated = spawnSync(process.execPath, [MAIN, "migrate"], { env: apiEnv({}), encoding: "utf8" });
  expect(migrated.status, migrated.stderr).toBe(0);
  const [port, metricsPort] = [await freePort(), await freePort()];
  base = `http://127.0.0.1:${port}`;
  metricsBase = `http://127.0.0.1:${metricsPort}`;
  child = spawn(process.execPath, [MAIN, "api"], {
    env: apiEnv({ MODELTAP_API_PORT: String(port), MODELTAP_API_METRICS: `127.0.0.1:${metricsPort}` }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  await poll("api ready", async () =>
    (await fetch(`${base}/readyz`).catch(() => undefined))?.ok ? true : undefined,
  );
}, 60_000);

afterAll(async () => {
  if (child?.pid !== undefined && child.exitCode === null) {
    child.kill("SIGTERM");
    await new Promise((r) => child!.once("exit", r));
  }
  await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await admin.end();
  fs.rmSync(fsRoot, { recursive: true, force: true });
});

describe("modeltap api with its secrets split", () => {
  it("refuses to start with MODELTAP_API_SECRET, naming what replaces it, and does not echo it", () => {
    const old = "legacy-shared-secret-0123456789";
    const res = spawnSync(process.execPath, [MAIN, "api"], {
      env: apiEnv({ MODELTAP_API_SECRET: old, MODELTAP_API_PORT: "0" }),
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(res.status).not.toBe(0);
    const said = res.stdout + res.stderr;
    expect(said).toMatch(/MODELTAP_API_SECRET: removed/);
    expect(said).toMatch(/MODELTAP_API_TOKENS[\s\S]*MODELTAP_WEBHOOK_SECRET[\s\S]*MODELTAP_MEDIA_KEYS/);
    expect(said).not.toContain(old);
  });

  it("serves /metrics on its own listener, not on the api port", async () => {
    const moved = await fetch(`${metricsBase}/metrics`);
    expect(moved.status).toBe(200);
    expect(await moved.text()).toMatch(/^# HELP modeltap_api_requests_total/m);
    const here = await fetch(`${base}/metrics`);
    expect(here.status).toBe(404);
  });

  it("takes the API token on the ground-truth API only, and logs its name, never the token", async () => {
    const label = {
      capture_id: `gt-${randomBytes(4).toString("hex")}`,
      label: { kind: "classification", label: "x" },
    };
    const post = (secret: string, p = "/v1/ground-truth") =>
      fetch(`${base}${p}`, {
        method: "POST",
        headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
        body: JSON.stringify(label),
      });
    expect((await post(WEBHOOK)).status).toBe(401);
    expect((await post(TOKEN, "/v1/labeling/webhook")).status).toBe(401);
    expect((await post(TOKEN)).status).toBe(202);
    const line = await poll("audit log line", async () =>
      out
        .split("\n")
        .filter((l) => l.includes('"ground truth from the api"'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.capture_id === label.capture_id || l.request_id === label.capture_id),
    );
    expect(line).toMatchObject({ token: "ops", outcome: "pending" });
    expect(out).not.toContain(TOKEN);
    expect(out).not.toContain(WEBHOOK);
  });
});
