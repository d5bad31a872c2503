/**
 * Per-route capture settings. A user writes them on an Envoy route as
 *
 *   metadata: { filter_metadata: { modeltap: { model: iris, version: "1", task: tabular_classification, sample_rate: 0.25 } } }
 *
 * and Envoy hands them to the collector (see docs/envoy.md). Dynamic metadata in the `modeltap`
 * namespace overrides them key by key for one request. Values may arrive as strings (Envoy's YAML
 * loader turns numbers into strings inside filter metadata), so numbers are coerced.
 */
import { parseJsonPath, type PathStep } from "./json-path.js";
import { BOX_FORMAT_NAMES, parseBoxFormat, type BoxFormat } from "./box-format.js";
import { HUMAN_LABELED_TASKS, TASKS, type Task } from "./canonical.js";
import type { Converter, ProtocolParser, Scaler, Size } from "./plugins.js";
import { DEFAULT_GEOMETRY_BUDGET, GEOMETRY_BUDGET_LIMITS, type GeometryBudget } from "./budget.js";

export interface RouteConfig {
  readonly model: string;
  readonly version: string;
  readonly task: Task;
  /** Fraction of exchanges captured, 0..1, decided by a hash of x-request-id. */
  readonly sampleRate: number;
  /** Bytes of each body kept; the rest is counted and the record is flagged truncated. */
  readonly maxBodyBytes: number;
  /** Cap on a decompressed body; past it the raw bytes are kept and decode_error is set. */
  readonly maxDecodedBytes: number;
  /** Fraction of captured exchanges sent to the labeling tool, 0..1, decided by a salted hash of the id. */
  readonly labelRate: number;
  /** JSON fields replaced with "[REDACTED]" in both bodies before anything else sees them. */
  readonly redactFields: readonly (readonly PathStep[])[];
  readonly analysis: AnalysisConfig;
}

/** How the exchange is understood: plugin names resolved to plugins, options checked. */
export interface AnalysisConfig {
  readonly parser: ProtocolParser | "auto";
  /** undefined for task "unknown": bodies are stored, nothing is interpreted. */
  readonly converter: Converter | undefined;
  readonly scaler: Scaler | undefined;
  readonly inputSize: Size | undefined;
  readonly labels: ReadonlyMap<string, string>;
  readonly features: readonly string[] | undefined;
  readonly topK: number;
  readonly scoreThreshold: number;
  readonly maskThreshold: number;
  readonly outputNames: Readonly<Record<string, string>>;
  /** How the model writes boxes, when the route says (box_format); else the converter's convention. */
  readonly boxFormat: BoxFormat | undefined;
  /** How rows of detections are laid out, when the route says (row_layout). */
  readonly rowLayout: "box_first" | "class_first" | undefined;
  /** Pixels and instances an exchange may cost (max_image_pixels, max_mask_pixels, ...). */
  readonly budget: GeometryBudget;
  /** Bytes of analysis JSON a record carries; past it the last instances are cut (max_analysis_bytes). */
  readonly maxAnalysisBytes: number;
  /** Characters of parse_error a record carries; past it the rest is cut (max_parse_error_chars). */
  readonly maxParseErrorChars: number;
}

/** What plugins exist, by name (built in, plus user modules); see src/plugins/registry.ts. */
export interface PluginCatalog {
  readonly parsers: ReadonlyMap<string, ProtocolParser>;
  readonly converters: ReadonlyMap<string, Converter>;
  readonly scalers: ReadonlyMap<string, Scaler>;
  /** The converter a task uses when the route names none. */
  defaultConverter(task: Task): string | undefined;
}

export const ROUTE_DEFAULTS = {
  version: "0",
  task: "unknown" as Task,
  sampleRate: 1,
  maxBodyBytes: 1024 * 1024,
  maxDecodedBytes: 8 * 1024 * 1024,
} as const;

/** What an analysis may add to a record: its JSON, and the parse error (see analysis/record-caps.ts). */
export const ANALYSIS_CAP_DEFAULTS = { maxAnalysisBytes: 4 * 1024 * 1024, maxParseErrorChars: 1024 } as const;

/** Hard ceilings so one route's metadata cannot make the collector hold unbounded memory. */
export const ROUTE_LIMITS = {
  maxBodyBytes: 64 * 1024 * 1024,
  maxDecodedBytes: 256 * 1024 * 1024,
  maxAnalysisBytes: 64 * 1024 * 1024,
  maxParseErrorChars: 64 * 1024,
} as const;

export type RouteConfigResult = { ok: true; config: RouteConfig } | { ok: false; problems: string[] };

export const ROUTE_KEYS = [
  "model",
  "version",
  "task",
  "sample_rate",
  "label_rate",
  "redact_fields",
  "max_body_bytes",
  "max_decoded_bytes",
  "max_analysis_bytes",
  "max_parse_error_chars",
  "protocol",
  "converter",
  "scaler",
  "input_size",
  "labels",
  "features",
  "top_k",
  "score_threshold",
  "mask_threshold",
  "output_names",
  "box_format",
  "row_layout",
  "max_image_pixels",
  "max_mask_pixels",
  "max_record_mask_pixels",
  "max_instances",
] as const;

function num(v: unknown): number | undefined {
  if (typeof v === "number") return v;
  if (typeof v === "string" && v.trim() !== "" && !Number.isNaN(Number(v))) return Number(v);
  return undefined;
}

function nonEmptyString(v: unknown): string | undefined {
  if (typeof v === "string" && v.length > 0) return v;
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  return undefined;
}

function intInRange(
  raw: Record<string, unknown>,
  key: string,
  fallback: number,
  max: number,
  problems: string[],
): number {
  if (raw[key] === undefined) return fallback;
  const n = num(raw[key]);
  if (n === undefined || !Number.isInteger(n) || n < 1 || n > max) {
    problems.push(`modeltap.${key}: must be an integer from 1 to ${max}, got ${JSON.stringify(raw[key])}`);
    return fallback;
  }
  return n;
}

/**
 * The route's sample_rate (default 1), or undefined when it is not a number from 0 to 1. The
 * collector and `modeltap envoy gate` both read the rate through this one function.
 */
export function routeSampleRate(raw: Readonly<Record<string, unknown>>): number | undefined {
  const rate = raw.sample_rate === undefined ? ROUTE_DEFAULTS.sampleRate : num(raw.sample_rate);
  return rate !== undefined && rate >= 0 && rate <= 1 ? rate : undefined;
}

/**
 * Validate the `modeltap` metadata of a route, with per-request dynamic overrides applied on top.
 * Returns undefined when neither carries modeltap metadata (the route is not captured).
 */
export function compileRouteConfig(
  catalog: PluginCatalog,
  route: Record<string, unknown> | undefined,
  overrides?: Record<string, unknown>,
): RouteConfigResult | undefined {
  if (!route && !overrides) return undefined;
  const raw: Record<string, unknown> = { ...route, ...overrides };
  const problems: string[] = [];
  for (const key of Object.keys(raw)) {
    if (!(ROUTE_KEYS as readonly string[]).includes(key)) {
      problems.push(`modeltap.${key}: unknown key (known: ${ROUTE_KEYS.join(", ")})`);
    }
  }
  const model = nonEmptyString(raw.model);
  if (!model) problems.push("modeltap.model: required, a non-empty string");
  const version = raw.version === undefined ? ROUTE_DEFAULTS.version : nonEmptyString(raw.version);
  if (version === undefined) problems.push("modeltap.version: must be a non-empty string");
  const task = raw.task === undefined ? ROUTE_DEFAULTS.task : raw.task;
  if (!(TASKS as readonly unknown[]).includes(task)) {
    problems.push(`modeltap.task: unknown task ${JSON.stringify(task)} (known: ${TASKS.join(", ")})`);
  }
  const sampleRate = routeSampleRate(raw);
  if (sampleRate === undefined) {
    problems.push(
      `modeltap.sample_rate: must be a number from 0 to 1, got ${JSON.stringify(raw.sample_rate)}`,
    );
  }
  const maxBodyBytes = intInRange(
    raw,
    "max_body_bytes",
    ROUTE_DEFAULTS.maxBodyBytes,
    ROUTE_LIMITS.maxBodyBytes,
    problems,
  );
  const maxDecodedBytes = intInRange(
    raw,
    "max_decoded_bytes",
    ROUTE_DEFAULTS.maxDecodedBytes,
    ROUTE_LIMITS.maxDecodedBytes,
    problems,
  );
  const analysis = compileAnalysis(catalog, raw, task as Task, problems);
  const labelRate = numberIn(raw, "label_rate", 0, 0, 1, problems);
  if (labelRate > 0 && !HUMAN_LABELED_TASKS.has(task as Task)) {
    problems.push(
      `modeltap.label_rate: task ${String(task)} is not labeled in a labeling tool (only ${[...HUMAN_LABELED_TASKS].join(", ")}); send its ground truth to POST /v1/ground-truth`,
    );
  }
  if (labelRate > 0 && analysis.labels.size === 0) {
    problems.push("modeltap.labels: required when label_rate > 0 (it is the labeling tool's label set)");
  }
  const redactFields = compileRedactFields(raw.redact_fields, problems);
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    config: Object.freeze({
      model: model!,
      version: version!,
      task: task as Task,
      sampleRate: sampleRate!,
      maxBodyBytes,
      maxDecodedBytes,
      labelRate,
      redactFields,
      analysis,
    }),
  };
}

function pick<T>(
  kind: string,
  table: ReadonlyMap<string, T>,
  name: unknown,
  problems: string[],
): T | undefined {
  if (typeof name === "string" && table.has(name)) return table.get(name);
  problems.push(
    `modeltap.${kind}: unknown ${kind} ${JSON.stringify(name)} (known: ${[...table.keys()].join(", ")})`,
  );
  return undefined;
}

function numberIn(
  raw: Record<string, unknown>,
  key: string,
  fallback: number,
  min: number,
  max: number,
  problems: string[],
) {
  if (raw[key] === undefined) return fallback;
  const n = num(raw[key]);
  if (n === undefined || n < min || n > max) {
    problems.push(`modeltap.${key}: must be a number from ${min} to ${max}, got ${JSON.stringify(raw[key])}`);
    return fallback;
  }
  return n;
}

/** "640x480", [640, 480] or ["640", "480"] (Envoy turns numbers in metadata into strings). */
function size(v: unknown, problems: string[]): Size | undefined {
  if (v === undefined) return undefined;
  const parts = typeof v === "string" ? v.toLowerCase().split("x") : Array.isArray(v) ? v : [];
  const [w, h] = parts.map(num);
  if (parts.length !== 2 || !w || !h || !Number.isInteger(w) || !Number.isInteger(h) || w < 1 || h < 1) {
    problems.push(`modeltap.input_size: must be "WxH" or [W, H] in pixels, got ${JSON.stringify(v)}`);
    return undefined;
  }
  return { width: w, height: h };
}

function compileRedactFields(v: unknown, problems: string[]): PathStep[][] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((p) => typeof p !== "string")) {
    problems.push(
      'modeltap.redact_fields: must be a list of JSON paths such as ["$.user.email", "$..password"]',
    );
    return [];
  }
  const out: PathStep[][] = [];
  for (const p of v as string[]) {
    try {
      out.push(parseJsonPath(p));
    } catch (err) {
      problems.push(`modeltap.redact_fields: ${(err as Error).message}`);
    }
  }
  return out;
}

/** box_format, or the older output_names.box_format (the same values); both must then agree. */
function boxFormat(v: unknown, legacy: string | undefined, problems: string[]): BoxFormat | undefined {
  if (v !== undefined && legacy !== undefined && String(v) !== legacy) {
    problems.push(
      `modeltap.box_format: ${JSON.stringify(v)} disagrees with output_names.box_format ${JSON.stringify(legacy)}; keep box_format`,
    );
    return undefined;
  }
  const given = v ?? legacy;
  if (given === undefined) return undefined;
  const format = typeof given === "string" ? parseBoxFormat(given) : undefined;
  if (!format) {
    problems.push(
      `modeltap.box_format: unknown box format ${JSON.stringify(given)} (known: ${BOX_FORMAT_NAMES.join(", ")})`,
    );
  }
  return format;
}

const ROW_LAYOUTS = ["box_first", "class_first"] as const;

/** box_first: [a, b, c, d, score, class]; class_first: [class, a, b, c, d, score] (YOLO's). */
function rowLayout(v: unknown, problems: string[]): (typeof ROW_LAYOUTS)[number] | undefined {
  if (v === undefined) return undefined;
  if ((ROW_LAYOUTS as readonly unknown[]).includes(v)) return v as (typeof ROW_LAYOUTS)[number];
  problems.push(`modeltap.row_layout: must be one of ${ROW_LAYOUTS.join(", ")}, got ${JSON.stringify(v)}`);
  return undefined;
}

/** The distinct label names of a route, in order: the labeling tool's label set. */
export function labelSet(config: RouteConfig): string[] {
  return [...new Set(config.analysis.labels.values())];
}

/** A list (index → name) or a map (id → name). */
function labelMap(v: unknown, problems: string[]): Map<string, string> {
  const out = new Map<string, string>();
  if (v === undefined) return out;
  if (Array.isArray(v)) v.forEach((name, i) => out.set(String(i), String(name)));
  else if (v && typeof v === "object") for (const [k, name] of Object.entries(v)) out.set(k, String(name));
  else problems.push(`modeltap.labels: must be a list of names or a map of id to name`);
  return out;
}

function compileAnalysis(
  catalog: PluginCatalog,
  raw: Record<string, unknown>,
  task: Task,
  problems: string[],
): AnalysisConfig {
  const parser =
    raw.protocol === undefined || raw.protocol === "auto"
      ? "auto"
      : pick("protocol", catalog.parsers, raw.protocol, problems);
  const converterName = raw.converter ?? catalog.defaultConverter(task);
  let converter: Converter | undefined;
  if (converterName !== undefined) {
    converter = pick("converter", catalog.converters, converterName, problems);
    if (converter && !converter.tasks.includes(task)) {
      problems.push(
        `modeltap.converter: ${converter.name} does not convert task ${task} (it converts ${converter.tasks.join(", ")})`,
      );
    }
  }
  const inputSize = size(raw.input_size, problems);
  let scaler: Scaler | undefined;
  if (raw.scaler !== undefined && raw.scaler !== "none") {
    scaler = pick("scaler", catalog.scalers, raw.scaler, problems);
    if (!inputSize) problems.push("modeltap.scaler: needs modeltap.input_size, the model's input resolution");
  }
  const features =
    raw.features === undefined
      ? undefined
      : Array.isArray(raw.features)
        ? raw.features.map(String)
        : undefined;
  if (raw.features !== undefined && !features)
    problems.push("modeltap.features: must be a list of feature names");
  const outputNames: Record<string, string> = {};
  if (raw.output_names !== undefined) {
    if (raw.output_names && typeof raw.output_names === "object" && !Array.isArray(raw.output_names)) {
      for (const [k, v] of Object.entries(raw.output_names)) outputNames[k] = String(v);
    } else problems.push("modeltap.output_names: must be a map such as {boxes: detection_boxes}");
  }
  return Object.freeze({
    boxFormat: boxFormat(raw.box_format, outputNames.box_format, problems),
    rowLayout: rowLayout(raw.row_layout, problems),
    parser: parser ?? "auto",
    converter,
    scaler,
    inputSize,
    labels: labelMap(raw.labels, problems),
    features,
    topK: numberIn(raw, "top_k", 5, 1, 1000, problems),
    scoreThreshold: numberIn(raw, "score_threshold", 0, 0, 1, problems),
    maskThreshold: numberIn(raw, "mask_threshold", 0.5, 0, 1, problems),
    outputNames,
    budget: geometryBudget(raw, problems),
    maxAnalysisBytes: intInRange(
      raw,
      "max_analysis_bytes",
      ANALYSIS_CAP_DEFAULTS.maxAnalysisBytes,
      ROUTE_LIMITS.maxAnalysisBytes,
      problems,
    ),
    maxParseErrorChars: intInRange(
      raw,
      "max_parse_error_chars",
      ANALYSIS_CAP_DEFAULTS.maxParseErrorChars,
      ROUTE_LIMITS.maxParseErrorChars,
      problems,
    ),
  });
}

function geometryBudget(raw: Record<string, unknown>, problems: string[]): GeometryBudget {
  const d = DEFAULT_GEOMETRY_BUDGET;
  const l = GEOMETRY_BUDGET_LIMITS;
  return Object.freeze({
    imagePixels: intInRange(raw, "max_image_pixels", d.imagePixels, l.imagePixels, problems),
    maskPixels: intInRange(raw, "max_mask_pixels", d.maskPixels, l.maskPixels, problems),
    recordMaskPixels: intInRange(
      raw,
      "max_record_mask_pixels",
      d.recordMaskPixels,
      l.recordMaskPixels,
      problems,
    ),
    instances: intInRange(raw, "max_instances", d.instances, l.instances, problems),
  });
}
