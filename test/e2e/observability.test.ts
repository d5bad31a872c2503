/**
 * The shipped operability assets against a real Prometheus (Debian's) scraping the local stack:
 * docs/ops/prometheus.yml and alerts.yml load and validate, every target is up, every Grafana
 * dashboard panel's query returns data while traffic flows, and every alert rule evaluates.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/config.js";
import { irisBody, nerBody } from "../../tools/demo/payloads.js";
import { send } from "../support/http.js";
import { OBS, freePort } from "./helpers.js";

const OPS = path.join(PACKAGE_ROOT, "docs", "ops");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "modeltap-prometheus-"));
let prometheus: ChildProcess | undefined;
let base = "";
let traffic: NodeJS.Timeout | undefined;

interface QueryResult {
  status: string;
  data: { result: Array<{ value: [number, string] }> };
}

async function query(expr: string): Promise<QueryResult> {
  const res = await fetch(`${base}/api/v1/query?query=${encodeURIComponent(expr)}`);
  return (await res.json()) as QueryResult;
}

beforeAll(async () => {
  // The shipped config, scraped every second so the test needs seconds, not minutes.
  const config = fs
    .readFileSync(path.join(OPS, "prometheus.yml"), "utf8")
    .replace(/(scrape|evaluation)_interval: 15s/g, "$1_interval: 1s");
  fs.writeFileSync(path.join(dir, "prometheus.yml"), config);
  fs.copyFileSync(path.join(OPS, "alerts.yml"), path.join(dir, "alerts.yml"));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  prometheus = spawn(
    "prometheus",
    [
      `--config.file=${path.join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${path.join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  // Steady traffic while Prometheus scrapes, so rates and histograms have data (bounded: 3 minutes).
  const stopAt = Date.now() + 180_000;
  let i = 0;
  traffic = setInterval(() => {
    if (Date.now() > stopAt) return;
    i++;
    void send(`${OBS}/v2/models/iris/infer`, irisBody(i));
    void send(`${OBS}/models/ner`, nerBody(i));
  }, 100);
});

afterAll(() => {
  if (traffic) clearInterval(traffic);
  prometheus?.kill("SIGTERM");
  fs.rmSync(dir, { recursive: true, force: true });
});

it("promtool accepts the shipped scrape config and alert rules", () => {
  const out = execFileSync("promtool", ["check", "config", path.join(OPS, "prometheus.yml")], {
    encoding: "utf8",
  });
  expect(out).toMatch(new RegExp(`SUCCESS: ${shippedRules()} rules found`));
});

it("every target is up: Envoy admin, collector, worker, api", async () => {
  const deadline = Date.now() + 60_000;
  let health: Record<string, string> = {};
  while (Date.now() < deadline) {
    try {
      const res = (await (await fetch(`${base}/api/v1/targets`)).json()) as {
        data: { activeTargets: Array<{ labels: { job: string }; health: string }> };
      };
      health = Object.fromEntries(res.data.activeTargets.map((t) => [t.labels.job, t.health]));
      if (Object.keys(health).length === 4 && Object.values(health).every((h) => h === "up")) break;
    } catch {
      /* Prometheus still starting */
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  expect(health).toEqual({
    envoy: "up",
    "modeltap-collector": "up",
    "modeltap-worker": "up",
    "modeltap-api": "up",
  });
});

it("every Grafana panel's query returns data from the running stack", async () => {
  const dashboard = JSON.parse(fs.readFileSync(path.join(OPS, "grafana-dashboard.json"), "utf8")) as {
    panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
  };
  const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => ({ title: p.title, expr: t.expr })));
  expect(exprs.length).toBeGreaterThanOrEqual(20);
  const deadline = Date.now() + 90_000;
  let empty = exprs;
  while (Date.now() < deadline && empty.length > 0) {
    const still = [];
    for (const e of empty) {
      const r = await query(e.expr);
      expect(r.status, e.expr).toBe("success");
      const values = r.data.result.map((x) => Number(x.value[1]));
      if (values.length === 0 || values.every((v) => Number.isNaN(v))) still.push(e);
    }
    empty = still;
    if (empty.length) await new Promise((r) => setTimeout(r, 1000));
  }
  expect(empty.map((e) => `${e.title}: ${e.expr}`)).toEqual([]);
});

it("every alert rule evaluates without error", async () => {
  const deadline = Date.now() + 30_000;
  let rules: Array<{ name: string; health: string; lastError?: string }> = [];
  while (Date.now() < deadline) {
    const res = (await (await fetch(`${base}/api/v1/rules`)).json()) as {
      data: { groups: Array<{ rules: Array<{ name: string; health: string; lastError?: string }> }> };
    };
    rules = res.data.groups.flatMap((g) => g.rules);
    if (rules.length === shippedRules() && rules.every((r) => r.health === "ok")) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  expect(rules.map((r) => [r.name, r.health, r.lastError ?? ""])).toEqual(
    rules.map((r) => [r.name, "ok", ""]),
  );
  expect(rules).toHaveLength(shippedRules());
});

/** How many alert rules docs/ops/alerts.yml defines. */
function shippedRules(): number {
  return [...fs.readFileSync(path.join(OPS, "alerts.yml"), "utf8").matchAll(/^\s+- alert: /gm)].length;
}
