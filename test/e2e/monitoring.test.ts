/**
 * The monitoring acceptance story, on the real stack (collector, worker, monitor, api, Postgres,
 * NATS) behind an Envoy of the test's own, with a tabular model the test serves itself:
 *   minutes 0-1: standard-normal traffic, the baseline;
 *   minute 2 and 3: more of the same (controls); the worker is killed and restarted in minute 3;
 *   minute 4: feature x1 shifted by one standard deviation, labels agree less; the monitor is
 *             restarted in it.
 * Then: only x1 drifts in minute 4's window, the shipped FeatureDrift alert fires in a real
 * Prometheus within 60 s of that window's close, accuracy shows the drop within 60 s of the
 * window's last label, every window counts exactly its captures, and scipy/numpy recompute the same
 * numbers from the same rows (tools/oracle/monitor_check.py).
 */
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/config.js";
import type { Baseline } from "../../src/core/monitoring/baseline.js";
import { chiSquare, hellinger, jensenShannon, lInfinity, psi } from "../../src/core/monitoring/drift.js";
import type { DriftResult } from "../../src/core/monitoring/evaluate.js";
import { KllSketch } from "../../src/core/monitoring/kll.js";
import { Profile, type ProfileJson } from "../../src/core/monitoring/profile.js";
import type { WindowResult } from "../../src/core/monitoring/window-result.js";
import { restartService, serviceByName, stackContext } from "../../tools/stack/stack.js";
import { stopPid } from "../../tools/stack/process.js";
import { localSecrets } from "../../tools/stack/services.js";
import { productEnv } from "../../tools/stack/settings.js";
import { creditEnvoyConfig } from "../support/envoy-config.js";
import { send } from "../support/http.js";
import { draws } from "../support/random.js";
import {
  config,
  creditPrediction,
  db,
  freePort,
  poll,
  startCreditModel,
  startEnvoy,
  until,
} from "./helpers.js";

const run = promisify(execFile);
const pg = db();
const ctx = stackContext(config);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "modeltap-monitoring-"));
const MODEL = `credit-${Date.now().toString(36)}`;
const MINUTE = 60_000;
const FEATURES = ["x1", "x2", "x3", "x4", "x5"] as const;
const SEGMENTS = ["a", "b", "c"] as const;
const API = `http://127.0.0.1:${config.ports.api}`;
const secrets = localSecrets(config);
const ports = { listener: 0, admin: 0, prometheus: 0 };
const children: ChildProcess[] = [];
let upstream: http.Server | undefined;

beforeAll(async () => {
  upstream = await startCreditModel();
  for (const k of Object.keys(ports) as Array<keyof typeof ports>) ports[k] = await freePort();
  const envoyYaml = creditEnvoyConfig("monitoring", MODEL, {
    ...ports,
    collector: config.ports.collector,
    upstream: (upstream.address() as AddressInfo).port,
  });
  // A real Prometheus with the shipped rules, scraping the monitor every 2 s.
  const rules = path.join(dir, "alerts.yml");
  fs.copyFileSync(path.join(PACKAGE_ROOT, "docs", "ops", "alerts.yml"), rules);
  fs.writeFileSync(
    path.join(dir, "prometheus.yml"),
    `global: { scrape_interval: 2s, evaluation_interval: 2s }\nrule_files: [${JSON.stringify(rules)}]\nscrape_configs:\n  - job_name: modeltap-monitor\n    static_configs: [{ targets: ["127.0.0.1:${config.ports.monitorMetrics}"] }]\n`,
  );
  children.push(
    spawn(
      "prometheus",
      [
        `--config.file=${path.join(dir, "prometheus.yml")}`,
        `--storage.tsdb.path=${path.join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${ports.prometheus}`,
      ],
      { stdio: ["ignore", "ignore", "ignore"] },
    ),
  );
  children.push(await startEnvoy(dir, envoyYaml, ports.admin));
  await until(
    "Prometheus",
    async () => (await fetch(`http://127.0.0.1:${ports.prometheus}/-/ready`)).ok,
    60_000,
  );
});

afterAll(async () => {
  for (const child of children) child.kill("SIGTERM");
  await new Promise((resolve) => upstream?.close(resolve));
  // Leave the stack whole: the worker and monitor this test restarts are up again.
  await restartService("worker", ctx).catch(() => undefined);
  await pg.end();
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Sent {
  id: string;
  ok: boolean;
  /** Envoy answered (whatever the status): the exchange was captured. */
  answered: boolean;
  prediction: string;
  label: string | null;
  labeledAt: number;
}

/**
 * One minute of traffic: 10 requests per second from second 2 to second 56 of the minute starting
 * at `start`, a third of them labeled (`agreement` of those labels equal the prediction).
 */
async function minuteOfTraffic(
  start: number,
  opts: { shift: number; agreement: number; seed: number },
): Promise<Sent[]> {
  const { uniform, normal } = draws(opts.seed);
  const out: Sent[] = [];
  await sleepUntil(start + 2000);
  const inflight: Promise<void>[] = [];
  for (let i = 0; Date.now() < start + 56_000; i++) {
    const row: Record<string, number | string> = Object.fromEntries(FEATURES.map((f) => [f, normal()]));
    row.x1 = (row.x1 as number) + opts.shift;
    const u = uniform();
    row.segment = SEGMENTS[u < 0.5 ? 0 : u < 0.8 ? 1 : 2]!;
    const labeled = i % 3 === 0;
    const agree = uniform() < opts.agreement;
    inflight.push(
      (async () => {
        const s = await send(
          `http://127.0.0.1:${ports.listener}/v1/models/credit:predict`,
          JSON.stringify({ instances: [row] }),
        );
        const prediction = creditPrediction(row);
        const sent: Sent = {
          id: s.id,
          ok: s.status === 200,
          answered: s.status > 0,
          prediction,
          label: null,
          labeledAt: 0,
        };
        if (labeled && sent.ok) {
          sent.label = agree ? prediction : prediction === "approve" ? "deny" : "approve";
          const res = await fetch(`${API}/v1/ground-truth`, {
            method: "POST",
            headers: { authorization: `Bearer ${secrets.apiToken}`, "content-type": "application/json" },
            body: JSON.stringify({
              request_id: s.id,
              label: { kind: "classification", label: sent.label },
              source: "e2e",
            }),
          });
          expect(res.status, await res.text()).toBeLessThan(300);
          sent.labeledAt = Date.now();
        }
        out.push(sent);
      })(),
    );
    await sleepUntil(start + 2000 + (i + 1) * 100);
  }
  await Promise.all(inflight);
  return out;
}

function sleepUntil(t: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));
}

/** The CLI as a child process, without blocking this process (its model server keeps answering). */
async function cli(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [path.join(PACKAGE_ROOT, "bin", "modeltap.js"), ...args], {
    env: productEnv(process.env),
    encoding: "utf8",
  });
  return stdout;
}

async function result(
  window: string,
  end: number,
): Promise<{ result: WindowResult; evaluated: Date; captures: number } | undefined> {
  const r = await pg.query<{ result: WindowResult; evaluated_at: Date; captures: number }>(
    "SELECT result, evaluated_at, captures FROM monitor_results WHERE model = $1 AND window_name = $2 AND window_end = $3",
    [MODEL, window, new Date(end)],
  );
  const row = r.rows[0];
  return row ? { result: row.result, evaluated: row.evaluated_at, captures: row.captures } : undefined;
}

async function capturesIn(from: number, to: number): Promise<number> {
  const r = await pg.query<{ n: string }>(
    "SELECT count(*) AS n FROM captures WHERE model = $1 AND received_at >= $2 AND received_at < $3",
    [MODEL, new Date(from), new Date(to)],
  );
  return Number(r.rows[0]!.n);
}

async function firingAlerts(): Promise<Array<{ labels: Record<string, string>; activeAt: string }>> {
  const res = await fetch(`http://127.0.0.1:${ports.prometheus}/api/v1/alerts`);
  const body = (await res.json()) as {
    data: { alerts: Array<{ labels: Record<string, string>; state: string; activeAt: string }> };
  };
  return body.data.alerts.filter((a) => a.state === "firing" && a.labels.model === MODEL);
}

function inputDrifted(d: DriftResult): string[] {
  return d.fields.filter((f) => f.field.startsWith("feature.") && f.drifted).map((f) => f.field);
}

it("finds the one shifted feature, alerts on it within a minute, shows the accuracy drop, counts every capture once, and agrees with scipy", async () => {
  const t0 = Math.ceil((Date.now() + 3000) / MINUTE) * MINUTE;
  const minute = (i: number) => t0 + i * MINUTE;
  const alertsSeen: Array<{ at: number; labels: Record<string, string> }> = [];
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      for (const a of await firingAlerts().catch(() => []))
        alertsSeen.push({ at: Date.now(), labels: a.labels });
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();

  // Minutes 0 and 1: the baseline.
  const sent: Sent[][] = [];
  sent.push(await minuteOfTraffic(minute(0), { shift: 0, agreement: 0.9, seed: 1 }));
  sent.push(await minuteOfTraffic(minute(1), { shift: 0, agreement: 0.9, seed: 2 }));
  // Minute 2 (control) runs while the baseline is built from minutes 0-1 and activated.
  const control1 = minuteOfTraffic(minute(2), { shift: 0, agreement: 0.9, seed: 3 });
  const total01 = [...sent[0]!, ...sent[1]!].filter((s) => s.answered).length;
  await until(
    "the baseline minutes stored",
    async () => (await capturesIn(minute(0), minute(2))) === total01,
    60_000,
  );
  const created = await cli(
    "baseline",
    "create",
    "--model",
    MODEL,
    "--from",
    new Date(minute(0)).toISOString(),
    "--to",
    new Date(minute(2)).toISOString(),
    "--activate",
  );
  expect(created).toMatch(/active for/);
  sent.push(await control1);
  // Minute 3 (control): the worker is killed 20 s in and restarted 10 s later.
  const control2 = minuteOfTraffic(minute(3), { shift: 0, agreement: 0.9, seed: 4 });
  await sleepUntil(minute(3) + 20_000);
  await stopPid(serviceByName("worker").pid(ctx)!, "SIGKILL");
  await sleepUntil(minute(3) + 30_000);
  await restartService("worker", ctx);
  sent.push(await control2);
  // Minute 4: x1 shifted by one standard deviation, labels agree half the time; the monitor restarts 30 s in.
  const drifted = minuteOfTraffic(minute(4), { shift: 1, agreement: 0.5, seed: 5 });
  await sleepUntil(minute(4) + 30_000);
  await restartService("monitor", ctx);
  sent.push(await drifted);
  const lastLabel = Math.max(...sent[4]!.map((s) => s.labeledAt));

  // The drifted window's first result, and the alert.
  const close = minute(5);
  const first = await poll("minute 4's result", () => result("1m", close), 90_000);
  const alert = await poll(
    "ModeltapFeatureDrift for feature.x1",
    async () =>
      alertsSeen.find(
        (a) => a.labels.alertname === "ModeltapFeatureDrift" && a.labels.feature === "feature.x1",
      ),
    90_000,
  );
  watching = false;
  await watcher;
  const resultLag = (first.evaluated.getTime() - close) / 1000;
  const alertLag = (alert.at - close) / 1000;
  console.log(
    `monitoring e2e: window close to result ${resultLag.toFixed(1)} s, to firing alert ${alertLag.toFixed(1)} s`,
  );
  expect(alertLag).toBeLessThanOrEqual(60);

  // No drift alert and no drifted feature in the controls.
  expect(alertsSeen.filter((a) => a.at < close && /Drift/.test(a.labels.alertname ?? ""))).toEqual([]);
  for (const i of [2, 3]) {
    const r = await poll(`minute ${i}'s result`, () => result("1m", minute(i + 1)), 30_000);
    expect(r.result.drift, `minute ${i}`).not.toBeNull();
    expect(inputDrifted(r.result.drift!), `minute ${i}`).toEqual([]);
    expect(r.result.drift!.dataset_drift).toBe(false);
  }
  // Only x1 in the drifted window.
  const d = (await result("1m", close))!.result.drift!;
  expect(inputDrifted(d)).toEqual(["feature.x1"]);
  expect(d.dataset_drift).toBe(false);

  // Accuracy shows the drop within 60 s of the window's last label.
  const labeled4 = sent[4]!.filter((s) => s.label !== null);
  const expected = labeled4.filter((s) => s.label === s.prediction).length / labeled4.length;
  const withAccuracy = await poll(
    "minute 4's accuracy with every label",
    async () => {
      const r = await result("1m", close);
      return r && r.result.labeled === labeled4.length ? r : undefined;
    },
    90_000,
  );
  expect(withAccuracy.result.quality.accuracy).toBeCloseTo(expected, 12);
  expect(expected).toBeLessThan(0.75);
  const qualityLag = (withAccuracy.evaluated.getTime() - lastLabel) / 1000;
  console.log(
    `monitoring e2e: last label to accuracy ${qualityLag.toFixed(1)} s (accuracy ${expected.toFixed(3)})`,
  );
  expect(qualityLag).toBeLessThanOrEqual(60);

  // Exactly once: each window counts exactly the captures sent in it, worker kill and monitor restart included.
  for (let i = 2; i <= 4; i++) {
    const r = (await result("1m", minute(i + 1)))!;
    const ok = sent[i]!.filter((s) => s.answered).length;
    expect(await capturesIn(minute(i), minute(i + 1)), `minute ${i} stored`).toBe(ok);
    expect(r.captures, `minute ${i} counted`).toBe(ok);
    expect(r.result.instances).toBe(ok);
  }

  await oracleCheck(minute(0), minute(2), minute(4), close);
}, 900_000);

/** numpy and scipy on the raw rows against the stored baseline and the window's profile. */
async function oracleCheck(baseFrom: number, baseTo: number, from: number, to: number): Promise<void> {
  const rows = async (a: number, b: number) =>
    (
      await pg.query<{ f: Record<string, number | string> }>(
        "SELECT features->0 AS f FROM captures WHERE model = $1 AND received_at >= $2 AND received_at < $3",
        [MODEL, new Date(a), new Date(b)],
      )
    ).rows.map((r) => r.f);
  const ref = await rows(baseFrom, baseTo);
  const cur = await rows(from, to);
  const input = {
    bins: 20,
    quantiles: [0.1, 0.5, 0.9],
    numeric: Object.fromEntries(
      FEATURES.map((f) => [
        `feature.${f}`,
        { reference: ref.map((r) => r[f]), current: cur.map((r) => r[f]) },
      ]),
    ),
    categorical: {
      "feature.segment": { reference: ref.map((r) => r.segment), current: cur.map((r) => r.segment) },
    },
  };
  // The local stack's MLServer venv has numpy and scipy (scikit-learn needs them).
  const python = path.join(config.home, "mlserver-venv", "bin", "python");
  const out = JSON.parse(
    execFileSync(python, [path.join(PACKAGE_ROOT, "tools", "oracle", "monitor_check.py")], {
      input: JSON.stringify(input),
      encoding: "utf8",
      cwd: path.join(PACKAGE_ROOT, "tools", "oracle"),
    }),
  ) as {
    numeric: Record<
      string,
      {
        edges: number[];
        reference_counts: number[];
        current_counts: number[];
        psi: number;
        jensenshannon: number;
        hellinger: number;
        linf: number;
        chisquare_p: number;
        ks_statistic: number;
        wasserstein_norm: number;
        quantiles: number[];
      }
    >;
    categorical: Record<string, { keys: string[]; current_counts: number[]; jensenshannon: number }>;
  };
  const baseline = (
    await pg.query<{ doc: Baseline }>("SELECT doc FROM baselines WHERE model = $1 AND active", [MODEL])
  ).rows[0]!.doc;
  const buckets = await pg.query<{ profile: ProfileJson }>(
    "SELECT profile FROM monitor_buckets WHERE model = $1 AND resolution = 'minute' AND start_at >= $2 AND start_at < $3",
    [MODEL, new Date(from), new Date(to)],
  );
  const profile = Profile.mergeAll(buckets.rows.map((b) => Profile.fromJSON(b.profile)));
  expect(profile.baseline, "minute 4 counted on the baseline's edges").toBe(baseline.id);
  const close = (a: number, b: number, tol = 1e-9) =>
    expect(Math.abs(a - b), `${a} vs ${b}`).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(b)));
  for (const f of FEATURES) {
    const name = `feature.${f}`;
    const py = out.numeric[name]!;
    const ours = baseline.fields[name]!;
    ours.edges!.forEach((e, i) => close(e, py.edges[i]!));
    expect(ours.bins).toEqual(py.reference_counts);
    const curBins = profile.get(name)!.bins!;
    expect(curBins).toEqual(py.current_counts);
    close(psi(ours.bins!, curBins), py.psi);
    close(jensenShannon(ours.bins!, curBins), py.jensenshannon);
    close(hellinger(ours.bins!, curBins), py.hellinger);
    close(lInfinity(ours.bins!, curBins), py.linf);
    close(chiSquare(ours.bins!, curBins).pValue, py.chisquare_p);
    // Sketch-based: within the sketches' stated normalized rank error.
    const refSketch = KllSketch.deserialize(Buffer.from(ours.sketch!, "base64"));
    const curSketch = profile.get(name)!.sketch!;
    const eps = refSketch.normalizedRankError() + curSketch.normalizedRankError();
    const { ksFromSketches, wassersteinFromSketches } =
      await import("../../src/core/monitoring/sketch-drift.js");
    expect(Math.abs(ksFromSketches(refSketch, curSketch).statistic - py.ks_statistic)).toBeLessThanOrEqual(
      eps,
    );
    const w = wassersteinFromSketches(refSketch, curSketch);
    const sd = Math.sqrt(ours.summary!.m2 / ours.summary!.count);
    expect(Math.abs(w.distance / sd - py.wasserstein_norm)).toBeLessThanOrEqual(w.error / sd + 1e-9);
    const sorted = cur.map((r) => r[f] as number).sort((a, b) => a - b);
    [0.1, 0.5, 0.9].forEach((q) => {
      const rank = sorted.filter((x) => x <= curSketch.quantile(q)).length / sorted.length;
      expect(Math.abs(rank - q), `${name} q${q}`).toBeLessThanOrEqual(
        curSketch.normalizedRankError() + 1 / sorted.length,
      );
    });
  }
  const seg = out.categorical["feature.segment"]!;
  const counts = profile.get("feature.segment")!.categories!.counts;
  expect(seg.keys.map((k) => counts[k] ?? 0)).toEqual(seg.current_counts);
  const refCats = baseline.fields["feature.segment"]!.categories!;
  close(
    jensenShannon(
      seg.keys.map((k) => refCats[k] ?? 0),
      seg.current_counts,
    ),
    seg.jensenshannon,
  );
}
