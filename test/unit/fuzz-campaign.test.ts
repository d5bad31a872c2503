/**
 * A seeded, bounded fuzz campaign over the collector's pure entry points: analyzeExchange, and
 * Exchange → toRecord → redactRecordFields → analyzeRecordWithImages in the order the stream owner runs them
 * (src/collector/process-stream.ts); the worker's persist plan (families 10 and 11); and the api's
 * body parsing (family 12: parseJsonBody, parseGroundTruthBody, the webhook's parseWebhook). Nothing may throw; a case malformed by construction must end
 * flagged (parse_error, decode_error or truncated), any other case flagged or understood; memory
 * stays bounded. Every failure names its family, case and seed; FUZZ_SEED=<n> replays a run.
 */
import fs from "node:fs";
import { once } from "node:events";
import v8 from "node:v8";
import vm from "node:vm";
import zlib from "node:zlib";
import { beforeAll, describe, expect, it } from "vitest";
import { analyzeExchange } from "../../src/core/analysis/analyze.js";
import { analyzeRecordWithImages } from "../../src/core/analysis/input-images.js";
import { BOX_FORMAT_NAMES } from "../../src/core/box-format.js";
import { Exchange } from "../../src/core/capture/exchange.js";
import { isJsonContentType, redactRecordFields } from "../../src/core/capture/redact-fields.js";
import type { BodyView, ChunkTime, ParseContext } from "../../src/core/plugins.js";
import { emptyRecord, type CaptureRecord } from "../../src/core/record.js";
import { planPersist } from "../../src/core/storage/persist-plan.js";
import { DEFAULT_SECRET_HEADERS, REDACTED } from "../../src/core/capture/redact-headers.js";
import type { HeaderList } from "../../src/core/record.js";
import { compileRouteConfig, type RouteConfig } from "../../src/core/route-config.js";
import { TASKS, type Task } from "../../src/core/canonical.js";
import { PluginRegistry } from "../../src/plugins/registry.js";
import { LabelStudioBackend } from "../../src/adapters/label-studio/backend.js";
import { parseJsonBody } from "../../src/api/request-input.js";
import { LabelingPayloadError } from "../../src/core/errors.js";
import { parseGroundTruthBody } from "../../src/core/ground-truth/items.js";
import { claimedJpeg, claimedPng, claimedWebp } from "../support/claimed-images.js";
import { bodyView } from "../support/parse-context.js";
import { mulberry32 } from "../support/random.js";
import { validConfig } from "../support/routes.js";

const SEED = Number(process.env.FUZZ_SEED ?? 0x6d74a9) >>> 0;
/** FUZZ_REPLAY=<case seed> runs only that case (pick its family with vitest -t). */
const REPLAY = process.env.FUZZ_REPLAY ? Number(process.env.FUZZ_REPLAY) >>> 0 : undefined;
const KiB = 1024;
const MiB = 1024 * KiB;
/** One case may not take longer than this: amplification (a tiny body, huge work) is a bug too. */
const SLOW_CASE_MS = 2000;
const T0 = 1_700_000_000_000_000;

// ---- deterministic randomness ------------------------------------------------------------------

/** murmur3's finaliser: turns (seed, family, case) into independent per-case seeds. */
function mix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const fnv1a = (s: string) => [...s].reduce((h, c) => Math.imul(h ^ c.charCodeAt(0), 0x01000193), 0x811c9dc5);

class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  float(): number {
    return this.next();
  }
  /** 0 ≤ n < below */
  int(below: number): number {
    return Math.floor(this.next() * below);
  }
  between(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  /** Log-uniform in [lo, hi] (lo ≥ 1), so tiny and huge sizes are both common. */
  size(lo: number, hi: number): number {
    const n = Math.floor(Math.exp(Math.log(lo) + this.next() * (Math.log(hi + 1) - Math.log(lo))));
    return Math.min(hi, Math.max(lo, n));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)] as T;
  }
  bytes(n: number, exclude: readonly number[] = []): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      let b = this.int(256);
      while (exclude.includes(b)) b = this.int(256);
      out[i] = b;
    }
    return out;
  }
}

// ---- the campaign runner ------------------------------------------------------------------------

type Verdict = "flagged" | "understood";

/** An entry point threw: the bug class this campaign exists to find. */
class Crash extends Error {
  override name = "Crash";
}

/** An entry point returned but broke its contract, e.g. a malformed body neither flagged nor understood. */
class Violation extends Error {
  override name = "Violation";
}

function entry<T>(name: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    const why = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    throw new Crash(`${name} threw ${why.slice(0, 300)}`, { cause: err });
  }
}

function violated(message: string): never {
  throw new Violation(message);
}

interface Tally {
  family: string;
  cases: number;
  /** Cases malformed by construction, which had to be flagged. */
  mustFlag: number;
  flagged: number;
  understood: number;
  crashes: number;
  failures: string[];
  ms: number;
  slowestMs: number;
  slowest: string;
  /** The most one case raised the process's peak RSS (MiB): a case that allocates big shows here. */
  peakRaiseMiB: number;
  peakRaiser: string;
  note: string;
}

const tallies: Tally[] = [];
let current: Tally | undefined;
/** What the last analysis said, for failure messages. */
let lastParseError = "";

function campaign(family: string, cases: number, run: (rng: Rng, i: number) => Verdict): Tally {
  const t: Tally = {
    family,
    cases: 0,
    mustFlag: 0,
    flagged: 0,
    understood: 0,
    crashes: 0,
    failures: [],
    ms: 0,
    slowestMs: 0,
    slowest: "",
    peakRaiseMiB: 0,
    peakRaiser: "",
    note: "",
  };
  current = t;
  const base = mix(SEED ^ fnv1a(family));
  const started = performance.now();
  for (let i = 0; i < cases; i++) {
    const seed = mix((base + Math.imul(i, 0x9e3779b9)) >>> 0);
    if (REPLAY !== undefined && seed !== REPLAY) continue;
    const where = `${family} case ${i} seed 0x${seed.toString(16)} (FUZZ_SEED=${SEED})`;
    const t0 = performance.now();
    const peak0 = process.resourceUsage().maxRSS;
    try {
      t[run(new Rng(seed), i)]++;
    } catch (err) {
      if (err instanceof Crash) t.crashes++;
      const kind = err instanceof Crash || err instanceof Violation ? err.name : "harness error";
      t.failures.push(`${where}: ${kind}: ${err instanceof Error ? err.message : String(err)}`);
    }
    t.cases++;
    const took = performance.now() - t0;
    if (took > t.slowestMs) [t.slowestMs, t.slowest] = [took, where];
    const raise = (process.resourceUsage().maxRSS - peak0) / 1024;
    if (raise > t.peakRaiseMiB) [t.peakRaiseMiB, t.peakRaiser] = [raise, where];
  }
  t.ms = performance.now() - started;
  tallies.push(t);
  for (const f of t.failures.slice(0, 20)) console.log(`FUZZ FAILURE ${f}`);
  return t;
}

/** The most one case may raise the process's peak RSS: a 1.5 GiB mask or a whole bomb inflated would. */
const CASE_PEAK_RAISE_MIB = 256;

function expectClean(t: Tally): void {
  expect(t.failures, `${t.failures.length} of ${t.cases} cases failed`).toEqual([]);
  expect(t.slowestMs, `slowest case: ${t.slowest}`).toBeLessThan(SLOW_CASE_MS);
  expect(t.peakRaiseMiB, `case raising peak memory most: ${t.peakRaiser}`).toBeLessThan(CASE_PEAK_RAISE_MIB);
}

// ---- route configs, bodies and the two ways in --------------------------------------------------

const registry = new PluginRegistry();
const PARSERS = registry.detectionOrder();
const PROTOCOLS = ["auto", ...registry.parsers.keys()];
const SCALERS = [...registry.scalers.keys()];
const REDACT = ["$..password", "$.inputs[*]", "$.messages[0].content", "$..data", "$.instances"];
const SECRET: ReadonlySet<string> = new Set(DEFAULT_SECRET_HEADERS);
const V2_LENGTH = "inference-header-content-length";
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAEElEQVR4nGPgOiEHRwzEcQCFAw8B0Y/K4AAAAABJRU5ErkJggg==",
  "base64",
);
const CONTENT_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "APPLICATION/JSON ; q=1",
  "application/vnd.api+json",
  "text/plain",
  "text/csv",
  "text/event-stream",
  "application/octet-stream",
  "image/png",
  "image/jpeg",
  "multipart/form-data; boundary=x",
  "",
];

/** A valid route config for a random task, protocol and options; `over` pins keys. */
function route(rng: Rng, over: Record<string, unknown> = {}): RouteConfig {
  const task = (over.task as Task | undefined) ?? rng.pick(TASKS);
  const raw: Record<string, unknown> = { model: "fuzz", task, protocol: rng.pick(PROTOCOLS) };
  const converters = [...registry.converters.values()].filter((c) => c.tasks.includes(task));
  if (converters.length > 0 && rng.chance(0.4)) raw.converter = rng.pick(converters).name;
  if (rng.chance(0.3)) raw.labels = ["cat", "dog", "person"];
  if (rng.chance(0.2)) raw.features = ["a", "b", "c", "d"];
  if (rng.chance(0.2)) raw.top_k = rng.between(1, 10);
  if (rng.chance(0.2)) raw.score_threshold = rng.float();
  if (rng.chance(0.3) && (task === "object_detection" || task === "instance_segmentation")) {
    raw.input_size = "640x640";
    raw.scaler = rng.pick(SCALERS);
  }
  if (rng.chance(0.25)) raw.redact_fields = [rng.pick(REDACT)];
  return validConfig(compileRouteConfig(registry, { ...raw, ...over }));
}

const utf8 = (s: string) => Buffer.from(s, "utf8");
const concat = (parts: Array<Uint8Array | string>) =>
  Buffer.concat(parts.map((p) => (typeof p === "string" ? utf8(p) : p)));

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
function isJson(bytes: Uint8Array): boolean {
  try {
    JSON.parse(strictUtf8.decode(bytes));
    return true;
  } catch {
    return false;
  }
}
const hasV2Header = (v: BodyView) => v.headers.some((h) => h.name.toLowerCase() === V2_LENGTH);

/** Every parser reads a JSON-typed body as JSON (unless it is V2 binary): bad JSON there must be flagged. */
const badJson = (v: BodyView) => isJsonContentType(v.contentType) && !hasV2Header(v) && !isJson(v.bytes);

/** Straight into analyzeExchange. */
function analyze(
  config: RouteConfig,
  request: BodyView,
  response: BodyView,
  mustFlag: boolean,
  times: ChunkTime[] = [],
): Verdict {
  const ctx: ParseContext = {
    request,
    response,
    route: { features: config.analysis.features },
    startedAtUs: T0,
    responseChunkTimes: times,
  };
  const { task, analysis: cfg } = config;
  const { analysis, parseError } = entry("analyzeExchange", () => analyzeExchange(task, cfg, PARSERS, ctx));
  if (typeof parseError !== "string") violated(`parseError is ${typeof parseError}`);
  if (task === "unknown") {
    if (analysis !== undefined || parseError !== "") violated("task unknown must not be interpreted");
    return "understood"; // stored as raw bytes, by design
  }
  if (mustFlag) current!.mustFlag++;
  lastParseError = parseError;
  if (parseError !== "") return "flagged";
  if (!analysis) violated("neither an analysis nor a parse_error");
  if (mustFlag) violated(`a malformed exchange was understood by ${analysis.protocol} with no parse_error`);
  // analyzeRecord serialises the analysis unguarded, so it must be plain JSON.
  entry("JSON.stringify(analysis)", () => JSON.stringify(analysis));
  return "understood";
}

interface Wire {
  headers: HeaderList;
  body: Uint8Array;
}

function wire(rng: Rng, v: BodyView, pseudo: Array<[string, string]>): Wire {
  const headers: HeaderList = [...pseudo.map(([name, value]) => ({ name, value })), ...v.headers];
  if (v.contentType) headers.push({ name: "content-type", value: v.contentType });
  if (v.bytes.byteLength === 0 || !rng.chance(0.3)) return { headers, body: v.bytes };
  headers.push({ name: "content-encoding", value: "gzip" });
  return { headers, body: zlib.gzipSync(v.bytes) };
}

function feed(rng: Rng, body: Uint8Array, push: (chunk: Uint8Array, end: boolean) => void): void {
  const pieces = rng.between(1, 6);
  let at = 0;
  for (let k = 1; k <= pieces; k++) {
    const end = k === pieces ? body.byteLength : at + rng.int(body.byteLength - at + 1);
    const chunk = body.subarray(at, end);
    entry("Exchange body", () => push(chunk, k === pieces));
    at = end;
  }
}

function startExchange(config: RouteConfig, headers: HeaderList): Exchange {
  const start = {
    captureId: "0190b6a2-1c3d-7e4f-8a5b-6c7d8e9f0a1b",
    requestId: "fuzz",
    sampledBy: "request_id",
    config,
    mode: "normal",
    route: "fuzz",
    cluster: "fuzz",
    headers,
  } as const;
  return entry("new Exchange", () => new Exchange({ ...start, nowUs: T0 }, { secretHeaders: SECRET }));
}

/** What the stream owner does when an exchange ends. */
function finish(ex: Exchange): CaptureRecord {
  const record = entry("Exchange.toRecord", () => ex.toRecord(T0 + 1_000_000));
  const { task, analysis, redactFields, maxDecodedBytes } = ex.config;
  entry("redactRecordFields", () => redactRecordFields(record, redactFields));
  if (task !== "unknown" && record.complete) {
    entry("analyzeRecordWithImages", () =>
      analyzeRecordWithImages(record, task, analysis, PARSERS, ex.responseChunkTimes, maxDecodedBytes),
    );
  }
  return record;
}

function collect(rng: Rng, config: RouteConfig, request: Wire, response: Wire): CaptureRecord {
  const ex = startExchange(config, request.headers);
  let now = T0;
  feed(rng, request.body, (chunk, end) => ex.requestBody(chunk, end));
  entry("Exchange.responseHeaders", () => ex.responseHeaders(response.headers, false, (now += 1000)));
  feed(rng, response.body, (chunk, end) => ex.responseBody(chunk, end, (now += 10)));
  return finish(ex);
}

function judge(record: CaptureRecord, mustFlag: boolean): Verdict {
  const { request: q, response: s } = record;
  lastParseError = [record.parseError, q.decodeError, s.decodeError].filter(Boolean).join("; ");
  if (record.parseError || q.decodeError || s.decodeError || q.truncated || s.truncated) {
    if (mustFlag && record.task !== "unknown") current!.mustFlag++;
    return "flagged";
  }
  if (record.task === "unknown") return "understood"; // stored as raw bytes, by design
  if (mustFlag) violated("a malformed exchange was stored without parse_error, decode_error or truncated");
  if (record.analysisJson.byteLength === 0) violated("neither an analysis nor a parse_error");
  return "understood";
}

/** Most cases go straight to analyzeExchange; some through an Exchange, chunked and maybe gzipped. */
function deliver(
  rng: Rng,
  config: RouteConfig,
  request: BodyView,
  response: BodyView,
  mustFlag: boolean,
  times: ChunkTime[] = [],
): Verdict {
  if (rng.chance(0.7)) return analyze(config, request, response, mustFlag, times);
  const req = wire(rng, request, [
    [":method", "POST"],
    [":path", "/fuzz"],
  ]);
  return judge(collect(rng, config, req, wire(rng, response, [[":status", "200"]])), mustFlag);
}

// ---- the seed corpus: every parser fixture -----------------------------------------------------

interface FixtureBody {
  contentType?: string;
  body?: string;
  bodyBase64?: string;
  headers?: Record<string, string | number>;
}
interface Sample {
  name: string;
  request: BodyView;
  response: BodyView;
}

function fixtureBody(b: FixtureBody): BodyView {
  const bytes = b.bodyBase64 !== undefined ? Buffer.from(b.bodyBase64, "base64") : utf8(b.body ?? "");
  const headers = Object.entries(b.headers ?? {}).map(([name, value]) => ({
    name: name.toLowerCase(),
    value: String(value),
  }));
  return bodyView(new Uint8Array(bytes), b.contentType ?? "", headers);
}

function loadCorpus(): Sample[] {
  const root = new URL("../fixtures/parsers/", import.meta.url);
  return fs
    .readdirSync(root)
    .sort()
    .flatMap((dir) =>
      fs
        .readdirSync(new URL(`${dir}/`, root))
        .filter((f) => f.endsWith(".in.json"))
        .sort()
        .map((f) => {
          const c = JSON.parse(fs.readFileSync(new URL(`${dir}/${f}`, root), "utf8")) as {
            request: FixtureBody;
            response: FixtureBody;
          };
          return { name: `${dir}/${f}`, request: fixtureBody(c.request), response: fixtureBody(c.response) };
        }),
    );
}

const CORPUS = loadCorpus();
const JSON_SAMPLES = CORPUS.filter(
  (s) => isJsonContentType(s.request.contentType) && isJson(s.request.bytes) && !hasV2Header(s.request),
);

// ---- family 1: malformed JSON and values --------------------------------------------------------

const JSON_CT = "application/json";
const KEYS = ["inputs", "instances", "data", "shape", "datatype", "messages", "content", "choices"];
const MORE_KEYS = ["predictions", "outputs", "label", "score", "b64", "error", "text", "password"];
const SCALARS: unknown[] = [0, -1, 1.5, 1e308, -5e-324, 2 ** 53 + 1, "", "cat", "NaN", "Infinity"];
const MORE_SCALARS: unknown[] = [
  "1e9999",
  "\u0000",
  "\ud800",
  "é😀",
  true,
  false,
  null,
  "data:image/png;base64,!!",
];
const ALL_KEYS = [...KEYS, ...MORE_KEYS];
const ALL_SCALARS = [...SCALARS, ...MORE_SCALARS, `data:image/png;base64,${PNG.toString("base64")}`];
const REQUEST_SHAPES = [
  '{"instances": $}',
  '{"inputs": $}',
  '{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":$}]}',
  '{"messages": $}',
  '{"messages":[{"role":"user","content":$}]}',
  '{"prompt": $}',
  '{"data": $, "password": "hunter2"}',
  "$",
];
const RESPONSE_SHAPES = [
  '{"predictions": $}',
  '{"outputs":[{"name":"y","datatype":"FP32","shape":[1],"data":$}]}',
  '{"outputs": $}',
  '{"choices": $}',
  '{"choices":[{"message":{"role":"assistant","content":$}}]}',
  '[{"label":"cat","score":$}]',
  "$",
];
/** Numbers JSON.parse takes but nobody means, then tokens that are not JSON at all. */
const HUGE = ["1e400", "-1e400", "1e-400", "-0", "123456789012345678901234567890", "9007199254740993"];
const NAN_LIKE = ['"NaN"', '"Infinity"', '"-Infinity"', '"1e9999"', '"0x1F"', "1E+308"];
const NOT_JSON = ["NaN", "Infinity", "-Infinity", "+1", "01", ".5", "1.", "0x10"];
const NUMBER_TOKENS = [...HUGE, ...NAN_LIKE, ...NOT_JSON];

function randomJson(rng: Rng, depth: number, budget = { nodes: 200 }): unknown {
  budget.nodes--;
  if (depth <= 0 || budget.nodes <= 0 || rng.chance(0.15)) {
    return rng.chance(0.6) ? rng.pick(ALL_SCALARS) : (rng.float() - 0.5) * 10 ** rng.between(-8, 8);
  }
  // One child carries the depth; siblings stay shallow so the size stays bounded.
  const kids = Array.from({ length: rng.between(1, 4) }, (_, j) =>
    randomJson(rng, j === 0 ? depth - 1 : rng.int(3), budget),
  );
  return rng.chance(0.5)
    ? kids
    : Object.fromEntries(kids.map((v, j) => [`${rng.pick(ALL_KEYS)}${j || ""}`, v]));
}

function embed(rng: Rng, side: number, json: string): string {
  return rng.pick(side === 0 ? REQUEST_SHAPES : RESPONSE_SHAPES).replace("$", () => json);
}

/** JSON.parse takes 10 000 levels; recursive code after it may not. Sometimes left unbalanced. */
function deepNesting(rng: Rng): string {
  const depth = rng.chance(0.5) ? 10_000 : rng.size(100, 10_000);
  const [open, close, leaf] = rng.pick([
    ["[", "]", ""],
    ['{"a":', "}", "1"],
    ['[{"data":', "}]", "1"],
    ['{"password":[', "]}", '"x"'],
  ] as const);
  return open.repeat(depth) + leaf + close.repeat(rng.chance(0.8) ? depth : rng.int(depth));
}

/** A sample's JSON with 1-3 leaves replaced by huge, NaN-like or non-JSON number tokens. */
function withNumberTokens(rng: Rng, bytes: Uint8Array): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(strictUtf8.decode(bytes));
  } catch {
    return undefined;
  }
  const slots: Array<[Record<string, unknown>, string]> = [];
  const walk = (v: unknown): void => {
    if (typeof v !== "object" || v === null) return;
    for (const [key, child] of Object.entries(v)) {
      if (typeof child === "object" && child !== null) walk(child);
      else slots.push([v as Record<string, unknown>, key]);
    }
  };
  walk(doc);
  if (slots.length === 0) return undefined;
  const tokens: string[] = [];
  for (let j = rng.between(1, 3); j > 0; j--) {
    const [parent, key] = rng.pick(slots);
    parent[key] = `\u0001fuzz${tokens.length}\u0001`;
    tokens.push(rng.pick(NUMBER_TOKENS));
  }
  return JSON.stringify(doc).replace(/"\\u0001fuzz(\d+)\\u0001"/g, (_, k: string) => tokens[Number(k)]!);
}

/** V2 tensors that hold no values but claim a huge shape: [N, 0] or [1, M, 0]. */
function emptyTensors(rng: Rng): [string, string] {
  const n = rng.size(1, 1_000_000);
  const input = rng.chance(0.6) ? `"shape":[${n},0],"data":[]` : '"shape":[1,2],"data":[1,2]';
  const output = rng.chance(0.5)
    ? `"shape":[${n},0],"data":[]`
    : `"shape":[1,${rng.size(1, 1e6)},0],"data":[]`;
  return [
    `{"inputs":[{"name":"x","datatype":"FP32",${input}}]}`,
    `{"outputs":[{"name":"y","datatype":"FP32",${output}}]}`,
  ];
}

function malformed(rng: Rng): Verdict {
  const config = route(rng);
  const sample = rng.pick(CORPUS);
  const pair = [sample.request, sample.response];
  const side = rng.int(2);
  const cur = pair[side]!;
  const set = (bytes: Uint8Array | string, contentType = cur.contentType) => {
    pair[side] = bodyView(bytes, contentType, cur.headers);
  };
  switch (rng.int(6)) {
    case 0:
      set(cur.bytes.subarray(0, rng.int(cur.bytes.byteLength)));
      break;
    case 1:
      set(rng.bytes(rng.size(1, 4097) - 1), rng.pick(CONTENT_TYPES));
      break;
    case 2:
      set(embed(rng, side, JSON.stringify(randomJson(rng, rng.between(1, 50)))), JSON_CT);
      break;
    case 3:
      set(embed(rng, side, deepNesting(rng)), JSON_CT);
      break;
    case 4:
      set(withNumberTokens(rng, cur.bytes) ?? embed(rng, side, rng.pick(NUMBER_TOKENS)));
      break;
    default: {
      const [req, res] = emptyTensors(rng);
      pair[0] = bodyView(req, JSON_CT);
      pair[1] = bodyView(res, JSON_CT);
    }
  }
  const [request, response] = pair as [BodyView, BodyView];
  return deliver(rng, config, request, response, badJson(request) || badJson(response));
}

// ---- family 2: wrong content types ---------------------------------------------------------------

/** Parsers that read a request by its content type (image, multipart) before anything else. */
const TYPE_READERS = new Set(["generic", "torchserve", "hf_pipeline"]);

function wrongTypes(rng: Rng): Verdict {
  const config = route(rng);
  const sample = rng.pick(JSON_SAMPLES);
  let { request, response } = sample;
  const parser = config.analysis.parser;
  const readsType = parser !== "auto" && TYPE_READERS.has(parser.name);
  let mustFlag = false;
  switch (rng.int(4)) {
    case 0: // JSON claiming to be an image
      request = bodyView(request.bytes, rng.pick(["image/png", "image/jpeg", "IMAGE/WEBP"]));
      mustFlag = readsType;
      break;
    case 1: // an image claiming to be JSON
      if (rng.chance(0.5)) request = bodyView(PNG, JSON_CT);
      else response = bodyView(PNG, JSON_CT);
      break;
    case 2: // multipart without a usable boundary
      request = bodyView(
        request.bytes,
        rng.pick([
          "multipart/form-data",
          "multipart/form-data; boundary=",
          'multipart/form-data; boundary="',
          "multipart/form-data; charset=utf-8",
        ]),
      );
      mustFlag = readsType;
      break;
    default:
      request = bodyView(request.bytes, rng.pick(CONTENT_TYPES));
      response = bodyView(response.bytes, rng.pick(CONTENT_TYPES));
  }
  return deliver(rng, config, request, response, mustFlag || badJson(request) || badJson(response));
}

// ---- family 3: invalid UTF-8 ---------------------------------------------------------------------

const INVALID_UTF8 = [
  [0x80], // lone continuation byte
  [0xbf],
  [0xc0, 0xaf], // overlong "/"
  [0xc1, 0xbf],
  [0xe0, 0x80, 0xaf],
  [0xed, 0xa0, 0x80], // UTF-16 surrogate
  [0xed, 0xbf, 0xbf],
  [0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
  [0xf5, 0x80, 0x80, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xfe],
  [0xff],
  [0xc3], // sequences cut short
  [0xe2, 0x82],
  [0xf0, 0x9f, 0x98],
];

/** Sides every parser must decode strictly: JSON-typed bodies, and text/* requests. */
function strictSide(v: BodyView, side: number): boolean {
  const type = v.contentType.split(";")[0]!.trim().toLowerCase();
  return !hasV2Header(v) && (isJsonContentType(type) || (side === 0 && type.startsWith("text/")));
}
const TEXT_SAMPLES = CORPUS.filter((s) => strictSide(s.request, 0) || strictSide(s.response, 1));

function invalidUtf8(rng: Rng): Verdict {
  const config = route(rng);
  const sample = rng.pick(TEXT_SAMPLES);
  const pair = [sample.request, sample.response];
  const side = rng.pick([0, 1].filter((k) => strictSide(pair[k]!, k)));
  let bytes = pair[side]!.bytes;
  for (let j = rng.between(1, 3); j > 0; j--) {
    // Only between ASCII bytes: a cut-short sequence next to continuation bytes could become valid.
    const at: number[] = [];
    for (let p = 0; p <= bytes.byteLength; p++) {
      if ((p === 0 || bytes[p - 1]! < 0x80) && (p === bytes.byteLength || bytes[p]! < 0x80)) at.push(p);
    }
    const p = at.length > 0 ? rng.pick(at) : bytes.byteLength;
    bytes = concat([bytes.subarray(0, p), new Uint8Array(rng.pick(INVALID_UTF8)), bytes.subarray(p)]);
  }
  pair[side] = bodyView(bytes, pair[side]!.contentType, pair[side]!.headers);
  return deliver(rng, config, pair[0]!, pair[1]!, true);
}

// ---- family 4: decompression bombs ---------------------------------------------------------------

const BOMB_SIZE = 50 * MiB;
interface Bomb {
  encodings: readonly string[];
  bytes: Buffer;
}
const BOMBS = new Map<string, Bomb>();

/** 50 MiB of zeros compressed from one reused 1 MiB buffer: the test never holds the inflated size. */
async function compressZeros(stream: zlib.Gzip | zlib.Deflate | zlib.DeflateRaw | zlib.BrotliCompress) {
  const out: Buffer[] = [];
  stream.on("data", (c: Buffer) => out.push(c));
  const ended = once(stream, "end");
  const zeros = Buffer.alloc(MiB);
  for (let sent = 0; sent < BOMB_SIZE; sent += MiB) if (!stream.write(zeros)) await once(stream, "drain");
  stream.end();
  await ended;
  return Buffer.concat(out);
}

async function buildBombs(): Promise<void> {
  const gzip = await compressZeros(zlib.createGzip({ level: 9 }));
  const brotli = zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } });
  BOMBS.set("gzip", { encodings: ["gzip", "x-gzip", "GZIP", " gzip ", "identity, gzip"], bytes: gzip });
  BOMBS.set("deflate", { encodings: ["deflate"], bytes: await compressZeros(zlib.createDeflate()) });
  BOMBS.set("raw-deflate", { encodings: ["deflate"], bytes: await compressZeros(zlib.createDeflateRaw()) });
  BOMBS.set("br", { encodings: ["br"], bytes: await compressZeros(brotli) });
  BOMBS.set("gzip-of-gzip", { encodings: ["gzip, gzip", "x-gzip, gzip"], bytes: zlib.gzipSync(gzip) });
}

function bomb(rng: Rng, i: number): Verdict {
  // Collected often, so peak RSS shows what one decode holds rather than accumulated garbage.
  if (i % 25 === 0) gc?.();
  const kind = rng.pick([...BOMBS.keys()]);
  const { encodings, bytes: whole } = BOMBS.get(kind)!;
  const cut = rng.chance(0.2);
  const bytes = cut ? whole.subarray(0, rng.between(1, whole.byteLength - 1)) : whole;
  const cap = rng.size(64 * KiB, 8 * MiB);
  // Without redact_fields: a body that cannot be parsed would (rightly) not be stored at all.
  const config = route(rng, { max_decoded_bytes: cap, redact_fields: undefined });
  const onRequest = rng.chance(0.5);
  const ct = { name: "content-type", value: JSON_CT };
  const boom: HeaderList = [ct, { name: "content-encoding", value: rng.pick(encodings) }];
  const plain: Wire = { headers: [ct], body: utf8('{"inputs":[1,2,3]}') };
  const request = onRequest ? { headers: [{ name: ":method", value: "POST" }, ...boom], body: bytes } : plain;
  const response = onRequest ? plain : { headers: [{ name: ":status", value: "200" }, ...boom], body: bytes };
  const record = collect(rng, config, request, response);
  const side = onRequest ? record.request : record.response;
  const kept = Buffer.from(side.data.buffer, side.data.byteOffset, side.data.byteLength);
  if (side.decodeError === "") violated(`a ${kind} bomb (cut: ${cut}) decoded under a ${cap}-byte cap`);
  if (!cut && !side.decodeError.includes(`over cap of ${cap} bytes`)) {
    violated(`a ${kind} bomb failed for another reason than the cap: ${side.decodeError}`);
  }
  if (side.decoded || side.truncated || !kept.equals(bytes) || side.sizeBytes !== bytes.byteLength) {
    violated(`the ${kind} bomb's compressed bytes were not kept as received`);
  }
  if (side.wireSizeBytes !== bytes.byteLength) violated(`wire size ${side.wireSizeBytes}`);
  return judge(record, true);
}

// ---- family 5: big bodies ------------------------------------------------------------------------

const BIG = 100 * MiB;
/** One reused 1 MiB chunk: chunks are views into it, generated lazily as the body streams. */
const PATTERN = Buffer.from(Uint8Array.from({ length: MiB }, (_, j) => (j * 131 + 7) & 0xff));

function bigBody(rng: Rng, i: number): Verdict {
  const canonical = i === 0; // exactly 100 MiB in 1 MiB chunks under a 1 MiB cap
  const cap = canonical ? MiB : rng.size(KiB, 4 * MiB);
  const total = canonical ? BIG : rng.size(cap + 1, BIG);
  const chunk = canonical ? MiB : rng.size(16 * KiB, MiB);
  const onRequest = !canonical && rng.chance(0.3);
  const encoded = rng.chance(0.3);
  const config = route(rng, { max_body_bytes: cap, redact_fields: undefined });
  const headers: HeaderList = [{ name: "content-type", value: JSON_CT }];
  if (encoded) headers.push({ name: "content-encoding", value: "gzip" });
  const ex = startExchange(config, [{ name: ":method", value: "POST" }, ...(onRequest ? headers : [])]);
  const stream = (push: (c: Uint8Array, end: boolean) => void) => {
    for (let sent = 0; sent < total;) {
      const n = Math.min(chunk, total - sent);
      sent += n;
      entry("Exchange body", () => push(PATTERN.subarray(0, n), sent === total));
    }
  };
  let now = T0;
  if (onRequest) stream((c, end) => ex.requestBody(c, end));
  else entry("Exchange body", () => ex.requestBody(utf8('{"inputs":[1]}'), true));
  entry("Exchange.responseHeaders", () =>
    ex.responseHeaders([{ name: ":status", value: "200" }, ...(onRequest ? [] : headers)], false, now),
  );
  if (onRequest) entry("Exchange body", () => ex.responseBody(utf8('{"outputs":[1]}'), true, now));
  else stream((c, end) => ex.responseBody(c, end, (now += 1)));
  if (ex.responseChunkTimes.length > 4096) violated(`${ex.responseChunkTimes.length} chunk times kept`);
  const record = finish(ex);
  const side = onRequest ? record.request : record.response;
  const data = Buffer.from(side.data.buffer, side.data.byteOffset, side.data.byteLength);
  if (side.wireSizeBytes !== total) violated(`wire size ${side.wireSizeBytes}, sent ${total}`);
  if (!side.truncated || data.byteLength !== cap || side.sizeBytes !== cap) {
    violated(`${total} bytes under a ${cap}-byte cap: kept ${data.byteLength}, truncated ${side.truncated}`);
  }
  for (let at = 0; at < cap; at += chunk) {
    const n = Math.min(chunk, cap - at);
    if (!data.subarray(at, at + n).equals(PATTERN.subarray(0, n))) violated(`kept bytes differ at ${at}`);
  }
  const expected = encoded ? "body truncated at max_body_bytes; stored as received" : "";
  if (side.decodeError !== expected || side.decoded)
    violated(`decode_error ${JSON.stringify(side.decodeError)}`);
  if (config.task !== "unknown" && record.parseError !== "body truncated at max_body_bytes; not parsed") {
    violated(`parse_error ${JSON.stringify(record.parseError)}`);
  }
  return judge(record, true);
}

// ---- family 6: thousands of headers --------------------------------------------------------------

const HEADER_COUNT = 5000;
const TOKEN = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
const ENCODINGS = [
  "gzip",
  "br",
  "identity",
  "bogus",
  "",
  " IDENTITY ",
  "gzip, deflate",
  "identity, identity",
];

/** Tokens are random slices of one random string: 10 000 headers a case stay cheap to make. */
const TOKEN_POOL = ((rng) => Array.from({ length: 64 * KiB }, () => rng.pick([...TOKEN])).join(""))(
  new Rng(SEED),
);

function token(rng: Rng, max: number): string {
  const at = rng.int(TOKEN_POOL.length - max);
  return TOKEN_POOL.slice(at, at + rng.between(1, max));
}

function headerFlood(rng: Rng, body: BodyView): HeaderList {
  const out: HeaderList = [];
  const flip = (s: string) => [...s].map((c) => (rng.chance(0.3) ? c.toUpperCase() : c)).join("");
  for (let j = 0; j < HEADER_COUNT; j++) {
    const r = rng.int(40);
    if (r === 0) out.push({ name: flip(rng.pick(DEFAULT_SECRET_HEADERS)), value: token(rng, 40) });
    else if (r === 1) out.push({ name: `:${token(rng, 8)}`, value: token(rng, 8) });
    else if (r === 2) out.push({ name: "content-type", value: rng.pick(CONTENT_TYPES) });
    else if (r === 3) out.push({ name: "content-encoding", value: rng.pick(ENCODINGS) });
    else if (r === 4) out.push({ name: flip(V2_LENGTH), value: String(rng.int(100) - 10) });
    else if (r === 5) out.push({ name: token(rng, 16), value: "v".repeat(rng.size(1, 8 * KiB)) });
    else out.push({ name: token(rng, 24), value: token(rng, 32) });
  }
  // The first match wins: sometimes the body's real content type comes first.
  if (rng.chance(0.5)) out.unshift({ name: "content-type", value: body.contentType });
  return out;
}

function manyHeaders(rng: Rng): Verdict {
  const config = route(rng);
  const sample = rng.pick(JSON_SAMPLES);
  const reqHeaders = [{ name: ":method", value: "POST" }, ...headerFlood(rng, sample.request)];
  const resHeaders = [{ name: ":status", value: "200" }, ...headerFlood(rng, sample.response)];
  const record = collect(
    rng,
    config,
    { headers: reqHeaders, body: sample.request.bytes },
    { headers: resHeaders, body: sample.response.bytes },
  );
  const sides: Array<[HeaderList, HeaderList]> = [
    [reqHeaders, record.request.headers],
    [resHeaders, record.response.headers],
  ];
  for (const [sent, kept] of sides) {
    const expected = sent.filter((h) => !h.name.startsWith(":"));
    if (kept.length !== expected.length) violated(`${kept.length} headers kept of ${expected.length}`);
    expected.forEach((h, j) => {
      const value = SECRET.has(h.name.toLowerCase()) ? REDACTED : h.value;
      if (kept[j]?.name !== h.name || kept[j]?.value !== value) violated(`header ${j} (${h.name}) altered`);
    });
  }
  return judge(record, false);
}

// ---- family 7: server-sent events with garbage frames --------------------------------------------

const CHAT_REQUEST =
  '{"model":"m","stream":true,"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}]}';
const PIECES = ["Hel", "lo", " wörld", "😀", "\u2028", "\\n", "", '"'];
const goodChunk = (rng: Rng) =>
  rng.pick([
    `{"id":"c","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":${JSON.stringify(rng.pick(PIECES))}},"finish_reason":null}]}`,
    '{"choices":[{"index":0,"delta":{"role":"assistant"}}]}',
    '{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}',
    '{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}',
    `{"choices":[{"index":0,"text":${JSON.stringify(rng.pick(PIECES))}}]}`,
  ]);

/** One line that never makes a valid chunk event on its own ([DONE] ends the stream: not in "mixed"). */
function garbageLine(rng: Rng, done: boolean): Uint8Array | string {
  const good = goodChunk(rng);
  return rng.pick<() => Uint8Array | string>([
    () => `data: ${good.slice(0, rng.int(good.length - 1))}`, // a partial frame
    () => `data: ${token(rng, 60).replace(/[-\d]/g, "x")}`,
    () => "data:",
    () => `data: ${rng.pick(['{"choices": 5}', '{"object":"chunk"}', "[]", "null", '"text"', "{}"])}`,
    () => 'data: {"error":{"message":"overloaded"}}',
    () => concat(["data: ", rng.bytes(rng.between(1, 8), [0x0a, 0x0d, 0x7b]), new Uint8Array([0xff])]),
    () => rng.bytes(rng.between(1, 80), [0x0a, 0x0d]),
    () =>
      rng.pick([
        "event: ping",
        ": keep-alive",
        "id: 7",
        "retry: x",
        done ? "data: [DONE]" : "data: [NOT DONE]",
      ]),
  ])();
}

function sse(rng: Rng): Verdict {
  const task: Task = rng.chance(0.7) ? "text_generation" : rng.pick(TASKS);
  // Without redact_fields: a stream with garbage frames cannot be confirmed redacted, so is not kept.
  const config = route(rng, { task, protocol: rng.pick(["auto", "openai_chat"]), redact_fields: undefined });
  const mode = rng.pick(["garbage", "mixed", "chaos"] as const);
  const eol = rng.pick(["\n", "\r\n", "\r"]);
  const frames: Array<Uint8Array | string> = [];
  const event = (line: Uint8Array | string) => frames.push(line, eol + eol);
  const count = rng.between(mode === "mixed" ? 1 : 0, 30);
  const goodAt = rng.int(count);
  for (let j = 0; j < count; j++) {
    if (mode === "mixed" && (j === goodAt || rng.chance(0.4))) event(`data: ${goodChunk(rng)}`);
    else if (mode !== "chaos") event(garbageLine(rng, mode === "garbage"));
    else
      frames.push(
        rng.chance(0.5) ? `data: ${goodChunk(rng)}` : garbageLine(rng, true),
        rng.pick(["\n", "\r\n", "\r", ""]),
      );
  }
  if (mode === "mixed" && rng.chance(0.5)) event("data: [DONE]");
  let body = concat(frames);
  if (mode === "chaos" && rng.chance(0.5)) body = body.subarray(0, rng.int(body.byteLength + 1));
  const times: ChunkTime[] = [];
  for (let at = 0, t = T0; at < body.byteLength;) {
    at = Math.min(body.byteLength, at + rng.size(1, 4096));
    times.push([at, (t += rng.int(50_000))]);
  }
  const response = bodyView(body, rng.chance(0.9) ? "text/event-stream" : "text/event-stream; charset=utf-8");
  const verdict = deliver(rng, config, bodyView(CHAT_REQUEST, JSON_CT), response, mode === "garbage", times);
  if (mode === "mixed" && task === "text_generation" && verdict !== "understood") {
    violated(`a stream with valid chunks among garbage frames was not understood: ${lastParseError}`);
  }
  return verdict;
}

// ---- family 8: KServe V2 binary extension with lying sizes ----------------------------------------

const WIDTH: Readonly<Record<string, number>> = {
  BOOL: 1,
  UINT8: 1,
  INT8: 1,
  UINT16: 2,
  INT16: 2,
  FP16: 2,
  UINT32: 4,
  INT32: 4,
  FP32: 4,
  UINT64: 8,
  INT64: 8,
  FP64: 8,
};
const DATATYPES = [...Object.keys(WIDTH), "BYTES"];

function bytesElements(rng: Rng, count: number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let j = 0; j < count; j++) {
    const data = rng.chance(0.5) ? utf8(token(rng, 12)) : rng.bytes(rng.int(12));
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32LE(data.byteLength);
    parts.push(prefix, data);
  }
  return concat(parts);
}

/** A V2 binary body for `key`, lying where `lies` gets entries; returns the header length sent. */
function v2Binary(
  rng: Rng,
  key: string,
  batch: number,
  lies: string[],
): { body: Uint8Array; length: string } {
  const tensors: Array<Record<string, unknown>> = [];
  const tails: Uint8Array[] = [];
  for (let t = rng.between(1, 3); t > 0; t--) {
    const datatype = rng.pick(DATATYPES);
    const cols = rng.between(1, 4);
    const shape: number[] = [batch, cols];
    const tensor: Record<string, unknown> = { name: `t${t}`, datatype, shape };
    if (rng.chance(0.2) && datatype !== "BYTES") {
      tensor.data = Array.from({ length: batch * cols }, () => rng.int(100));
    } else {
      const data =
        datatype === "BYTES" ? bytesElements(rng, batch * cols) : rng.bytes(batch * cols * WIDTH[datatype]!);
      tensor.parameters = { binary_data_size: data.byteLength };
      tails.push(data);
    }
    if (rng.chance(0.05)) {
      shape[1] = cols + rng.between(1, 3);
      lies.push(`${key} shape`);
    }
    tensors.push(tensor);
  }
  const binary = tensors.filter((t) => t.parameters !== undefined);
  if (binary.length > 0 && rng.chance(0.3)) {
    const params = rng.pick(binary).parameters as { binary_data_size: unknown };
    const size = params.binary_data_size as number;
    params.binary_data_size = rng.pick([size + rng.between(1, 64), -1, 1.5, `${size}`, null, 2 ** 53 + 2]);
    if (size > 0 && rng.chance(0.3)) params.binary_data_size = size - rng.between(1, size);
    lies.push(`${key} binary_data_size`);
  }
  const header = utf8(JSON.stringify({ model_name: "m", [key]: tensors }));
  const body = concat([header, ...tails]);
  const n = header.byteLength;
  const tail = body.byteLength - n;
  let length = rng.pick([`${n}`, ` ${n} `, `0${n}`, `\t${n}`]); // honest spellings
  if (rng.chance(0.35)) {
    length = rng.pick([
      ...(tail > 0 ? [`${n + rng.between(1, tail)}`] : []), // inside the body: eats binary bytes
      `${body.byteLength + rng.between(1, 1000)}`,
      `${n - rng.between(1, n)}`,
      "-5",
      "abc",
      "",
      " ",
      "12.5",
      "1e3",
      "0x20",
      `+${n}`,
      "99999999999999999999",
      "Infinity",
    ]);
    lies.push(`${key} header length ${JSON.stringify(length)}`);
  }
  return { body, length };
}

function kserveBinary(rng: Rng): Verdict {
  const protocol = rng.pick(["auto", "kserve_v2", "kserve_v2", rng.pick(PROTOCOLS)]);
  const config = route(rng, { protocol });
  const batch = rng.between(1, 4);
  const lies: string[] = [];
  const headerName = () => rng.pick([V2_LENGTH, "Inference-Header-Content-Length"]);
  const ct = () => rng.pick(["application/octet-stream", "application/vnd.sagemaker-triton.binary+json", ""]);
  const req = v2Binary(rng, "inputs", batch, lies);
  const request = bodyView(req.body, ct(), [{ name: headerName(), value: req.length }]);
  let response: BodyView;
  if (rng.chance(0.5)) {
    const res = v2Binary(rng, "outputs", batch, lies);
    response = bodyView(res.body, ct(), [{ name: headerName(), value: res.length }]);
  } else {
    const data = JSON.stringify(Array.from({ length: batch * 2 }, () => rng.float()));
    response = bodyView(
      `{"outputs":[{"name":"y","datatype":"FP32","shape":[${batch},2],"data":${data}}]}`,
      JSON_CT,
    );
  }
  const reads = protocol === "auto" || protocol === "kserve_v2";
  return deliver(rng, config, request, response, reads && lies.length > 0);
}

// ---- family 9: broken multipart ------------------------------------------------------------------

const SAFE_TEXT = "abcdefghij klmnopqrstuvwxyz0123456789.,;:!?éü";
const MUTATIONS = [
  "no closing boundary",
  "boundary not in body",
  "truncated",
  "garbage",
  "bad headers",
  "nested",
];

function multipartBody(rng: Rng, boundary: string, eol: string): Buffer {
  const parts: Array<Uint8Array | string> = [];
  for (let j = rng.between(1, 3); j > 0; j--) {
    const file = rng.chance(0.4);
    const name = rng.pick(["data", "file", "text", "field"]);
    const filename = file ? `; filename="img${j}.png"` : "";
    const type = file ? `${eol}Content-Type: image/png` : "";
    const data = file
      ? PNG
      : Array.from({ length: rng.between(0, 40) }, () => rng.pick([...SAFE_TEXT])).join("");
    parts.push(
      `--${boundary}${eol}Content-Disposition: form-data; name="${name}"${filename}${type}${eol}${eol}`,
    );
    parts.push(data, eol);
  }
  parts.push(`--${boundary}--${eol}`);
  return concat(parts);
}

function multipart(rng: Rng): Verdict {
  const protocol = rng.pick(["auto", ...TYPE_READERS]);
  const config = route(rng, { protocol });
  const boundary = `----fuzz${rng.int(2 ** 31).toString(36)}`;
  const eol = rng.chance(0.8) ? "\r\n" : "\n";
  const valid = multipartBody(rng, boundary, eol);
  const closeEnd = valid.byteLength - eol.length; // just past the closing "--boundary--"
  let body: Uint8Array = valid;
  let typeBoundary = rng.chance(0.2) ? `"${boundary}"` : boundary;
  const mutation = rng.chance(0.1) ? "none" : rng.pick(MUTATIONS);
  const at = (p: number, insert: Uint8Array | string) =>
    concat([body.subarray(0, p), insert, body.subarray(p)]);
  if (mutation === "no closing boundary") {
    const open = closeEnd - `--${boundary}--`.length;
    body = rng.chance(0.5)
      ? valid.subarray(0, open)
      : concat([valid.subarray(0, open), `--${boundary}${eol}`]);
  } else if (mutation === "boundary not in body") typeBoundary = `other${rng.int(1e9)}`;
  else if (mutation === "truncated") body = valid.subarray(0, rng.int(closeEnd));
  else if (mutation === "garbage") body = at(rng.int(body.byteLength + 1), rng.bytes(rng.between(1, 64)));
  else if (mutation === "bad headers") {
    const first = valid.indexOf(0x0a) + 1; // the first part's header block starts here
    body = at(
      first,
      rng.pick(["no colon here", "Content-Disposition: form-data", ": x", `X-Y: z${eol}${eol}`]) + eol,
    );
  } else if (mutation === "nested") {
    const inner = multipartBody(rng, `inner${rng.int(1e9)}`, eol);
    body = at(valid.indexOf(eol + eol) + 2 * eol.length, inner.subarray(0, rng.int(inner.byteLength)));
  }
  const mustFlag = ["no closing boundary", "boundary not in body", "truncated"].includes(mutation);
  const request = bodyView(body, `multipart/form-data; boundary=${typeBoundary}`);
  const response = bodyView('[{"label":"cat","score":0.9},{"label":"dog","score":0.1}]', JSON_CT);
  return deliver(rng, config, request, response, mustFlag);
}

// ---- the campaign ----------------------------------------------------------------------------------

// ---- 10: hostile detections: claimed sizes, deep nesting, huge counts, through every converter ---

const BOX_CONVERTERS = [...registry.converters.values()].filter((c) =>
  c.tasks.some((t) => t === "object_detection" || t === "instance_segmentation"),
);

/** The JSON of `v` inside `depth` lists, [[[v]]], written as text (recursion would cost the harness its stack). */
const nested = (v: unknown, depth: number): string =>
  `${"[".repeat(depth)}${JSON.stringify(v)}${"]".repeat(depth)}`;

/** The JSON of a detection output built to cost: each shape aims at one budget of the container reader. */
function hostileOutput(rng: Rng): string {
  const shape = hostileShape(rng);
  return typeof shape === "string" ? shape : JSON.stringify(shape); // deep ones come as text already
}

function hostileShape(rng: Rng): unknown {
  const n = rng.size(1, 30_000);
  const box = () => [rng.int(64), rng.int(64), 64 + rng.int(64), 64 + rng.int(64)];
  switch (rng.int(9)) {
    case 0: {
      // An RLE claiming a huge mask in a few bytes: counts that do add up to its size.
      const [h, w] = [rng.size(1, 30_000), rng.size(1, 30_000)];
      const counts = rng.chance(0.5) ? [0, h * w] : "0PXh[o2";
      return [{ segmentation: { size: [h, w], counts }, label: 0 }];
    }
    case 1: // a box tensor nested far deeper than any tensor
      return `{"boxes":${nested([1, 2, 3, 4], rng.size(1, 10_000))},"labels":[0],"scores":[0.5]}`;
    case 2: // wrappers within wrappers
      return nested({ detections: [{ bbox: box(), label: 0 }] }, rng.size(1, 5000));
    case 3: // more detections than kept, and a count that lies
      return {
        boxes: Array.from({ length: n }, box),
        labels: Array.from({ length: n }, () => rng.int(3)),
        scores: Array.from({ length: rng.chance(0.5) ? n : n + 1 }, () => rng.float()),
        num_detections: [rng.pick([n, 1e12, -5, "x"])],
      };
    case 4: // an object box with thousands of keys
      return [{ box: Object.fromEntries(Array.from({ length: n }, (_, k) => [`k${k}`, k])), label: 0 }];
    case 5: // a polygon of very many points
      return [{ polygon: Array.from({ length: 2 * n }, () => rng.int(64)), label: 0, bbox: "?" }];
    case 6: // masks with lying dimensions
      return {
        boxes: [box()],
        labels: [0],
        masks: JSON.parse(
          nested(
            Array.from({ length: rng.size(1, 300) }, () => Array.from({ length: rng.size(1, 300) }, () => 1)),
            rng.int(3),
          ),
        ) as unknown,
      };
    case 7: // rows of every length, values of every type
      return Array.from({ length: rng.size(1, 2000) }, () =>
        Array.from({ length: rng.int(9) }, () => rng.pick(ALL_SCALARS)),
      );
    default: // many odd optional fields, each worth a note
      return Array.from({ length: n }, () => ({ bbox: box(), label: 0, score: "high", box: { q: 1 } }));
  }
}

function hostileDetections(rng: Rng): Verdict {
  const converter = rng.pick(BOX_CONVERTERS);
  const task = rng.pick(converter.tasks.filter((t) => t !== "unknown"));
  const config = route(rng, {
    task,
    protocol: "torchserve",
    converter: converter.name,
    ...(rng.chance(0.5) ? { input_size: "64x64", scaler: rng.pick(SCALERS) } : {}),
    ...(rng.chance(0.3) ? { box_format: rng.pick(BOX_FORMAT_NAMES) } : {}),
    redact_fields: undefined,
  });
  const response = utf8(hostileOutput(rng));
  const ctx: ParseContext = {
    request: bodyView(PNG, "image/png"),
    response: bodyView(response, JSON_CT),
    route: { features: undefined },
    startedAtUs: T0,
    responseChunkTimes: [],
  };
  const { analysis, parseError } = entry("analyzeExchange", () =>
    analyzeExchange(config.task, config.analysis, PARSERS, ctx),
  );
  lastParseError = parseError;
  // analyzeExchange turns a thrown error into "internal error": for a budget, that is a crash.
  if (parseError.includes("internal error")) violated(`caught a crash: ${parseError.slice(0, 300)}`);
  const json = entry("JSON.stringify(analysis)", () => JSON.stringify(analysis ?? null));
  // What is stored stays in proportion to what was received.
  if (json.length > 8 * response.byteLength + 64 * KiB) {
    violated(`${json.length} bytes of analysis from a ${response.byteLength}-byte response`);
  }
  for (const inst of analysis?.instances ?? []) {
    if ((inst.notes?.length ?? 0) > 21 || inst.notes?.some((n) => n.length > 400))
      violated("notes past their budget");
    const p = inst.prediction;
    const count =
      p?.kind === "detection" ? p.boxes.length : p?.kind === "segmentation" ? p.instances.length : 0;
    if (count > 10_000) violated(`${count} detections kept, past the 10 000 budget`);
  }
  return parseError === "" ? "understood" : "flagged";
}

// ---- 11: claimed image sizes: headers of a few bytes claiming any size, through analysis and storage

const CLAIMS: ReadonlyArray<readonly [string, (w: number, h: number) => Buffer, number]> = [
  ["png", claimedPng, 2 ** 32 - 1],
  ["jpeg", claimedJpeg, 65_535],
  ["webp", claimedWebp, 2 ** 24],
];

/** A side: mostly huge, sometimes 1 (2^31×1 costs as many columns as 46 341²), sometimes small. */
function claimedSide(rng: Rng, max: number): number {
  const r = rng.int(10);
  if (r < 2) return 1;
  if (r < 4) return rng.between(1, 2000);
  if (r < 6) return max;
  return rng.size(1, max);
}

/** A segmentation answer in the model's 64×64 input: polygons, COCO RLE, or both. */
function segmentAnswer(rng: Rng): unknown {
  // Columns 16 to 47 set, whole: one run over column boundaries.
  const square = { size: [64, 64], counts: [16 * 64, 32 * 64, 16 * 64] };
  return Array.from({ length: rng.between(1, 40) }, () => ({
    label: "blob",
    score: 0.9,
    ...(rng.chance(0.6) ? { polygon: [8, 8, 56, 8, 56, 56, 8, 56] } : {}),
    ...(rng.chance(0.5) ? { segmentation: square } : {}),
    bbox: [8, 8, 48, 48],
  }));
}

function claimedImages(rng: Rng): Verdict {
  const [format, claim, max] = rng.pick(CLAIMS);
  const [w, h] = [claimedSide(rng, max), claimedSide(rng, max)];
  const image = claim(w, h);
  const converter = rng.pick(["polygons", "coco_rle", "bitmap_mask"]);
  const config = route(rng, {
    task: "instance_segmentation",
    protocol: "torchserve",
    converter,
    ...(rng.chance(0.7) ? { input_size: "64x64", scaler: rng.pick(SCALERS) } : {}),
    // Budgets a case can spend within the slow-case limit: drawing masks costs time per pixel, and
    // the defaults (16 Mpx per mask, 256 Mpx per record) allow seconds of it per record.
    max_mask_pixels: rng.size(1, 2 ** 20),
    max_record_mask_pixels: rng.size(1, 2 ** 22),
    ...(rng.chance(0.2) ? { max_image_pixels: rng.size(1, 2 ** 31) } : {}),
    redact_fields: undefined,
  });
  const budget = config.analysis.budget;
  const response = utf8(JSON.stringify(segmentAnswer(rng)));
  const ctx: ParseContext = {
    request: bodyView(image, rng.pick(["image/png", `image/${format}`, "application/octet-stream"])),
    response: bodyView(response, JSON_CT),
    route: { features: undefined },
    startedAtUs: T0,
    responseChunkTimes: [],
  };
  const { analysis, parseError } = entry("analyzeExchange", () =>
    analyzeExchange(config.task, config.analysis, PARSERS, ctx),
  );
  lastParseError = parseError;
  if (parseError.includes("internal error")) violated(`caught a crash: ${parseError.slice(0, 300)}`);
  if (!analysis) violated("no analysis of a segmentation exchange");
  const json = entry("JSON.stringify(analysis)", () => JSON.stringify(analysis));
  const trusted = w * h <= budget.imagePixels;
  const inst = analysis.instances[0];
  if (!trusted) {
    if (!analysis.over_budget?.includes("image_pixels"))
      violated(`${w}×${h} ${format} not flagged over budget`);
    if (inst?.input.image) violated(`${w}×${h} ${format} trusted for geometry`);
  } else if (inst?.input.image?.width !== w || inst.input.image.height !== h) {
    violated(`a ${w}×${h} ${format} within budget read as ${JSON.stringify(inst?.input.image)}`);
  }
  // A flagged result is small too: a masks' RLE counts grow with columns, so they must stay bounded.
  if (json.length > 64 * KiB + 64 * response.byteLength) {
    violated(`${json.length} bytes of analysis for a ${image.byteLength}-byte image claiming ${w}×${h}`);
  }
  const record: CaptureRecord = {
    ...emptyRecord(),
    id: "0190b6a2-1c3d-7e4f-8a5b-6c7d8e9f0a1b",
    model: "fuzz",
    task: config.task,
    startedAtUs: T0,
    request: { ...emptyRecord().request, contentType: "image/png", data: image, sizeBytes: image.byteLength },
    requestIsImage: true,
    analysisJson: utf8(json),
  };
  const plan = entry("planPersist", () => planPersist(record, (k) => k));
  if (!plan.objects.some((o) => "inline" in o.source && o.source.inline === image)) {
    violated("the raw request bytes were not planned for storage");
  }
  let pixels = 0;
  let masks = 0;
  for (const o of plan.objects) {
    if (!("mask" in o.source)) continue;
    const [mh, mw] = o.source.mask.size;
    if (mh * mw > budget.maskPixels) violated(`a ${mh}×${mw} mask planned past the mask budget`);
    pixels += mh * mw;
    masks++;
  }
  if (pixels > budget.recordMaskPixels) violated(`${pixels} mask pixels planned past the record budget`);
  if (masks > budget.instances) violated(`${masks} masks planned past the instance budget`);
  const flagged = parseError !== "" || (plan.row.analysis?.over_budget?.length ?? 0) > 0;
  return flagged ? "flagged" : "understood";
}

/** A forced collection makes heap numbers comparable; without --expose-gc, V8 can still lend one. */
function forcedGc(): (() => void) | undefined {
  const own = (globalThis as { gc?: () => void }).gc;
  if (own) return own;
  try {
    v8.setFlagsFromString("--expose-gc");
    return vm.runInNewContext("gc") as () => void;
  } catch {
    return undefined;
  }
}

// ---- family 12: api bodies -----------------------------------------------------------------------

const API_NOW = new Date("2026-11-28T12:00:00Z");
const apiBackend = new LabelStudioBackend({
  url: "http://label-studio.invalid",
  token: "fuzz-token",
  webhookUrl: "http://modeltap.invalid/v1/labeling/webhook",
  webhookSecret: "fuzz-webhook-secret-0123456789",
});
const LABELS: unknown[] = [
  { kind: "classification", label: "cat" },
  { kind: "detection", boxes: [{ xyxy: [0, 0, 10, 10], label: "cat" }] },
  { kind: "regression", value: 1.5 },
  { kind: "ner", entities: [{ start: 0, end: 3, label: "PER", text: "Ada" }] },
];

/** One ground-truth item; `bad` breaks it on purpose, so it must come back rejected. */
function gtItem(rng: Rng, bad: boolean): Record<string, unknown> {
  const item: Record<string, unknown> = rng.chance(0.5)
    ? { capture_id: `0190b6a2-1c3d-7e4f-8a5b-${rng.int(1e12).toString().padStart(12, "0")}` }
    : { request_id: `req-${rng.int(1e9)}` };
  item.label = rng.pick(LABELS);
  if (rng.chance(0.3)) item.instance = rng.int(100);
  if (!bad) return item;
  switch (rng.int(7)) {
    case 0:
      item.request_id = item.capture_id ?? "x";
      item.capture_id = "y";
      break;
    case 1:
      item.instance = rng.pick([-1, 1.5, 1e12, "0", true]);
      break;
    case 2:
      item.label = rng.pick([
        null,
        7,
        "cat",
        { kind: "nope" },
        { kind: "detection", boxes: "x".repeat(rng.size(1, 100_000)) },
      ]);
      break;
    case 3:
      item.labeled_at = rng.pick(["2026-02-30T00:00:00Z", "yesterday", 0, "x".repeat(rng.size(1, 50_000))]);
      break;
    case 4:
      // A request id past its 1024 characters, or with a control character.
      delete item.capture_id;
      item.request_id = rng.chance(0.5)
        ? "r".repeat(rng.size(1025, 2 * MiB))
        : `a${String.fromCharCode(rng.int(32))}b`;
      break;
    case 5:
      item[`k${"e".repeat(rng.size(1, 10_000))}`] = 1;
      break;
    default:
      item.label = {
        kind: "detection",
        boxes: Array.from({ length: rng.size(1, 20_000) }, () => ({ xyxy: [5, 5, 1, 1], label: "x" })),
      };
  }
  return item;
}

/** A body for POST /v1/ground-truth or the webhook, and whether it is malformed by construction. */
function apiBody(rng: Rng): { text: string | Uint8Array; malformed: boolean; webhook: boolean } {
  switch (rng.int(6)) {
    case 0: {
      const depth = rng.size(1, 200_000);
      const [open, close] = rng.chance(0.5) ? ["[", "]"] : ['{"a":', "}"];
      const inner = rng.chance(0.5)
        ? "1"
        : '{"capture_id":"a","label":{"kind":"classification","label":"x"}}';
      return {
        text: open.repeat(depth) + inner + close.repeat(depth),
        malformed: true,
        webhook: rng.chance(0.3),
      };
    }
    case 1:
      return { text: JSON.stringify(gtItem(rng, false)), malformed: false, webhook: false };
    case 2: {
      const n = rng.size(1, 3000);
      const bad = Array.from({ length: n }, () => rng.chance(0.1));
      const items = bad.map((b) => gtItem(rng, b));
      return { text: JSON.stringify({ items }), malformed: n > 1000 || bad.every(Boolean), webhook: false };
    }
    case 3:
      return { text: JSON.stringify(gtItem(rng, true)), malformed: true, webhook: false };
    case 4: {
      const annotation = rng.chance(0.8)
        ? {
            id: rng.pick([1, "1", -1, 1.5]),
            updated_at: rng.pick([API_NOW.toISOString(), "x", 5]),
            result: randomJson(rng, 4),
          }
        : randomJson(rng, 4);
      const body = {
        action: rng.pick([
          "ANNOTATION_CREATED",
          "ANNOTATION_UPDATED",
          "ANNOTATIONS_DELETED",
          "PROJECT_UPDATED",
          7,
        ]),
        annotation,
        annotations: rng.chance(0.5)
          ? [{ id: 1 }, { id: "2" }]
          : Array.from({ length: rng.size(1, 50_000) }, (_, i) => ({ id: i })),
        task: {
          id: rng.pick([1, "9", null]),
          data: rng.chance(0.8)
            ? { capture_id: rng.pick(["", "c", 5]), instance: rng.pick([0, -1, "0"]) }
            : null,
        },
        project: rng.chance(0.8) ? { id: rng.pick([3, "3", {}]) } : undefined,
      };
      return { text: JSON.stringify(body), malformed: false, webhook: true };
    }
    default: {
      const base = utf8(JSON.stringify({ items: [gtItem(rng, false)] }));
      // Cut short, or bytes that are no JSON at all.
      return rng.chance(0.5)
        ? { text: base.subarray(0, rng.int(base.byteLength)), malformed: true, webhook: false }
        : { text: rng.bytes(rng.size(1, 64 * KiB)), malformed: true, webhook: rng.chance(0.5) };
    }
  }
}

function apiBodies(rng: Rng): Verdict {
  const { text, malformed, webhook } = apiBody(rng);
  const bytes = typeof text === "string" ? utf8(text) : text;
  const parsed = entry("parseJsonBody", () => parseJsonBody(bytes));
  if ("error" in parsed) {
    lastParseError = parsed.error;
    if (parsed.error.length > 200) violated(`a ${parsed.error.length}-character error for a bad body`);
    return "flagged";
  }
  if (webhook) {
    try {
      const event = apiBackend.parseWebhook(parsed.value);
      if (JSON.stringify(event).length > 2 * bytes.byteLength + 4 * KiB)
        violated("a webhook event larger than its body");
      return event.kind === "ignored" ? "flagged" : "understood";
    } catch (err) {
      if (!(err instanceof LabelingPayloadError))
        throw new Crash(`parseWebhook threw ${String(err).slice(0, 300)}`);
      if (err.message.length > 300) violated(`a ${err.message.length}-character webhook error`);
      return "flagged";
    }
  }
  const result = entry("parseGroundTruthBody", () => parseGroundTruthBody(parsed.value, API_NOW));
  // The answer goes back to the caller and into the log: small, whatever the body held.
  const answer = entry("JSON.stringify(result)", () => JSON.stringify(result));
  if (answer.length > 2 * bytes.byteLength + 64 * KiB)
    violated(`${answer.length} bytes of answer for ${bytes.byteLength}`);
  const problems = result.ok ? result.items.flatMap((i) => (i.ok ? [] : i.problems)) : [result.error];
  const long = problems.find((p) => p.length > 1000);
  if (long) violated(`a ${long.length}-character problem: ${long.slice(0, 80)}…`);
  lastParseError = problems.slice(0, 3).join("; ");
  const flagged = !result.ok || result.items.some((i) => !i.ok);
  if (malformed && !flagged) violated("a malformed ground-truth body was accepted whole");
  if (malformed) current!.mustFlag++;
  return flagged ? "flagged" : "understood";
}

const CASES = {
  malformed: 3000,
  wrongTypes: 3000,
  invalidUtf8: 3000,
  bombs: 1000,
  bigBodies: 3000,
  headers: 600,
  sse: 3000,
  kserveBinary: 3000,
  multipart: 3000,
  detections: 600,
  claimedImages: 400,
  apiBodies: 1500,
};

/** The campaign's findings, pinned so they stay fixed whatever the seed. */
describe("found by the fuzz campaign", () => {
  it("a ground-truth item with a 10 000-character key, or 20 000 bad boxes, gets a short answer", () => {
    const key = `k${"e".repeat(10_000)}`;
    const one = parseGroundTruthBody(
      { capture_id: "a", label: { kind: "classification", label: "x" }, [key]: 1 },
      API_NOW,
    );
    expect(one.ok && !one.items[0]!.ok && one.items[0]!.problems).toEqual([
      `${key.slice(0, 37)}...: unknown key (known: capture_id, request_id, instance, label, source, labeled_at, require_capture)`,
    ]);
    const boxes = Array.from({ length: 20_000 }, () => ({ xyxy: [5, 5, 1, 1], label: "x" }));
    const many = parseGroundTruthBody({ capture_id: "a", label: { kind: "detection", boxes } }, API_NOW);
    const problems = many.ok && !many.items[0]!.ok ? many.items[0]!.problems : [];
    expect(problems).toHaveLength(20);
    expect(problems[19]).toBe("... and 19981 more problems");
  });

  it("redact_fields on a body nested 10 000 deep drops the body instead of throwing", () => {
    const config = route(new Rng(1), { task: "unknown", redact_fields: ["$..password"] });
    const ex = startExchange(config, [
      { name: ":method", value: "POST" },
      { name: "content-type", value: JSON_CT },
    ]);
    ex.requestBody(utf8(`${"[".repeat(10_000)}${"]".repeat(10_000)}`), true);
    ex.responseHeaders([{ name: ":status", value: "200" }], true, T0);
    const record = finish(ex);
    expect(record.request.data.byteLength).toBe(0);
    expect(record.request.decodeError).toBe(
      "redact_fields: body is nested too deeply to be redacted; body not stored",
    );
  });

  it("kserve_v2 refuses a valueless tensor claiming a billion rows, at once", () => {
    const config = route(new Rng(1), { task: "tabular_classification", protocol: "kserve_v2" });
    const tensor = (key: string, name: string) =>
      `{"${key}":[{"name":"${name}","datatype":"FP32","shape":[1000000000,0],"data":[]}]}`;
    const t0 = performance.now();
    const { parseError } = analyzeExchange(config.task, config.analysis, PARSERS, {
      request: bodyView(tensor("inputs", "x"), JSON_CT),
      response: bodyView(tensor("outputs", "y"), JSON_CT),
      route: { features: undefined },
      startedAtUs: T0,
      responseChunkTimes: [],
    });
    expect(parseError).toMatch(
      /^kserve_v2: request: inputs\[0\]: shape \[1000000000, 0\] holds no values but/,
    );
    expect(performance.now() - t0).toBeLessThan(100);
  });
});

const gc = forcedGc();

describe(`fuzz campaign (seed ${SEED})`, () => {
  let before: NodeJS.MemoryUsage;
  let started = 0;

  beforeAll(async () => {
    await buildBombs();
    gc?.();
    before = process.memoryUsage();
    started = performance.now();
  }, 60_000);

  const family = (name: string, cases: number, run: (rng: Rng, i: number) => Verdict) =>
    it(`${name}: ${cases} cases`, () => expectClean(campaign(name, cases, run)), 60_000);

  family("1 malformed JSON and values", CASES.malformed, malformed);
  family("2 wrong content types", CASES.wrongTypes, wrongTypes);
  family("3 invalid UTF-8", CASES.invalidUtf8, invalidUtf8);
  it(`4 decompression bombs: ${CASES.bombs} cases`, () => {
    const rss = process.resourceUsage().maxRSS;
    const t = campaign("4 decompression bombs", CASES.bombs, bomb);
    const grewMiB = (process.resourceUsage().maxRSS - rss) / 1024;
    t.note = `peak RSS +${grewMiB.toFixed(1)} MiB`;
    expectClean(t);
    // Inflating even one bomb fully would take 50 MiB.
    expect(grewMiB).toBeLessThan(BOMB_SIZE / MiB);
  }, 60_000);
  family("5 big bodies", CASES.bigBodies, bigBody);
  family("6 thousands of headers", CASES.headers, manyHeaders);
  family("7 SSE garbage frames", CASES.sse, sse);
  family("8 KServe V2 binary lies", CASES.kserveBinary, kserveBinary);
  family("9 broken multipart", CASES.multipart, multipart);
  family("10 hostile detections", CASES.detections, hostileDetections);
  it(`11 claimed image sizes: ${CASES.claimedImages} cases`, () => {
    const rss = process.resourceUsage().maxRSS;
    const t = campaign("11 claimed image sizes", CASES.claimedImages, claimedImages);
    const grewMiB = (process.resourceUsage().maxRSS - rss) / 1024;
    t.note = `peak RSS +${grewMiB.toFixed(1)} MiB`;
    expectClean(t);
    // Drawing one mask at a claimed 40000×40000 would take 1.5 GiB.
    expect(grewMiB).toBeLessThan(512);
  }, 120_000);

  it(`12 api bodies: ${CASES.apiBodies} cases`, () => {
    const rss = process.resourceUsage().maxRSS;
    const t = campaign("12 api bodies", CASES.apiBodies, apiBodies);
    const grewMiB = (process.resourceUsage().maxRSS - rss) / 1024;
    t.note = `peak RSS +${grewMiB.toFixed(1)} MiB`;
    expectClean(t);
    expect(grewMiB).toBeLessThan(512);
  }, 120_000);

  it("stays within bounded memory; reports the campaign", () => {
    gc?.();
    const after = process.memoryUsage();
    const heapMiB = (after.heapUsed - before.heapUsed) / MiB;
    const externalMiB = (after.arrayBuffers - before.arrayBuffers) / MiB;
    const sum = (k: "cases" | "mustFlag" | "flagged" | "understood" | "crashes") =>
      tallies.reduce((n, t) => n + t[k], 0);
    const lines = tallies.map(
      (t) =>
        `  ${t.family.padEnd(28)} cases ${String(t.cases).padStart(5)}  must-flag ${String(t.mustFlag).padStart(5)}` +
        `  flagged ${String(t.flagged).padStart(5)}  understood ${String(t.understood).padStart(5)}` +
        `  crashes ${t.crashes}  failures ${t.failures.length}  ${(t.ms / 1000).toFixed(2)} s` +
        `  slowest ${t.slowestMs.toFixed(0)} ms  peak +${t.peakRaiseMiB.toFixed(1)} MiB/case${t.note ? `  ${t.note}` : ""}`,
    );
    console.log(
      [
        `fuzz campaign seed ${SEED} (0x${SEED.toString(16)}), forced gc: ${gc ? "yes" : "no"}`,
        ...lines,
        `  number of cases run: ${sum("cases")}; must-flag ${sum("mustFlag")}, flagged ${sum("flagged")}, ` +
          `understood ${sum("understood")}, uncaught exceptions ${sum("crashes")}`,
        `  time ${((performance.now() - started) / 1000).toFixed(2)} s; heap growth ${heapMiB.toFixed(1)} MiB, ` +
          `array buffers ${externalMiB.toFixed(1)} MiB`,
      ].join("\n"),
    );
    expect(sum("crashes")).toBe(0);
    expect(heapMiB).toBeLessThan(200);
    expect(externalMiB).toBeLessThan(200);
  });
});
