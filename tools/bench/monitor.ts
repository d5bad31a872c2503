/**
 * The monitoring engine's cost (docs/monitoring.md "How it runs"), in one run:
 *  1. worker CPU per 1,000 captures to build partial profiles (partialProfiles + the JSON the insert
 *     sends), on stored capture rows made by the real path (collector analysis → planPersist), in
 *     batches of 100, with and without an active baseline's bin plan;
 *  2. monitor CPU: folding a minute's partials into a bucket, evaluating the 1m, 5m, 1h and 1d
 *     windows against a baseline, and rolling an hour up, at 1, 10 and 100 captures/s per model;
 *  3. storage per model per day, from rows inserted into the real monitor tables of the local
 *     stack's Postgres (a throwaway model name, deleted after).
 * CPU is process.cpuUsage (user + system) of this process, repeated in rounds in a shuffled order:
 * the median and the spread (max − min over median) are reported, and one cell measured twice gives
 * the noise floor. Sizes: BENCH_MONITOR_ROUNDS (default 5), BENCH_MONITOR_CELL_MS (default 250, CPU
 * ms per cell and round in part 1), BENCH_MONITOR_SAMPLE_ROWS (default 60, rows per table and cell
 * in part 3).
 */
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import pg from "pg";
import type { Prediction } from "../../src/core/canonical.js";
import {
  binPlanOf,
  buildBaseline,
  ValueCollector,
  type Baseline,
} from "../../src/core/monitoring/baseline.js";
import { DEFAULT_REFUSAL_PATTERNS, observeCapture } from "../../src/core/monitoring/fields.js";
import { partialProfiles } from "../../src/core/monitoring/partials.js";
import { Profile, type BinPlan, type ProfileJson } from "../../src/core/monitoring/profile.js";
import {
  addLabeled,
  emptyQuality,
  mergeQualities,
  type QualityAggregate,
} from "../../src/core/monitoring/quality-aggregate.js";
import { windowResult, type WindowResult } from "../../src/core/monitoring/window-result.js";
import type { CaptureRow } from "../../src/core/ports.js";
import { emptyBody, type CaptureRecord } from "../../src/core/record.js";
import { compileRouteConfig } from "../../src/core/route-config.js";
import { planPersist } from "../../src/core/storage/persist-plan.js";
import { mergeProfiles } from "../../src/monitor/engine.js";
import { PluginRegistry } from "../../src/plugins/registry.js";
import { newRecord } from "../../test/support/records.js";
import { DEMO_MODELS } from "../demo/models.js";
import { chatBody, nerBody, pngImage } from "../demo/payloads.js";
import { loadStackConfig } from "../stack/settings.js";
import { draws } from "../demo/drift-story.js";
import { BENCHMARKS_DOC } from "./docs-table.js";
import { analyzeAsCollector, envInt, writeResults } from "./common.js";

const ROUNDS = envInt("BENCH_MONITOR_ROUNDS", 5, 50);
const CELL_MS = envInt("BENCH_MONITOR_CELL_MS", 250, 10_000);
const SAMPLE_ROWS = envInt("BENCH_MONITOR_SAMPLE_ROWS", 60, 1440);
/** CPU ms per measurement of a monitor step (part 2). */
const STEP_MS = 30;
/** The worker's default batch (MODELTAP_WORKER_BATCH). */
const BATCH = 100;
/** Captures per second per model of part 2 and 3. */
const RATES = [1, 10, 100] as const;
/** Share of captures that get a label (quality rows). */
const LABELED = 0.1;
const OPTS = { refusalPatterns: DEFAULT_REFUSAL_PATTERNS.map((p) => new RegExp(p, "i")) };
const MINUTE_MS = 60_000;
/** 2026-05-01 12:00 UTC: every generated capture falls in this minute (600 of them at 10/s). */
const MINUTE0 = Date.UTC(2026, 4, 1, 12);

type Kind = "tabular" | "detection" | "llm" | "ner";

// ---------------------------------------------------------------- captures, by the real path

const ROUTES: Record<Kind, Record<string, unknown>> = {
  tabular: { task: "tabular_classification", protocol: "kserve_v1" },
  detection: {
    task: "object_detection",
    protocol: "torchserve",
    converter: "voc",
    scaler: "letterbox",
    input_size: "640x640",
  },
  llm: { task: "text_generation", protocol: "openai_chat" },
  ner: { task: "ner", protocol: "hf_pipeline", converter: "hf_ner" },
};

const SEGMENTS = ["retail", "business", "student"];
const CLASSES = ["car", "person", "bicycle", "dog", "truck"];
const IMAGE = pngImage(1280, 720);

function json(v: unknown): Buffer {
  return Buffer.from(JSON.stringify(v));
}

function demoReply(path: string, body: Buffer): { contentType: string; body: Buffer } {
  const handler = DEMO_MODELS.find(([re]) => re.test(path))?.[1];
  if (!handler) throw new Error(`no demo model for ${path}`);
  const reply = handler(body, { "content-type": "application/json" });
  return { contentType: reply.contentType, body: reply.chunks ? Buffer.concat(reply.chunks) : reply.body };
}

/** One exchange of this kind: request and response bodies as they cross the wire. */
function exchange(kind: Kind, i: number, r: ReturnType<typeof draws>) {
  switch (kind) {
    case "tabular": {
      const row = {
        x1: r.normal(),
        x2: r.normal(),
        x3: r.normal(),
        x4: r.normal(),
        x5: r.normal(),
        segment: SEGMENTS[Math.floor(r.uniform() * SEGMENTS.length)]!,
      };
      const p = 1 / (1 + Math.exp(-(row.x1 + row.x2 / 2)));
      const prediction = { label: p > 0.5 ? "approve" : "deny", score: Math.max(p, 1 - p) };
      return {
        request: ["application/json", json({ instances: [row] })],
        response: ["application/json", json({ predictions: [prediction] })],
      } as const;
    }
    case "detection": {
      const boxes = Array.from({ length: 10 }, () => {
        const x = r.uniform() * 560;
        const y = 100 + r.uniform() * 380;
        const w = 20 + r.uniform() * 60;
        const h = 20 + r.uniform() * 60;
        return {
          label: CLASSES[Math.floor(r.uniform() * CLASSES.length)]!,
          score: +(0.3 + r.uniform() * 0.69).toFixed(3),
          box: [x, y, x + w, y + h].map((v) => +v.toFixed(2)),
        };
      });
      return { request: ["image/png", IMAGE], response: ["application/json", json(boxes)] } as const;
    }
    case "llm": {
      const body = Buffer.from(chatBody(i, false));
      const reply = demoReply("/v1/chat/completions", body);
      return { request: ["application/json", body], response: [reply.contentType, reply.body] } as const;
    }
    case "ner": {
      const body = Buffer.from(nerBody(i));
      const reply = demoReply("/models/ner", body);
      return { request: ["application/json", body], response: [reply.contentType, reply.body] } as const;
    }
  }
}

/** `n` stored capture rows of this kind, 10 per second within MINUTE0's minute (cycling every 600). */
function captureRows(kind: Kind, n: number, seed: number): CaptureRow[] {
  const plugins = new PluginRegistry();
  const cfg = compileRouteConfig(plugins, { ...ROUTES[kind], model: `bench-${kind}` });
  if (!cfg?.ok) throw new Error(cfg ? cfg.problems.join("; ") : "no config");
  const r = draws(seed);
  const rows: CaptureRow[] = [];
  for (let i = 0; i < n; i++) {
    const x = exchange(kind, i, r);
    const body = (contentType: string, data: Buffer) => ({
      ...emptyBody(),
      contentType,
      data,
      sizeBytes: data.length,
      wireSizeBytes: data.length,
    });
    const durationUs = Math.round(5_000 + r.uniform() * 45_000);
    const record: CaptureRecord = newRecord({
      id: randomUUID(),
      model: `bench-${kind}`,
      task: cfg.config.task,
      route: "bench",
      cluster: "bench",
      path: "/bench",
      startedAtUs: (MINUTE0 + (i % 600) * 100) * 1000,
      ttfbUs: Math.round(durationUs * 0.8),
      durationUs,
      request: body(x.request[0], x.request[1]),
      response: body(x.response[0], x.response[1]),
    });
    analyzeAsCollector(plugins, cfg.config, record);
    if (record.parseError) throw new Error(`${kind}: ${record.parseError}`);
    rows.push(planPersist(record, (k) => `s3://bench/${k}`, { rowInlineMaxBytes: 8192 }).row);
  }
  checkShape(kind, rows[0]!);
  return rows;
}

/** The rows are what the bench says they are (6 features and a scored class; 10 boxes; ...). */
function checkShape(kind: Kind, row: CaptureRow): void {
  const instance = row.analysis?.instances[0];
  const p = instance?.prediction;
  const ok =
    kind === "tabular"
      ? Object.keys(instance?.input.features ?? {}).length === 6 &&
        p?.kind === "classification" &&
        p.score !== null
      : kind === "detection"
        ? p?.kind === "detection" && p.boxes.length === 10 && instance?.input.image !== undefined
        : kind === "llm"
          ? p?.kind === "generation"
          : p?.kind === "entities" && p.entities.length > 0;
  if (!ok)
    throw new Error(`${kind}: the stored row is not the expected shape: ${JSON.stringify(row.analysis)}`);
}

/** A baseline of this kind's traffic, as `baseline create --from --to` builds one. */
function baselineOf(kind: Kind, rows: readonly CaptureRow[]): Baseline {
  const collected = new ValueCollector();
  for (const row of rows) {
    collected.captures += 1;
    collected.instances += row.analysis?.instances.length ?? 0;
    observeCapture(row, collected, OPTS);
  }
  return buildBaseline(collected, {
    id: `bench-${kind}-baseline`,
    model: `bench-${kind}`,
    version: null,
    createdAt: new Date(MINUTE0),
    source: {
      kind: "window",
      from: new Date(MINUTE0).toISOString(),
      to: new Date(MINUTE0 + MINUTE_MS).toISOString(),
    },
  });
}

/** A label for a prediction: the same for 80% of labels, otherwise a different class. */
function labelFor(p: Prediction, r: ReturnType<typeof draws>): Prediction {
  const agree = r.uniform() < 0.8;
  if (p.kind === "classification")
    return { ...p, label: agree ? p.label : p.label === "deny" ? "approve" : "deny" };
  if (p.kind === "detection")
    return {
      kind: "detection",
      boxes: p.boxes.map((b) => ({ ...b, label: agree ? b.label : CLASSES[0]!, score: null })),
    };
  return p;
}

/** A minute's quality aggregate: LABELED of its `captures` labeled (at least one). */
function minuteQuality(rows: readonly CaptureRow[], captures: number, seed: number): QualityAggregate {
  const r = draws(seed);
  const q = emptyQuality();
  const n = Math.max(1, Math.round(captures * LABELED));
  for (let i = 0; i < n; i++) {
    const p = rows[i % rows.length]!.analysis?.instances[0]?.prediction;
    if (p) addLabeled(q, p, labelFor(p, r));
  }
  return q;
}

// ---------------------------------------------------------------- CPU measurement

function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** CPU µs per call of fn, calling it until `minMs` of CPU has passed (at least `minCalls` times). */
function cpuPerCall(fn: () => void, minMs: number, minCalls = 1): number {
  let calls = 0;
  const start = cpuUs();
  let used = 0;
  while (calls < minCalls || used < minMs * 1000) {
    fn();
    calls += 1;
    used = cpuUs() - start;
  }
  return used / calls;
}

interface Stat {
  median: number;
  min: number;
  max: number;
  /** (max − min) / median. */
  spread: number;
  samples: number[];
}

function stat(samples: number[]): Stat {
  const s = [...samples].sort((a, b) => a - b);
  const median = s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return { median, min: s[0]!, max: s.at(-1)!, spread: (s.at(-1)! - s[0]!) / median, samples };
}

function shuffle<T>(items: T[], r: ReturnType<typeof draws>): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(r.uniform() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

interface Task {
  name: string;
  run: () => number;
  /** A slow task (seconds per run): measured in at most HEAVY_ROUNDS rounds, with no warm-up run. */
  heavy?: boolean;
}

/** Rounds of a slow task: each run is long enough to be its own warm-up and average. */
const HEAVY_ROUNDS = 3;

/** Each named task measured once per round, the order shuffled every round. */
function rounds(tasks: readonly Task[], seed: number): Map<string, Stat> {
  const r = draws(seed);
  const samples = new Map<string, number[]>(tasks.map((t) => [t.name, []]));
  for (const t of tasks) if (!t.heavy) t.run(); // warm-up (JIT)
  for (let round = 0; round < ROUNDS; round++) {
    for (const t of shuffle([...tasks], r)) {
      if (t.heavy && round >= HEAVY_ROUNDS) continue;
      samples.get(t.name)!.push(t.run());
    }
  }
  return new Map([...samples].map(([name, s]) => [name, stat(s)]));
}

// ---------------------------------------------------------------- 1. worker side

interface WorkerCell {
  name: string;
  kind: Kind;
  plan: boolean;
  usPer1000: Stat;
  ratio: number;
}

/** What the worker does per batch: the partials, and the JSON its insert sends (insertPartials). */
function workerBatch(batch: readonly CaptureRow[], plan: BinPlan | null): number {
  const { partials } = partialProfiles(batch, () => plan, OPTS);
  return JSON.stringify(partials.map((p) => ({ ...p, minute: p.minute.toISOString() }))).length;
}

function workerSide(rowsOf: Map<Kind, CaptureRow[]>, plans: Map<Kind, BinPlan>): WorkerCell[] {
  const cells: Array<{ name: string; kind: Kind; plan: boolean }> = [];
  for (const kind of rowsOf.keys()) {
    cells.push({ name: `${kind}, no baseline`, kind, plan: false });
    cells.push({ name: `${kind}, baseline's bins`, kind, plan: true });
  }
  const BASE = "tabular, no baseline";
  cells.push({ name: `${BASE} (again)`, kind: "tabular", plan: false });
  const tasks = cells.map((c) => {
    const rows = rowsOf.get(c.kind)!.slice(0, 1000);
    const batches = Array.from({ length: rows.length / BATCH }, (_, i) =>
      rows.slice(i * BATCH, (i + 1) * BATCH),
    );
    const plan = c.plan ? plans.get(c.kind)! : null;
    // One call: 1,000 captures in batches of 100.
    return {
      name: c.name,
      run: () =>
        cpuPerCall(() => {
          for (const b of batches) workerBatch(b, plan);
        }, CELL_MS),
    };
  });
  const stats = rounds(tasks, 1);
  const base = stats.get(BASE)!.median;
  return cells.map((c) => {
    const s = stats.get(c.name)!;
    console.log(`  ${c.name}: ${Math.round(s.median)} µs CPU per 1,000 captures (spread ${pct(s.spread)})`);
    return { ...c, usPer1000: s, ratio: s.median / base };
  });
}

// ---------------------------------------------------------------- 2. monitor side

const WINDOWS = [
  { name: "1m", minutes: 1, perDay: 1440 },
  { name: "5m", minutes: 5, perDay: 288 },
  { name: "1h", minutes: 60, perDay: 24 },
  { name: "1d", minutes: 1440, perDay: 1 },
] as const;

/** What the monitor reads and writes for one model at one rate, as the JSON Postgres holds. */
interface Stored {
  kind: Kind;
  rate: number;
  /** One closed minute's partials (one worker batch per second, `rate` captures each). */
  partials: string[];
  /** Distinct minute buckets (reused in turn for a window's minutes). */
  minutes: string[];
  hour: string;
  quality: string[];
  results: Record<string, WindowResult>;
}

function storedFor(kind: Kind, rate: number, rows: readonly CaptureRow[], plan: BinPlan): Stored {
  const partialsAt = (offset: number) =>
    Array.from({ length: 60 }, (_, s) => {
      const batch = Array.from({ length: rate }, (_, j) => rows[(offset + s * rate + j) % rows.length]!);
      const { partials } = partialProfiles(batch, () => plan, OPTS);
      if (partials.length !== 1) throw new Error(`expected one partial, got ${partials.length}`);
      return JSON.stringify(partials[0]!.profile);
    });
  const partials = partialsAt(0);
  const minutes = [0, 1, 2].map((d) => JSON.stringify(mergeProfiles(null, partialsAt(d * 997).map(parse))));
  const hour = JSON.stringify(
    mergeProfiles(
      null,
      Array.from({ length: 60 }, (_, i) => parse(minutes[i % 3]!)),
    ),
  );
  const quality = [0, 1, 2].map((d) => JSON.stringify(minuteQuality(rows, 60 * rate, 100 + d)));
  return { kind, rate, partials, minutes, hour, quality, results: {} };
}

function parse(text: string): ProfileJson {
  return JSON.parse(text) as ProfileJson;
}

/**
 * The fold of one closed minute (foldPartials): its partials parsed and merged into a new minute
 * bucket and into the hour bucket (read back and written again), as one transaction does.
 */
function fold(s: Stored): number {
  const partials = s.partials.map(parse);
  const minute = JSON.stringify(mergeProfiles(null, partials));
  const hour = JSON.stringify(mergeProfiles(parse(s.hour), partials));
  return minute.length + hour.length;
}

/**
 * One window evaluation (MonitorEngine.evaluate): buckets and quality merged, drift, the result's
 * JSON; the result is kept on `s` for the storage part.
 */
function evaluate(s: Stored, window: (typeof WINDOWS)[number], baseline: Baseline): number {
  const minutes = window.minutes;
  // A window of whole hours merges hour buckets (MonitorStore.windowBuckets), others minute buckets.
  const buckets =
    minutes % 60 === 0
      ? Array.from({ length: minutes / 60 }, () => s.hour)
      : Array.from({ length: minutes }, (_, i) => s.minutes[i % 3]!);
  const profile = Profile.mergeAll(buckets.map((b) => Profile.fromJSON(parse(b))));
  const quality = mergeQualities(
    Array.from({ length: minutes }, (_, i) => JSON.parse(s.quality[i % 3]!) as QualityAggregate),
  );
  const end = new Date(MINUTE0 + MINUTE_MS);
  const result = windowResult({
    window: window.name,
    from: new Date(end.getTime() - minutes * MINUTE_MS),
    to: end,
    profile,
    baseline,
    quality,
  });
  s.results[window.name] = result;
  return JSON.stringify(result).length;
}

interface MonitorCell {
  kind: Kind;
  rate: number;
  /** CPU µs: fold of a minute (into its minute and hour buckets), one evaluation per window. */
  foldUs: Stat;
  windowUs: Record<string, Stat>;
  /** CPU seconds per day: folds + evaluations (a rollup is a delete). */
  cpuSecondsPerDay: number;
  usPer1000: number;
  /** Share of one core. */
  core: number;
}

function monitorSide(stored: readonly Stored[], baselines: Map<Kind, Baseline>): MonitorCell[] {
  const tasks: Task[] = [];
  for (const s of stored) {
    const id = `${s.kind}@${s.rate}`;
    const b = baselines.get(s.kind)!;
    // Each step is repeated for STEP_MS of CPU.
    tasks.push({ name: `${id} fold`, run: () => cpuPerCall(() => fold(s), STEP_MS) });
    for (const w of WINDOWS) {
      const heavy = false;
      tasks.push({
        name: `${id} ${w.name}`,
        run: () => cpuPerCall(() => evaluate(s, w, b), heavy ? 0 : STEP_MS),
        heavy,
      });
    }
  }
  const stats = rounds(tasks, 2);
  return stored.map((s) => {
    const id = `${s.kind}@${s.rate}`;
    const foldUs = stats.get(`${id} fold`)!;
    const windowUs = Object.fromEntries(WINDOWS.map((w) => [w.name, stats.get(`${id} ${w.name}`)!]));
    const us = 1440 * foldUs.median + WINDOWS.reduce((a, w) => a + w.perDay * windowUs[w.name]!.median, 0);
    const cell = {
      kind: s.kind,
      rate: s.rate,
      foldUs,
      windowUs,
      cpuSecondsPerDay: us / 1e6,
      usPer1000: (us / (86_400 * s.rate)) * 1000,
      core: us / 1e6 / 86_400,
    };
    console.log(
      `  ${s.kind} at ${s.rate}/s: fold ${ms(foldUs.median)}/min, 1d window ${ms(windowUs["1d"]!.median)}, ` +
        `${Math.round(cell.usPer1000)} µs CPU per 1,000 captures`,
    );
    return cell;
  });
}

// ---------------------------------------------------------------- 3. storage

interface StorageCell {
  kind: Kind;
  rate: number;
  /** Mean stored row size (pg_column_size of the row, after TOAST compression), bytes. */
  rowBytes: Record<string, number>;
  /** pg_total_relation_size growth per row of a fresh copy of the table (heap, TOAST, indexes), bytes. */
  growthBytes: Record<string, number>;
  /** Bytes per model per day while minutes are kept (first 48 h), and after their rollup: rows, disk. */
  firstDays: { rows: number; disk: number };
  afterRollup: { rows: number; disk: number };
}

const TABLES = ["monitor_buckets", "monitor_results", "monitor_quality"] as const;

/** The fresh copy of a monitor table (same columns, indexes and storage) that measures its growth. */
const copyOf = (table: string) => `bench_${table}`;

async function totalSize(db: pg.Client, table: string): Promise<number> {
  const res = await db.query<{ size: string }>("SELECT pg_total_relation_size($1::regclass) AS size", [
    table,
  ]);
  return Number(res.rows[0]!.size);
}

/**
 * Insert the sample rows of one (kind, rate) under `model`, as the monitor writes them; the mean
 * row size, and the growth per row of a fresh copy of the table the same rows are copied into. (The
 * real table's own growth says little: its free space from deleted rows, other runs' and the
 * stack's, takes new rows without growing it.)
 */
async function insertSample(
  db: pg.Client,
  model: string,
  s: Stored,
  table: string,
  group: string,
): Promise<{ row: number; growth: number }> {
  const n = group === "hour" ? 24 : SAMPLE_ROWS;
  const at = Array.from(
    { length: n },
    (_, i) => new Date(MINUTE0 + i * (group === "hour" ? 60 : 1) * MINUTE_MS),
  );
  if (table === "monitor_buckets") {
    await db.query(
      `INSERT INTO monitor_buckets (model, version, resolution, start_at, captures, profile)
       SELECT $1, '1', $2, t, $3, p::jsonb FROM unnest($4::timestamptz[], $5::text[]) AS x(t, p)`,
      [
        model,
        group,
        s.rate * 60 * (group === "hour" ? 60 : 1),
        at,
        at.map((_, i) => (group === "hour" ? s.hour : s.minutes[i % 3]!)),
      ],
    );
  } else if (table === "monitor_quality") {
    await db.query(
      `INSERT INTO monitor_quality (model, version, minute, labeled, quality)
       SELECT $1, '1', t, $2, q::jsonb FROM unnest($3::timestamptz[], $4::text[]) AS x(t, q)`,
      [model, Math.round(s.rate * 60 * LABELED), at, at.map((_, i) => s.quality[i % 3]!)],
    );
  } else {
    const r = s.results[group]!;
    await db.query(
      `INSERT INTO monitor_results (model, version, window_name, window_end, baseline_id, captures, instances, labeled, result)
       SELECT $1, '1', $2, t, $3, $4, $5, $6, $7::jsonb FROM unnest($8::timestamptz[]) AS t`,
      [model, group, "bench-baseline", r.captures, r.instances, r.labeled, JSON.stringify(r), at],
    );
  }
  const where =
    table === "monitor_buckets" ? "resolution" : table === "monitor_results" ? "window_name" : "'quality'";
  const res = await db.query<{ bytes: string }>(
    `SELECT avg(pg_column_size(t.*)) AS bytes FROM ${table} t WHERE model = $1 AND ${where} = $2`,
    [model, group],
  );
  const before = await totalSize(db, copyOf(table));
  await db.query(`INSERT INTO ${copyOf(table)} SELECT * FROM ${table} WHERE model = $1 AND ${where} = $2`, [
    model,
    group,
  ]);
  return { row: Number(res.rows[0]!.bytes), growth: ((await totalSize(db, copyOf(table))) - before) / n };
}

const GROUPS: ReadonlyArray<{ table: (typeof TABLES)[number]; group: string; perDay: number }> = [
  { table: "monitor_buckets", group: "minute", perDay: 1440 },
  { table: "monitor_buckets", group: "hour", perDay: 24 },
  ...WINDOWS.map((w) => ({ table: "monitor_results" as const, group: w.name, perDay: w.perDay })),
  { table: "monitor_quality", group: "quality", perDay: 1440 },
];

async function storage(db: pg.Client, stored: readonly Stored[], prefix: string): Promise<StorageCell[]> {
  for (const t of TABLES) await db.query(`CREATE TEMP TABLE ${copyOf(t)} (LIKE ${t} INCLUDING ALL)`);
  const cells: StorageCell[] = [];
  for (const s of stored) {
    const model = `${prefix}-${s.kind}-${s.rate}`;
    const rowBytes: Record<string, number> = {};
    const growthBytes: Record<string, number> = {};
    for (const g of GROUPS) {
      const sample = await insertSample(db, model, s, g.table, g.group);
      rowBytes[g.group] = sample.row;
      growthBytes[g.group] = sample.growth;
    }
    const perDay = (bytes: Record<string, number>) => {
      const day = (group: string) => GROUPS.find((g) => g.group === group)!.perDay * bytes[group]!;
      // Hour buckets are kept from the first fold; after the rollup the minute buckets and the
      // results of windows shorter than an hour are deleted.
      const results = (ws: typeof WINDOWS) => ws.reduce((a, w) => a + day(w.name), 0);
      const long = WINDOWS.filter((w) => w.minutes >= 60);
      return {
        first: day("minute") + day("hour") + results(WINDOWS) + day("quality"),
        after: day("hour") + results(long as unknown as typeof WINDOWS) + day("quality"),
      };
    };
    const rows = perDay(rowBytes);
    const disk = perDay(growthBytes);
    const cell = {
      kind: s.kind,
      rate: s.rate,
      rowBytes,
      growthBytes,
      firstDays: { rows: rows.first, disk: disk.first },
      afterRollup: { rows: rows.after, disk: disk.after },
    };
    console.log(
      `  ${s.kind} at ${s.rate}/s: ${mb(rows.first)}/day at minute resolution, ${mb(rows.after)}/day after rollup`,
    );
    cells.push(cell);
  }
  return cells;
}

// ---------------------------------------------------------------- report

const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
const ms = (us: number) => (us >= 1000 ? `${(us / 1000).toFixed(1)} ms` : `${us.toFixed(0)} µs`);
const mb = (bytes: number) =>
  bytes >= 1e6
    ? `${(bytes / 1e6).toFixed(1)} MB`
    : bytes >= 1e4
      ? `${(bytes / 1e3).toFixed(0)} kB`
      : `${(bytes / 1e3).toFixed(1)} kB`;

/** The worker's persist cost per tabular capture, from bench:worker's table (µs of wall time). */
function persistUs(): number | null {
  const text = fs.readFileSync(BENCHMARKS_DOC, "utf8");
  const m = /\| tabular \(KServe V2, 1 row\), records\/s \| (\d+) /.exec(text);
  return m ? 1e6 / Number(m[1]) : null;
}

function report(
  worker: WorkerCell[],
  monitor: MonitorCell[],
  store: StorageCell[],
  persist: number | null,
): string[] {
  const again = worker.find((c) => c.name.endsWith("(again)"))!;
  const floor = Math.abs(again.ratio - 1);
  const lines = [
    `Monitoring cost (${ROUNDS} rounds, shuffled; CPU = process.cpuUsage of one process, median and spread)`,
    "",
    "Worker: partial profiles per 1,000 captures (batches of 100)",
    "",
    "| captures | CPU ms per 1,000 | spread | vs tabular, no baseline | profiles / tabular persist |",
    "|---|---|---|---|---|",
    ...worker.map(
      (c) =>
        `| ${c.name} | ${(c.usPer1000.median / 1000).toFixed(1)} | ${pct(c.usPer1000.spread)} | ${c.ratio.toFixed(2)}× | ${
          persist ? pct(c.usPer1000.median / 1000 / persist) : "-"
        } |`,
    ),
    "",
    `- noise floor: the same cell measured twice differs by ${pct(floor)}; ratios within it are no difference.`,
    persist
      ? `- persist: ${persist.toFixed(0)} µs per tabular capture, the worker's wall time per record at bench:worker's throughput (its table above).`
      : "- persist: no bench:worker figure in docs/benchmarks.md to compare with.",
    "",
    "Monitor: CPU per step, and per 1,000 captures over a day (a fold every minute into its minute and hour buckets, every window; windows of whole hours merge hour buckets; a rollup only deletes minutes)",
    "",
    "| model | captures/s | fold a minute | 1m window | 5m | 1h (1 hour bucket) | 1d (24 hour buckets) | CPU per 1,000 captures | share of a core |",
    "|---|---|---|---|---|---|---|---|---|",
    ...monitor.map(
      (c) =>
        `| ${c.kind} | ${c.rate} | ${ms(c.foldUs.median)} | ${WINDOWS.map((w) => ms(c.windowUs[w.name]!.median)).join(" | ")} | ${(c.usPer1000 / 1000).toFixed(1)} ms | ${(c.core * 100).toFixed(2)}% |`,
    ),
    "",
    `Storage per model per day (Postgres, row sizes after TOAST compression; ${SAMPLE_ROWS} rows of each kind inserted, scaled to a day)`,
    "",
    "| model | captures/s | minute bucket | hour bucket | results (1m / 5m / 1h / 1d) | quality row | per day, first 48 h (rows / on disk) | per day after rollup (rows / on disk) |",
    "|---|---|---|---|---|---|---|---|",
    ...store.map(
      (c) =>
        `| ${c.kind} | ${c.rate} | ${mb(c.rowBytes.minute!)} | ${mb(c.rowBytes.hour!)} | ${WINDOWS.map((w) =>
          mb(c.rowBytes[w.name]!),
        ).join(
          " / ",
        )} | ${mb(c.rowBytes.quality!)} | ${mb(c.firstDays.rows)} / ${mb(c.firstDays.disk)} | ${mb(
          c.afterRollup.rows,
        )} / ${mb(c.afterRollup.disk)} |`,
    ),
  ];
  return lines;
}

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;

async function main(): Promise<void> {
  const kinds: Kind[] = ["tabular", "detection", "llm", "ner"];
  console.log("building stored capture rows (collector analysis → worker row) and baselines");
  const rowsOf = new Map<Kind, CaptureRow[]>();
  const baselines = new Map<Kind, Baseline>();
  const plans = new Map<Kind, BinPlan>();
  for (const [i, kind] of kinds.entries()) {
    const rows = captureRows(kind, kind === "tabular" || kind === "detection" ? 6000 : 1000, 10 + i);
    rowsOf.set(kind, rows);
    const baseline = baselineOf(kind, captureRows(kind, 2000, 50 + i));
    baselines.set(kind, baseline);
    plans.set(kind, binPlanOf(baseline));
  }

  console.log(`1. worker: partial profiles, ${ROUNDS} rounds of ${CELL_MS} ms CPU per cell (${elapsed()})`);
  const worker = workerSide(rowsOf, plans);

  console.log(`2. monitor: fold, windows, rollup (${elapsed()})`);
  const stored: Stored[] = [];
  for (const kind of ["tabular", "detection"] as const)
    for (const rate of RATES) stored.push(storedFor(kind, rate, rowsOf.get(kind)!, plans.get(kind)!));
  const monitor = monitorSide(stored, baselines);

  console.log(`3. storage on the local stack's Postgres (${elapsed()})`);
  const config = loadStackConfig();
  const db = new pg.Client({ connectionString: config.databaseUrl });
  await db.connect();
  const prefix = `bench-monitor-${Date.now().toString(36)}`;
  let store: StorageCell[];
  try {
    store = await storage(db, stored, prefix);
  } finally {
    for (const t of TABLES) await db.query(`DELETE FROM ${t} WHERE model LIKE $1`, [`${prefix}-%`]);
    await db.end(); // the temporary copies go with the session
  }
  const persist = persistUs();
  const lines = report(worker, monitor, store, persist);
  console.log(`\n${lines.join("\n")}\n\n(${elapsed()})`);
  writeResults(
    "monitor",
    {
      rounds: ROUNDS,
      cellMs: CELL_MS,
      sampleRows: SAMPLE_ROWS,
      persistUs: persist,
      worker,
      monitor,
      storage: store,
    },
    lines,
  );
}

await main();
