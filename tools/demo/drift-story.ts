/**
 * The demo's drift story, on the stack's own Envoy and iris model: one minute of standard traffic
 * becomes the baseline, one more minute of the same is the control, then petal_length shifts by
 * 1.5 standard deviations and the labels mostly disagree. The stack's monitor judges each minute
 * in its 1m windows; the story prints what `modeltap drift`, `modeltap quality` and the monitor's
 * /metrics (what ModeltapFeatureDrift fires on) say about the shifted minute.
 */
import path from "node:path";
import type pg from "pg";
import { SETTINGS } from "../../src/config.js";
import type { Program } from "../../src/cli/command.js";
import { PRODUCT_COMMANDS, VERSION } from "../../src/cli/product.js";
import { runCli } from "../../src/cli/program.js";
import type { WindowResult } from "../../src/core/monitoring/window-result.js";
import { draws } from "../../src/core/random.js";
import type { StackConfig } from "../stack/settings.js";
import { localSecrets } from "../stack/services.js";
import { send } from "./traffic.js";

type Say = (line: string) => void;

export const STORY_MODEL = "iris";
export const MINUTE = 60_000;
/** Requests per second, from second 2 to second 56 of each minute: about 430 a minute, over min_count 200. */
export const STORY_RATE = 8;
/** The shift of the drifted minute, in standard deviations of the feature. */
export const STORY_SHIFT_SD = 1.5;
export const SHIFTED_FEATURE = "petal_length";
/** The iris data set's means and standard deviations, in the route's feature order (envoy/envoy.yaml). */
export const IRIS_FEATURES = [
  { name: "sepal_length", mean: 5.843, sd: 0.828 },
  { name: "sepal_width", mean: 3.057, sd: 0.436 },
  { name: "petal_length", mean: 3.758, sd: 1.765 },
  { name: "petal_width", mean: 1.199, sd: 0.762 },
] as const;
export const IRIS_CLASSES = ["setosa", "versicolor", "virginica"] as const;

/** Seeded uniform and standard-normal draws (src/core/random.ts), so a run is reproducible; the benchmarks replay them. */
export { draws };

/** One iris row from standard-normal draws, petal_length moved by `shiftSd` of its sd; cm, 2 decimals, at least 0.1. */
export function irisRow(normal: () => number, shiftSd: number): number[] {
  return IRIS_FEATURES.map((f) => {
    const shift = f.name === SHIFTED_FEATURE ? shiftSd * f.sd : 0;
    return Math.max(0.1, +(f.mean + f.sd * normal() + shift).toFixed(2));
  });
}

export function irisRequest(row: readonly number[]): string {
  return JSON.stringify({ inputs: [{ name: "features", datatype: "FP32", shape: [1, 4], data: row }] });
}

/** The label another system sends back: the prediction when it agrees, else another class (`u` in [0, 1) picks it). */
export function groundTruthFor(prediction: string, agree: boolean, u: number): string {
  if (agree) return prediction;
  const others = IRIS_CLASSES.filter((c) => c !== prediction);
  return others[Math.min(others.length - 1, Math.floor(u * others.length))]!;
}

/** The first minute boundary at least 3 s away: the story's minutes hold only its own traffic. */
export function storyStart(now: number): number {
  return Math.ceil((now + 3000) / MINUTE) * MINUTE;
}

/** The monitor's `modeltap_monitor_feature_drifted` lines of one model's window, for input features. */
export function featureDriftedLines(metrics: string, model: string, window: string): string[] {
  return metrics
    .split("\n")
    .filter(
      (l) =>
        l.startsWith("modeltap_monitor_feature_drifted{") &&
        l.includes(`model="${model}"`) &&
        l.includes(`window="${window}"`) &&
        l.includes('feature="feature.'),
    );
}

interface Sent {
  ok: boolean;
  labeled: boolean;
}

interface MinutePlan {
  name: string;
  start: number;
  shiftSd: number;
  /** Share of the labels that equal the prediction. */
  agreement: number;
  seed: number;
}

async function trafficMinute(config: StackConfig, plan: MinutePlan, say: Say): Promise<Sent[]> {
  const url = `http://127.0.0.1:${config.ports.envoy}/v2/models/iris/infer`;
  const api = `http://127.0.0.1:${config.ports.api}/v1/ground-truth`;
  const token = localSecrets(config).apiToken;
  const { uniform, normal } = draws(plan.seed);
  const out: Sent[] = [];
  const inflight: Promise<void>[] = [];
  await sleepUntil(plan.start + 2000);
  const tick = setInterval(() => {
    const left = Math.max(0, Math.round((plan.start + MINUTE - Date.now()) / 1000));
    say(
      `  ${clock(Date.now())} ${plan.name}: ${out.length} sent, ${out.filter((s) => s.labeled).length} labeled, ${left} s of the minute left`,
    );
  }, 10_000);
  try {
    for (let i = 0; Date.now() < plan.start + 56_000; i++) {
      const row = irisRow(normal, plan.shiftSd);
      const labeled = i % 3 === 0;
      const agree = uniform() < plan.agreement;
      const pick = uniform();
      inflight.push(
        (async () => {
          const s = await send(url, irisRequest(row));
          const sent: Sent = { ok: s.status === 200, labeled: false };
          const prediction = sent.ok ? predictedLabel(s.responseBody) : undefined;
          if (labeled && prediction) {
            const res = await fetch(api, {
              method: "POST",
              headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
              body: JSON.stringify({
                request_id: s.id,
                label: { kind: "classification", label: groundTruthFor(prediction, agree, pick) },
                source: "demo",
              }),
              signal: AbortSignal.timeout(30_000),
            }).catch(() => undefined);
            await res?.arrayBuffer();
            sent.labeled = res !== undefined && res.status < 300;
          }
          out.push(sent);
        })(),
      );
      await sleepUntil(plan.start + 2000 + ((i + 1) * 1000) / STORY_RATE);
    }
    await Promise.all(inflight);
  } finally {
    clearInterval(tick);
  }
  return out;
}

function predictedLabel(body: Buffer): string | undefined {
  try {
    const reply = JSON.parse(body.toString("utf8")) as {
      outputs?: Array<{ name?: string; data?: unknown[] }>;
    };
    const label = reply.outputs?.find((o) => o.name === "label")?.data?.[0];
    return typeof label === "string" ? label : undefined;
  } catch {
    return undefined;
  }
}

function sleepUntil(t: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));
}

function clock(t: number): string {
  return new Date(t).toISOString().slice(11, 19);
}

/** Polls `fn` every second until it gives a value, saying `what` every 10 s; undefined after `ms`. */
async function waitFor<T>(
  what: string,
  ms: number,
  say: Say,
  fn: () => Promise<T | undefined>,
): Promise<T | undefined> {
  const begin = Date.now();
  let said = begin;
  while (Date.now() - begin < ms) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() - said >= 10_000) {
      said = Date.now();
      say(`  ${clock(said)} waiting for ${what} (${Math.round((said - begin) / 1000)} s)`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  return undefined;
}

/** The product's commands on the stack's settings, run in this process, as `modeltap <argv>` would. */
/** A product command run in this process on the stack's config (`modeltap <argv>`): its exit code. */
export function productCli(config: StackConfig, argv: string[]): Promise<number> {
  const program: Program<StackConfig> = {
    name: "modeltap",
    version: VERSION,
    commands: PRODUCT_COMMANDS,
    settings: SETTINGS,
    loadConfig: () => config,
  };
  return runCli(program, argv);
}

function modeltap(config: StackConfig, argv: string[]): Promise<number> {
  console.log(`\n  $ modeltap ${argv.join(" ")}`);
  return productCli(config, argv);
}

async function windowResult(
  db: pg.Pool,
  end: number,
): Promise<{ result: WindowResult; labeled: number } | undefined> {
  const r = await db.query<{ result: WindowResult; labeled: number }>(
    `SELECT result, labeled FROM monitor_results WHERE model = $1 AND window_name = '1m' AND window_end = $2
      ORDER BY revision DESC LIMIT 1`,
    [STORY_MODEL, new Date(end)],
  );
  return r.rows[0];
}

function driftedInputs(r: WindowResult): string[] {
  return (r.drift?.fields ?? [])
    .filter((f) => f.field.startsWith("feature.") && f.drifted)
    .map((f) => f.field);
}

/** Runs the story; true when the shifted minute's window marks petal_length drifted. */
export async function driftStory(config: StackConfig, db: pg.Pool, say: Say): Promise<boolean> {
  const t0 = storyStart(Date.now());
  const iso = (t: number) => new Date(t).toISOString();
  const minutes: MinutePlan[] = [
    { name: "baseline minute", start: t0, shiftSd: 0, agreement: 0.9, seed: 13 },
    { name: "control minute", start: t0 + MINUTE, shiftSd: 0, agreement: 0.9, seed: 14 },
    {
      name: `shifted minute (${SHIFTED_FEATURE} +${STORY_SHIFT_SD} sd)`,
      start: t0 + 2 * MINUTE,
      shiftSd: STORY_SHIFT_SD,
      agreement: 0.3,
      seed: 15,
    },
  ];
  say(
    `  iris through Envoy at ${STORY_RATE} req/s, a third labeled through POST /v1/ground-truth; minutes start at ${clock(t0)} UTC`,
  );
  while (t0 - Date.now() > 5_000) {
    say(
      `  ${clock(Date.now())} waiting for the next whole minute (${Math.round((t0 - Date.now()) / 1000)} s)`,
    );
    await sleepUntil(Math.min(t0, Date.now() + 10_000));
  }

  const baseline = await trafficMinute(config, minutes[0]!, say);
  // The control minute runs while the baseline is built from the first and activated.
  const control = trafficMinute(config, minutes[1]!, say);
  const stored = await waitFor("the baseline minute's captures in Postgres", 60_000, say, async () => {
    const r = await db.query<{ n: string }>(
      "SELECT count(*) AS n FROM captures WHERE model = $1 AND received_at >= $2 AND received_at < $3",
      [STORY_MODEL, new Date(t0), new Date(t0 + MINUTE)],
    );
    return Number(r.rows[0]!.n) >= baseline.filter((s) => s.ok).length ? true : undefined;
  });
  if (!stored) say("  !! not every capture of the baseline minute was stored within 60 s");
  const id = `demo-${new Date(t0).toISOString().replace(/[-:]/g, "").slice(0, 13)}`;
  const created = await modeltap(config, [
    "baseline",
    "create",
    "--model",
    STORY_MODEL,
    "--from",
    iso(t0),
    "--to",
    iso(t0 + MINUTE),
    "--id",
    id,
    "--activate",
  ]);
  const controlSent = await control;
  const shifted = await trafficMinute(config, minutes[2]!, say);
  const sent = [baseline, controlSent, shifted];
  const failed = sent.flat().filter((s) => !s.ok).length;
  say(
    `  sent ${sent.map((m) => m.length).join(" + ")} requests (${sent.map((m) => m.filter((s) => s.labeled).length).join(" + ")} labeled)${failed ? `, ${failed} FAILED` : ""}`,
  );

  // The monitor writes a window's result about its grace (10 s) plus one cycle after it ends.
  const end = t0 + 3 * MINUTE;
  const labeled = shifted.filter((s) => s.labeled).length;
  const result = await waitFor("the monitor's result for the shifted minute", 120_000, say, async () => {
    const r = await windowResult(db, end);
    return r && r.labeled >= labeled ? r : undefined;
  });
  const controlResult = await windowResult(db, t0 + 2 * MINUTE);
  if (controlResult) {
    const d = driftedInputs(controlResult.result);
    say(
      `  control minute ${clock(t0 + MINUTE)}: ${d.length ? `drifted: ${d.join(", ")}` : "no feature drifted"}`,
    );
  }
  if (!result) say("  !! the monitor wrote no result with every label for the shifted minute within 120 s");

  await modeltap(config, ["drift", "--model", STORY_MODEL, "--window", "1m", "--at", iso(end)]);
  await modeltap(config, ["quality", "--model", STORY_MODEL, "--window", "1m", "--at", iso(end)]);

  const url = `http://127.0.0.1:${config.ports.monitorMetrics}/metrics`;
  console.log(`\n  $ curl -s ${url} | grep feature_drifted   (iris, 1m: what ModeltapFeatureDrift fires on)`);
  const metrics = await fetch(url)
    .then((r) => r.text())
    .catch((err: Error) => `unreachable: ${err.message}`);
  const lines = featureDriftedLines(metrics, STORY_MODEL, "1m");
  for (const l of lines) say(l);
  if (lines.length === 0) say("  !! no modeltap_monitor_feature_drifted series for iris's 1m window");

  const report = PRODUCT_COMMANDS.find((c) => c.name === "report");
  if (report) {
    const out = path.join(config.home, "report.html");
    const at = report.options?.at ? ["--at", iso(end)] : [];
    const code = await modeltap(config, [
      "report",
      "--model",
      STORY_MODEL,
      "--window",
      "1m",
      ...at,
      "--out",
      out,
    ]);
    if (code === 0) say(`  the report: ${out}`);
  }

  const drifted = result ? driftedInputs(result.result) : [];
  return created === 0 && failed === 0 && drifted.includes(`feature.${SHIFTED_FEATURE}`);
}
