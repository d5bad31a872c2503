/** Operating modeltap: several workers, migration checks, moved ports, stack status. */
import { execFile, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/config.js";
import { loadStackConfig } from "../../tools/stack/settings.js";
import { irisBody } from "../../tools/demo/payloads.js";
import { pool, send } from "../support/http.js";
import { renderShippedEnvoyConfig } from "../../tools/stack/envoy-config.js";
import { httpOk, stopPid, waitFor } from "../../tools/stack/process.js";
import { paths } from "../../tools/stack/services.js";
import { stackContext } from "../../tools/stack/stack.js";
import { OBS, config, db, waitForRows } from "./helpers.js";

const pg = db();
afterAll(() => pg.end());
const run = promisify(execFile);
const cli = path.join(PACKAGE_ROOT, "bin", "modeltap.js");

async function persisted(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(/^modeltap_worker_persisted_total (\d+)/m.exec(text)?.[1] ?? 0);
}

it("several workers share one durable consumer without duplicates", async () => {
  const port = 19_466;
  const ctx = stackContext(config);
  const second = spawn(process.execPath, [cli, "worker"], {
    env: { ...ctx.env, MODELTAP_WORKER_METRICS_PORT: String(port), MODELTAP_WORKER_BATCH: "8" },
    stdio: "ignore",
  });
  try {
    await waitFor(
      "second worker",
      () => httpOk(`http://127.0.0.1:${port}/readyz`),
      30_000,
      "(stdio ignored)",
    );
    const firstBefore = await persisted(config.ports.workerMetrics);
    const N = 300;
    const sent = await pool(N, 8, (i) => send(`${OBS}/v2/models/iris/infer`, irisBody(i)));
    const rows = await waitForRows(
      pg,
      sent.map((s) => s.id),
      N,
      60_000,
    );
    expect(rows).toHaveLength(N);
    const byFirst = (await persisted(config.ports.workerMetrics)) - firstBefore;
    const bySecond = await persisted(port);
    expect(byFirst).toBeGreaterThan(0);
    expect(bySecond).toBeGreaterThan(0);
    expect(byFirst + bySecond).toBeGreaterThanOrEqual(N);
  } finally {
    await stopPid(second.pid!);
  }
});

it("the worker refuses to start until migrations are applied", async () => {
  const url = config.databaseUrl.replace(/\/modeltap$/, "/postgres");
  const err = await run(process.execPath, [cli, "worker"], {
    env: { ...process.env, MODELTAP_DATABASE_URL: url, MODELTAP_WORKER_METRICS_PORT: "0" },
  }).catch((e: { code: number; stderr: string }) => e);
  expect(err).toMatchObject({ code: 1, stderr: expect.stringContaining("[MIGRATIONS_PENDING]") });
  expect((err as { stderr: string }).stderr).toContain("modeltap migrate");
});

it("the shipped Envoy config, rendered with moved ports, is valid for the real Envoy", async () => {
  const moved = loadStackConfig({
    MODELTAP_ENVOY_PORT: "20000",
    MODELTAP_ENVOY_NORMAL_PORT: "20001",
    MODELTAP_ENVOY_BASELINE_PORT: "20002",
    MODELTAP_ENVOY_ADMIN_PORT: "29901",
    MODELTAP_COLLECTOR_PORT: "25051",
    MODELTAP_DEMO_PORT: "28081",
    MODELTAP_MLSERVER_PORT: "28082",
  });
  const text = renderShippedEnvoyConfig(moved);
  for (const p of [20000, 20001, 20002, 29901, 25051, 28081, 28082])
    expect(text).toContain(`port_value: ${p}`);
  expect(text).not.toMatch(/port_value: (10000|10001|10002|9901|50051|8081|8082)\b/);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "modeltap-envoy-")), "envoy.yaml");
  fs.writeFileSync(file, text);
  const envoy = path.join(paths(config).venvBin, "envoy");
  const out = await run(envoy, ["--mode", "validate", "-c", file]);
  expect(out.stdout).toContain("OK");
});

it("`stack status --json` reports every service ready", async () => {
  const out = await run(process.execPath, [cli, "stack", "status", "--json"]);
  const status = JSON.parse(out.stdout) as Array<{ name: string; ready: boolean }>;
  expect(status.map((s) => s.name)).toEqual([
    "postgres",
    "nats",
    "s3",
    "demo-server",
    "mlserver",
    "label-studio",
    "collector",
    "worker",
    "monitor",
    "api",
    "envoy",
  ]);
  expect(status.every((s) => s.ready)).toBe(true);
});
