/**
 * Listeners, with real processes from the product build (dist/): the collector refuses plaintext
 * gRPC on a non-loopback bind unless told the network is trusted, and `modeltap api` answers a
 * malformed URL or a 100k-deep JSON body with a 400 and a JSON error, never a 500. Each test runs
 * its own process on free ports, beside the shared stack (whose NATS, Postgres and S3 it uses).
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/config.js";
import { localSecrets } from "../../tools/stack/services.js";
import { productEnv } from "../../tools/stack/settings.js";
import { stackContext } from "../../tools/stack/stack.js";
import { config, freePort, until } from "./helpers.js";

const MAIN = path.join(PACKAGE_ROOT, "dist", "cli", "main.js");
const children: ChildProcess[] = [];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "modeltap-listeners-"));

/** A product process; `output` is what it wrote so far (its log on stdout, a refusal on stderr). */
function start(command: string, env: NodeJS.ProcessEnv): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [MAIN, command], { env, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let output = "";
  for (const stream of [child.stdout!, child.stderr!])
    stream.on("data", (d: Buffer) => (output += d.toString()));
  return { child, output: () => output };
}

function exitCode(child: ChildProcess, timeoutMs = 20_000): Promise<number | null> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the process did not exit")), timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** Whether a TCP socket listens on 0.0.0.0:port (Linux /proc/net/tcp: state 0A is LISTEN). */
function listensOnAllInterfaces(port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  return fs
    .readFileSync("/proc/net/tcp", "utf8")
    .split("\n")
    .some((line) => {
      const cols = line.trim().split(/\s+/);
      return cols[1] === `00000000:${hex}` && cols[3] === "0A";
    });
}

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGTERM");
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("the collector's bind", () => {
  const collectorEnv = async (extra: NodeJS.ProcessEnv) => ({
    ...productEnv(process.env),
    MODELTAP_COLLECTOR_PORT: String(await freePort()),
    MODELTAP_COLLECTOR_METRICS_PORT: String(await freePort()),
    MODELTAP_LOG_LEVEL: "warn",
    ...extra,
  });

  it("refuses plaintext gRPC on 0.0.0.0 without TLS, and says why", async () => {
    const env = await collectorEnv({ MODELTAP_COLLECTOR_HOST: "0.0.0.0" });
    const { child, output } = start("collector", env);
    expect(await exitCode(child)).not.toBe(0);
    expect(output()).toContain("[COLLECTOR_INSECURE_BIND]");
    expect(output()).toContain("plaintext gRPC on 0.0.0.0, which is not loopback");
    expect(output()).toContain("MODELTAP_COLLECTOR_INSECURE=1");
    expect(listensOnAllInterfaces(Number(env.MODELTAP_COLLECTOR_PORT))).toBe(false);
  });

  it("starts on 0.0.0.0 when MODELTAP_COLLECTOR_INSECURE=1 says the network is trusted", async () => {
    const env = await collectorEnv({ MODELTAP_COLLECTOR_HOST: "0.0.0.0", MODELTAP_COLLECTOR_INSECURE: "1" });
    const { child, output } = start("collector", env);
    const metrics = `http://127.0.0.1:${env.MODELTAP_COLLECTOR_METRICS_PORT}`;
    await until("the insecure collector", async () => (await fetch(`${metrics}/healthz`)).ok, 20_000);
    expect(listensOnAllInterfaces(Number(env.MODELTAP_COLLECTOR_PORT))).toBe(true);
    // Its metrics keep their own bind: loopback by default.
    expect(listensOnAllInterfaces(Number(env.MODELTAP_COLLECTOR_METRICS_PORT))).toBe(false);
    expect(output()).toContain("serving plaintext gRPC");
    child.kill("SIGTERM");
    await exitCode(child);
  });
});

describe("the api's input checks", () => {
  let api = "";
  const secrets = localSecrets(config);
  const json = (token: string) => ({ authorization: `Bearer ${token}`, "content-type": "application/json" });

  beforeAll(async () => {
    const port = await freePort();
    // The settings the stack starts its own api with (tokens, S3 credentials); no envoy.yaml written.
    const { env } = stackContext(config, { envoyConfig: path.join(dir, "unused-envoy.yaml") });
    start("api", {
      ...env,
      MODELTAP_API_HOST: "127.0.0.1",
      MODELTAP_API_PORT: String(port),
      MODELTAP_PUBLIC_URL: `http://127.0.0.1:${port}`,
      MODELTAP_LABELING: "none",
      MODELTAP_LABEL_SYNC_INTERVAL_S: "0",
      MODELTAP_LOG_LEVEL: "warn",
    });
    api = `http://127.0.0.1:${port}`;
    await until("the api", async () => (await fetch(`${api}/readyz`)).ok, 30_000);
  });

  async function expect400(res: Response, error: RegExp): Promise<void> {
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(((await res.json()) as { error: string }).error).toMatch(error);
  }

  it("answers bad percent-encoding in the URL with 400, in the query or the path", async () => {
    const headers = json(secrets.apiToken);
    await expect400(await fetch(`${api}/v1/ground-truth?id=%E0%A4%A`, { headers }), /percent-encoding/);
    await expect400(await fetch(`${api}/v1/ground-truth/%E0%A4%A`, { headers }), /percent-encoding/);
    await expect400(await fetch(`${api}/v1/media?capture=%FF&instance=0&sig=x`), /percent-encoding/);
  });

  it("answers 100k-deep JSON with 400 on the ground-truth API and the webhook", async () => {
    const deep = "[".repeat(100_000) + "]".repeat(100_000);
    const bodies = ["[".repeat(100_000), deep, `{"capture_id":"x","source":"e2e","label":${deep}}`];
    for (const body of bodies) {
      await expect400(
        await fetch(`${api}/v1/ground-truth`, { method: "POST", headers: json(secrets.apiToken), body }),
        /deeper than 64 levels/,
      );
      await expect400(
        await fetch(`${api}/v1/labeling/webhook`, {
          method: "POST",
          headers: json(secrets.webhookSecret),
          body,
        }),
        /deeper than 64 levels/,
      );
    }
    expect((await fetch(`${api}/healthz`)).ok).toBe(true);
  });
});
