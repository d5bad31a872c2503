/**
 * The shipped operability assets against a real Prometheus (Debian's) scraping the local stack:
 * docs/ops/prometheus.yml and alerts.yml load and validate, the monitoring alerts pass their
 * promtool unit tests (alerts.test.yml), every target is up, every Grafana dashboard panel's query
 * returns data while traffic flows, every metric an alert or panel names is scraped, and every
 * alert rule evaluates. The monitor's drift and quality series need an active baseline with
 * quality: the test makes one for iris (labeled traffic) and chat (LLM fields) from its own
 * traffic, and gives iris its previous active baseline back afterwards.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { PACKAGE_ROOT } from "../../src/config.js";
import { chatBody, irisBody, nerBody } from "../../tools/demo/payloads.js";
import { localSecrets } from "../../tools/stack/services.js";
import { send } from "../support/http.js";
import { OBS, config, freePort } from "./helpers.js";

const OPS = path.join(PACKAGE_ROOT, "docs", "ops");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "modeltap-prometheus-"));
let prometheus: ChildProcess | undefined;
let base = "";
let traffic: NodeJS.Timeout | undefined;
const run = promisify(execFile);
const API = `http://127.0.0.1:${config.ports.api}`;
const apiToken = localSecrets(config).apiToken;
const IRIS_CLASSES = ["setosa", "versicolor", "virginica"];
/** The active iris baseline before this test, given back in afterAll. */
let previousIrisBaseline: string | undefined;

/** Metrics an alert or panel may name before any process exports them, each documented. */
const NOT_YET_EXPORTED: Record<string, string> = {
  modeltap_capture_drops_total: "a labeled counter: exported at the first drop",
  modeltap_parse_errors_total: "a labeled counter: exported at the first parse error",
  modeltap_gate_sampled_out_total:
    "a labeled counter: exported at the first stream a gate and the collector disagree on",
  modeltap_monitor_errors_total: "a labeled counter: exported at the first failed monitor cycle",
  modeltap_monitor_series_dropped: "set only for a model over MODELTAP_MONITOR_MAX_SERIES",
};

interface QueryResult {
  status: string;
  data: { result: Array<{ value: [number, string] }> };
}

function modeltap(...args: string[]) {
  return run(process.execPath, [path.join(PACKAGE_ROOT, "bin", "modeltap.js"), ...args]);
}

async function activeBaseline(model: string): Promise<string | undefined> {
  const { stdout } = await modeltap("baseline", "list", "--model", model, "--json");
  return (JSON.parse(stdout) as Array<{ id: string; active: boolean }>).find((b) => b.active)?.id;
}

/** A label for an iris capture, posted a few seconds after it (the capture persisted by then). */
function labelLater(requestId: string, i: number): void {
  setTimeout(() => {
    void fetch(`${API}/v1/ground-truth`, {
      method: "POST",
      headers: { authorization: `Bearer ${apiToken}`, "content-type": "application/json" },
      body: JSON.stringify({
        request_id: requestId,
        label: { kind: "classification", label: IRIS_CLASSES[i % 3] },
        source: "observability-test",
      }),
    }).catch(() => undefined);
  }, 3000);
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
  // Steady traffic while Prometheus scrapes, so rates and histograms have data (bounded: 5
  // minutes), a quarter of iris labeled, and streamed chat for the LLM fields.
  const started = new Date();
  const stopAt = Date.now() + 300_000;
  let i = 0;
  traffic = setInterval(() => {
    if (Date.now() > stopAt) return;
    i++;
    const id = randomUUID();
    void send(`${OBS}/v2/models/iris/infer`, irisBody(i), { id }).catch(() => undefined);
    if (i % 4 === 0) labelLater(id, i);
    void send(`${OBS}/models/ner`, nerBody(i)).catch(() => undefined);
    void send(`${OBS}/v1/chat/completions`, chatBody(i, true)).catch(() => undefined);
  }, 100);
  // Baselines from the first 25 s of that traffic (about 250 instances each, 60 iris labels), so
  // the monitor's next 1m window (the local stack's) exports drift and quality against them.
  previousIrisBaseline = await activeBaseline("iris");
  await new Promise((r) => setTimeout(r, 25_000));
  const stamp = started.toISOString().replace(/[-:.]/g, "");
  for (const model of ["iris", "chat"]) {
    await modeltap(
      "baseline",
      "create",
      "--model",
      model,
      "--from",
      started.toISOString(),
      "--to",
      "now",
      "--id",
      `observability-${model}-${stamp}`,
      "--activate",
    );
  }
});

afterAll(async () => {
  if (traffic) clearInterval(traffic);
  prometheus?.kill("SIGTERM");
  fs.rmSync(dir, { recursive: true, force: true });
  if (previousIrisBaseline) await modeltap("baseline", "activate", previousIrisBaseline);
});

it("promtool accepts the shipped scrape config and alert rules", () => {
  const out = execFileSync("promtool", ["check", "config", path.join(OPS, "prometheus.yml")], {
    encoding: "utf8",
  });
  expect(out).toMatch(new RegExp(`SUCCESS: ${shippedRules()} rules found`));
});

it("promtool's unit tests of the monitoring alerts pass: each fires, and not in its control case", () => {
  const out = execFileSync("promtool", ["test", "rules", path.join(OPS, "alerts.test.yml")], {
    encoding: "utf8",
  });
  expect(out).toMatch(/SUCCESS/);
  // Every monitoring alert is tested, and every alert carries a summary and a description.
  const tested = new Set(
    (parseYaml(fs.readFileSync(path.join(OPS, "alerts.test.yml"), "utf8")) as UnitTests).tests.flatMap((t) =>
      t.alert_rule_test.filter((a) => a.exp_alerts.length > 0).map((a) => a.alertname),
    ),
  );
  const groups = shippedGroups();
  const monitoring = groups.find((g) => g.name === "modeltap-monitoring")!.rules.map((r) => r.alert);
  expect([...new Set(monitoring)].sort()).toEqual(
    [
      "ModeltapDatasetDrift",
      "ModeltapFeatureDrift",
      "ModeltapMonitorSlow",
      "ModeltapMonitorStalled",
      "ModeltapPredictionDrift",
      "ModeltapQualityDrop",
    ].sort(),
  );
  expect(monitoring.filter((a) => !tested.has(a))).toEqual([]);
  const rules = groups.flatMap((g) => g.rules);
  expect(
    rules.filter((r) => !r.annotations?.summary || !r.annotations.description).map((r) => r.alert),
  ).toEqual([]);
});

it("every target is up: Envoy admin, collector, worker, monitor, api", async () => {
  const deadline = Date.now() + 60_000;
  let health: Record<string, string> = {};
  while (Date.now() < deadline) {
    try {
      const res = (await (await fetch(`${base}/api/v1/targets`)).json()) as {
        data: { activeTargets: Array<{ labels: { job: string }; health: string }> };
      };
      health = Object.fromEntries(res.data.activeTargets.map((t) => [t.labels.job, t.health]));
      if (Object.keys(health).length === 5 && Object.values(health).every((h) => h === "up")) break;
    } catch {
      /* Prometheus still starting */
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  expect(health).toEqual({
    envoy: "up",
    "modeltap-collector": "up",
    "modeltap-worker": "up",
    "modeltap-monitor": "up",
    "modeltap-api": "up",
  });
});

it("every Grafana panel's query returns data from the running stack", async () => {
  const exprs = dashboardQueries();
  expect(exprs.length).toBeGreaterThanOrEqual(40);
  const rows = dashboard().panels.filter((p) => p.type === "row");
  expect(rows.map((r) => r.title)).toEqual(["Drift", "Predictions", "Quality", "LLM", "Monitor health"]);
  const ids = dashboard().panels.map((p) => p.id);
  expect(new Set(ids).size).toBe(ids.length);
  // The monitor's series come with the first 1m window closed after the baselines (up to 75 s).
  const deadline = Date.now() + 150_000;
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

it("every metric an alert rule or a panel names is scraped from the stack", async () => {
  const names = new Set<string>();
  const exprs = [
    ...shippedGroups().flatMap((g) => g.rules.map((r) => r.expr)),
    ...dashboardQueries().map((q) => q.expr),
  ];
  for (const e of exprs) {
    // Label lists (by, without, on, ignoring, group_left, group_right) name labels, not metrics.
    const metricsOnly = e.replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "");
    for (const m of metricsOnly.matchAll(/\b(?:modeltap|envoy)_[a-z0-9_]+\b/g)) names.add(m[0]);
  }
  expect(names.size).toBeGreaterThanOrEqual(40);
  const metricsDoc = fs.readFileSync(path.join(PACKAGE_ROOT, "docs", "metrics.md"), "utf8");
  for (const name of Object.keys(NOT_YET_EXPORTED)) {
    expect(names.has(name), `${name} is not used: drop it from NOT_YET_EXPORTED`).toBe(true);
    expect(metricsDoc, `${name} is documented`).toContain(`\`${name}\``);
  }
  let missing: string[];
  const deadline = Date.now() + 60_000;
  do {
    const res = (await (await fetch(`${base}/api/v1/label/__name__/values`)).json()) as { data: string[] };
    const scraped = new Set(res.data);
    missing = [...names].filter((n) => !scraped.has(n) && !(n in NOT_YET_EXPORTED)).sort();
    if (missing.length) await new Promise((r) => setTimeout(r, 1000));
  } while (missing.length && Date.now() < deadline);
  expect(missing).toEqual([]);
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

interface Rule {
  alert: string;
  expr: string;
  annotations?: { summary?: string; description?: string };
}

interface UnitTests {
  tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
}

interface Dashboard {
  panels: Array<{ id: number; type: string; title: string; targets?: Array<{ expr: string }> }>;
}

/** The groups of docs/ops/alerts.yml. */
function shippedGroups(): Array<{ name: string; rules: Rule[] }> {
  return (
    parseYaml(fs.readFileSync(path.join(OPS, "alerts.yml"), "utf8")) as {
      groups: Array<{ name: string; rules: Rule[] }>;
    }
  ).groups;
}

/** How many alert rules docs/ops/alerts.yml defines. */
function shippedRules(): number {
  return shippedGroups().flatMap((g) => g.rules).length;
}

function dashboard(): Dashboard {
  return JSON.parse(fs.readFileSync(path.join(OPS, "grafana-dashboard.json"), "utf8")) as Dashboard;
}

/** Every panel's query, with the dashboard's variables at "All" (Grafana's allValue, `.*`). */
function dashboardQueries(): Array<{ title: string; expr: string }> {
  return dashboard().panels.flatMap((p) =>
    (p.targets ?? []).map((t) => ({ title: p.title, expr: t.expr.replace(/\$(model|window)\b/g, ".*") })),
  );
}
