/**
 * Per-route capture settings. A user writes them on an Envoy route as
 *
 *   metadata: { filter_metadata: { modeltap: { model: iris, version: "1", task: tabular_classification, sample_rate: 0.25 } } }
 *
 * and Envoy hands them to the collector (see docs/envoy.md). Dynamic metadata in the `modeltap`
 * namespace overrides them key by key for one request. Values may arrive as strings (Envoy's YAML
 * loader turns numbers into strings inside filter metadata), so numbers are coerced.
 */
export const TASKS = [
  "tabular_classification",
  "tabular_regression",
  "image_classification",
  "object_detection",
  "instance_segmentation",
  "text_classification",
  "ner",
  "text_generation",
  "unknown",
] as const;
export type Task = (typeof TASKS)[number];

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
}

export const ROUTE_DEFAULTS = {
  version: "0",
  task: "unknown" as Task,
  sampleRate: 1,
  maxBodyBytes: 1024 * 1024,
  maxDecodedBytes: 8 * 1024 * 1024,
} as const;

/** Hard ceilings so one route's metadata cannot make the collector hold unbounded memory. */
export const ROUTE_LIMITS = { maxBodyBytes: 64 * 1024 * 1024, maxDecodedBytes: 256 * 1024 * 1024 } as const;

export type RouteConfigResult = { ok: true; config: RouteConfig } | { ok: false; problems: string[] };

const KEYS = ["model", "version", "task", "sample_rate", "max_body_bytes", "max_decoded_bytes"] as const;

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
 * Validate the `modeltap` metadata of a route, with per-request dynamic overrides applied on top.
 * Returns undefined when neither carries modeltap metadata (the route is not captured).
 */
export function compileRouteConfig(
  route: Record<string, unknown> | undefined,
  overrides?: Record<string, unknown>,
): RouteConfigResult | undefined {
  if (!route && !overrides) return undefined;
  const raw: Record<string, unknown> = { ...route, ...overrides };
  const problems: string[] = [];
  for (const key of Object.keys(raw)) {
    if (!(KEYS as readonly string[]).includes(key)) {
      problems.push(`modeltap.${key}: unknown key (known: ${KEYS.join(", ")})`);
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
  const sampleRate = raw.sample_rate === undefined ? ROUTE_DEFAULTS.sampleRate : num(raw.sample_rate);
  if (sampleRate === undefined || !(sampleRate >= 0 && sampleRate <= 1)) {
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
    }),
  };
}
