/**
 * Detection lag of the monitoring engine on the local real stack: how long after a window closes
 * its result is stored, and how long until the shipped ModeltapFeatureDrift alert fires in a real
 * Prometheus (the shipped alerts.yml and the shipped 15 s scrape and evaluation intervals).
 *
 * The baseline comes from a training file of 1000 iris rows (activated for the run; the model's
 * previous active baseline is restored after), as docs/monitoring.md advises: a baseline of one
 * minute's 430 values is a sample small enough that a given one can mark a quarter of unshifted
 * windows drifted. Then traffic goes through the stack's Envoy to the iris model at 8 requests/s,
 * BENCH_LAG_WINDOWS minutes alternating petal_length shifted by 1.5 sd and normal traffic, so the
 * alert fires after each shifted window and resolves after the next. Every 1m window's result is
 * watched for (window end → first result), every firing for (window end → firing, Prometheus'
 * activeAt). p50 and p99 over the run; with a handful of samples p99 is their maximum. The table
 * also counts the windows whose drift verdict was not the one intended (a KS test at p < 0.05
 * marks about one unshifted window in twenty).
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { PACKAGE_ROOT } from "../../src/config.js";
import {
  draws,
  IRIS_FEATURES,
  irisRequest,
  irisRow,
  MINUTE,
  productCli,
  STORY_SHIFT_SD,
} from "../demo/drift-story.js";
import { send } from "../demo/traffic.js";
import { loadStackConfig } from "../stack/settings.js";
import { stackUp } from "../stack/stack.js";
import { envInt, percentile, sleep, writeResults } from "./common.js";

const config = loadStackConfig();
const WINDOWS = envInt("BENCH_LAG_WINDOWS", 8, 30);
const RATE = 8;
const MODEL = "iris";
const FEATURE = "feature.petal_length";
const TRAINING_ROWS = 1000;

const cli = (argv: string[]) => productCli(config, argv);

/** One minute of iris traffic from second 2 to second 56 of the minute starting at `start`. */
/** The training file: the same generator, unshifted, one column per feature. */
function writeTrainingFile(file: string, seed: number): void {
  const { normal } = draws(seed);
  const lines = [IRIS_FEATURES.map((f) => f.name).join(",")];
  for (let i = 0; i < TRAINING_ROWS; i++) lines.push(irisRow(normal, 0).join(","));
  fs.writeFileSync(file, `${lines.join("\n")}\n`);
}

async function minuteOfTraffic(start: number, shiftSd: number, seed: number): Promise<number> {
  const { normal } = draws(seed);
  const url = `http://127.0.0.1:${config.ports.envoy}/v2/models/iris/infer`;
  await sleep(Math.max(0, start + 2000 - Date.now()));
  const inflight: Array<Promise<unknown>> = [];
  let i = 0;
  for (; Date.now() < start + 56_000; i++) {
    inflight.push(send(url, irisRequest(irisRow(normal, shiftSd))));
    await sleep(Math.max(0, start + 2000 + ((i + 1) * 1000) / RATE - Date.now()));
  }
  await Promise.all(inflight);
  return i;
}

function startPrometheus(dir: string, port: number): ChildProcess {
  const rules = path.join(dir, "alerts.yml");
  fs.copyFileSync(path.join(PACKAGE_ROOT, "docs", "ops", "alerts.yml"), rules);
  // The shipped intervals (docs/ops/prometheus.yml: 15 s), the monitor as the only target.
  fs.writeFileSync(
    path.join(dir, "prometheus.yml"),
    [
      "global: { scrape_interval: 15s, evaluation_interval: 15s }",
      `rule_files: [${JSON.stringify(rules)}]`,
      "scrape_configs:",
      "  - job_name: modeltap-monitor",
      `    static_configs: [{ targets: ["127.0.0.1:${config.ports.monitorMetrics}"] }]`,
      "",
    ].join("\n"),
  );
  return spawn(
    "prometheus",
    [
      `--config.file=${path.join(dir, "prometheus.yml")}`,
      `--storage.tsdb.path=${path.join(dir, "data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: "ignore" },
  );
}

interface Firing {
  activeAt: number;
}

async function firing(port: number): Promise<Firing[]> {
  const res = await fetch(`http://127.0.0.1:${port}/api/v1/alerts`).catch(() => undefined);
  if (!res?.ok) return [];
  const body = (await res.json()) as {
    data: { alerts: Array<{ labels: Record<string, string>; state: string; activeAt: string }> };
  };
  return body.data.alerts
    .filter(
      (a) =>
        a.state === "firing" &&
        a.labels.alertname === "ModeltapFeatureDrift" &&
        a.labels.model === MODEL &&
        a.labels.window === "1m" &&
        a.labels.feature === FEATURE,
    )
    .map((a) => ({ activeAt: Date.parse(a.activeAt) }));
}

async function main(): Promise<void> {
  await stackUp(config, { progress: (l) => console.error(`[stack] ${l}`) });
  const db = new pg.Pool({ connectionString: config.databaseUrl, max: 2 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "modeltap-lag-"));
  const promPort = 19090;
  const prometheus = startPrometheus(dir, promPort);
  const previous = (
    await db.query<{ id: string }>("SELECT id FROM baselines WHERE model = $1 AND active", [MODEL])
  ).rows[0]?.id;
  try {
    const training = path.join(dir, "iris-training.csv");
    writeTrainingFile(training, 7);
    const id = `bench-lag-${new Date().toISOString().replace(/[-:]/g, "").slice(0, 13)}`;
    const code = await cli([
      "baseline",
      "create",
      "--model",
      MODEL,
      "--file",
      training,
      "--id",
      id,
      "--activate",
    ]);
    if (code !== 0) throw new Error(`baseline create exited ${code}`);
    // Window i (1..WINDOWS) is the minute starting at minute(i); odd ones are shifted.
    const t0 = Math.ceil((Date.now() + 3000) / MINUTE) * MINUTE - MINUTE;
    const minute = (i: number) => t0 + i * MINUTE;
    const shifted = (i: number) => i % 2 === 1;
    console.log(`monitor lag: ${WINDOWS} windows from ${new Date(minute(1)).toISOString()}`);
    const traffic = (async () => {
      for (let i = 1; i <= WINDOWS; i++) {
        const sent = await minuteOfTraffic(minute(i), shifted(i) ? STORY_SHIFT_SD : 0, 100 + i);
        console.log(`  minute ${i} (${shifted(i) ? "shifted" : "normal"}): ${sent} requests`);
      }
    })();
    // Watch every window's first result and every firing, until the last window is judged.
    const resultLag: number[] = [];
    const alertLag: number[] = [];
    const seenResult = new Set<number>();
    const seenFiring = new Set<number>();
    const deadline = minute(WINDOWS + 1) + 120_000;
    while (Date.now() < deadline && seenResult.size < WINDOWS) {
      const rows = await db.query<{ window_end: Date }>(
        "SELECT window_end FROM monitor_results WHERE model = $1 AND window_name = '1m' AND window_end > $2 AND window_end <= $3",
        [MODEL, new Date(minute(1)), new Date(minute(WINDOWS + 1))],
      );
      for (const r of rows.rows) {
        const end = r.window_end.getTime();
        if (seenResult.has(end)) continue;
        seenResult.add(end);
        resultLag.push((Date.now() - end) / 1000);
      }
      for (const f of await firing(promPort)) {
        if (seenFiring.has(f.activeAt)) continue;
        seenFiring.add(f.activeAt);
        // The shifted window that closed last before it fired.
        const end = Math.floor(f.activeAt / MINUTE) * MINUTE;
        if (end > minute(1)) alertLag.push((f.activeAt - end) / 1000);
      }
      await sleep(250);
    }
    await traffic;
    await sleep(20_000);
    for (const f of await firing(promPort)) {
      if (seenFiring.has(f.activeAt)) continue;
      seenFiring.add(f.activeAt);
      alertLag.push((f.activeAt - Math.floor(f.activeAt / MINUTE) * MINUTE) / 1000);
    }
    // Each window's verdict on the shifted feature, from its latest stored result.
    const verdicts = await db.query<{ window_end: Date; drifted: boolean | null; score: number | null }>(
      `SELECT window_end, (f->>'drifted')::boolean AS drifted, (f->>'score')::float8 AS score
         FROM monitor_results, jsonb_array_elements(result->'drift'->'fields') AS f
        WHERE model = $1 AND window_name = '1m' AND window_end > $2 AND window_end <= $3 AND f->>'field' = $4
        ORDER BY window_end`,
      [MODEL, new Date(minute(1)), new Date(minute(WINDOWS + 1)), FEATURE],
    );
    const wrong = verdicts.rows.filter((v) => {
      const i = Math.round((v.window_end.getTime() - t0) / MINUTE) - 1;
      return v.drifted !== shifted(i);
    });
    const stats = (xs: number[]) => {
      const s = [...xs].sort((a, b) => a - b);
      return {
        n: s.length,
        p50: s.length ? percentile(s, 50) : NaN,
        p99: s.length ? percentile(s, 99) : NaN,
      };
    };
    const result = stats(resultLag);
    const alert = stats(alertLag);
    const f = (x: number) => (Number.isFinite(x) ? `${x.toFixed(1)} s` : "-");
    const lines = [
      "# Monitor detection lag",
      "",
      `1m windows on iris at ${RATE} requests/s, ${WINDOWS} windows (every other one shifted, starting with the first), grace ${config.monitor.graceMs / 1000} s, monitor interval ${config.monitor.intervalMs / 1000} s, Prometheus scrape and evaluation 15 s (the shipped ones). With this few samples p99 is the maximum.`,
      "",
      "| from a window's end to | samples | p50 | p99 |",
      "|---|---|---|---|",
      `| its result stored | ${result.n} | ${f(result.p50)} | ${f(result.p99)} |`,
      `| ModeltapFeatureDrift firing (shifted windows) | ${alert.n} | ${f(alert.p50)} | ${f(alert.p99)} |`,
      "",
      `Windows judged: ${verdicts.rows.length} of ${WINDOWS}; judged otherwise than intended: ${wrong.length}` +
        (wrong.length
          ? ` (${wrong.map((v) => `${v.window_end.toISOString().slice(11, 16)} ${v.drifted ? "drifted" : "not drifted"}, KS p ${v.score?.toFixed(3) ?? "-"}`).join("; ")})`
          : "") +
        `. Baseline: ${TRAINING_ROWS} training rows.`,
    ];
    console.log(lines.join("\n"));
    writeResults(
      "monitor-lag",
      { windows: WINDOWS, resultLag, alertLag, result, alert, verdicts: verdicts.rows, wrong: wrong.length },
      lines,
    );
  } finally {
    prometheus.kill("SIGTERM");
    if (previous) await cli(["baseline", "activate", previous]).catch(() => undefined);
    await db.end();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
