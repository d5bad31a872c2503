/**
 * Runtime configuration: environment variables, parsed once, validated strictly (every problem
 * reported at once; unknown MODELTAP_* variables are errors), then frozen. SETTINGS is the single
 * table docs/config.md and every command's --help are checked against. The local stack's own
 * settings (its ports and state directory) are not here: they belong to the development tools
 * (tools/stack/settings.ts).
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError } from "./core/errors.js";
import { hostProblem } from "./listen-address.js";
import { DEFAULT_SECRET_HEADERS } from "./core/capture/redact-headers.js";
import { MAX_RETENTION_DAYS, parseRetentionModels, type RetentionPolicy } from "./core/retention.js";
import {
  MIN_SECRET_CHARS,
  parseMetricsBind,
  parseNamedSecrets,
  sharedSecretProblems,
  type MetricsBind,
  type NamedSecret,
} from "./config-secrets.js";
import { DEFAULT_SECRET_QUERY_PARAMS } from "./core/capture/redact-query.js";
import { parseSamplingSeed } from "./core/sampler.js";
import { DEFAULT_REFUSAL_PATTERNS, parseWindow, windowName } from "./core/monitor-settings.js";

export type SettingKind = "port" | "int" | "string" | "list" | "level";

export interface Setting {
  env: string;
  kind: SettingKind;
  default: string;
  doc: string;
  /** The commands that read it (shown in their --help): a command, or a subcommand ("captures body"). */
  readBy: readonly string[];
}

/**
 * Root of the package (holds package.json, proto/, envoy/): the nearest directory above this file
 * with modeltap's package.json, wherever the file was compiled to (dist/, or the tools' build).
 */
export const PACKAGE_ROOT = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, "package.json");
    if (fs.existsSync(manifest) && /"name":\s*"modeltap"/.test(fs.readFileSync(manifest, "utf8"))) return dir;
    if (dir === path.dirname(dir)) return path.resolve(from, "..");
  }
}

/** Renamed settings: the old name still works, with a warning at start. */
export const DEPRECATED_SETTINGS = {
  MODELTAP_INLINE_MAX_BYTES: "MODELTAP_NATS_INLINE_MAX_BYTES",
  MODELTAP_BODY_INLINE_MAX_BYTES: "MODELTAP_ROW_INLINE_MAX_BYTES",
} as const satisfies Record<string, SettingName>;

/**
 * Removed settings: refused with what replaces them (never derived: a secret that was readable in
 * the labeling tool must not become the API's or the media key).
 */
export const REMOVED_SETTINGS: Readonly<Record<string, string>> = {
  MODELTAP_API_SECRET:
    "removed: it was the API's token, the webhook's secret and the media key at once, and Label Studio showed it to every member of the organisation. Set three new secrets instead: MODELTAP_API_TOKENS=<name>:<token> for POST/GET /v1/ground-truth, MODELTAP_WEBHOOK_SECRET for Label Studio's webhook, MODELTAP_MEDIA_KEYS=<kid>:<key> to sign image URLs; then unset it (docs/ground-truth.md#secrets)",
};

const SERVERS = ["collector", "worker", "api", "monitor"] as const;
/** Read by every long-running process (the development tools' demo server too). */
const PROCESSES = [...SERVERS, "demo-server"] as const;
const STORES = ["worker", "api"] as const;
/** Read objects back too: `captures body`. */
/** Delete objects: `captures delete` and `retention`. */
const BLOB_ERASERS = ["captures delete", "retention"] as const;
/** Read the monitoring tables: the monitor and the commands that show or make its results. */
const MONITOR_READERS = ["monitor", "baseline", "drift", "quality", "report"] as const;
const BLOB_READERS = [...STORES, "captures body", ...BLOB_ERASERS] as const;

export const SETTINGS = [
  {
    env: "MODELTAP_LISTEN_HOST",
    kind: "string",
    default: "127.0.0.1",
    doc: "Default bind address of every listener without a host of its own (below); a loopback address unless set",
    readBy: PROCESSES,
  },
  { env: "MODELTAP_LOG_LEVEL", kind: "level", default: "info", doc: "pino log level", readBy: PROCESSES },
  {
    env: "MODELTAP_COLLECTOR_PORT",
    kind: "port",
    default: "50051",
    doc: "Collector ext_proc gRPC",
    readBy: ["collector"],
  },
  {
    env: "MODELTAP_COLLECTOR_HOST",
    kind: "string",
    default: "${MODELTAP_LISTEN_HOST}",
    doc: "Address the collector's ext_proc gRPC server binds to; one other than loopback needs TLS (MODELTAP_COLLECTOR_TLS_CERT) or MODELTAP_COLLECTOR_INSECURE=1",
    readBy: ["collector"],
  },
  {
    env: "MODELTAP_COLLECTOR_INSECURE",
    kind: "string",
    default: "0",
    doc: "1: let the collector serve plaintext gRPC on an address other than loopback (only where the network itself is trusted)",
    readBy: ["collector"],
  },
  {
    env: "MODELTAP_COLLECTOR_TLS_CERT",
    kind: "string",
    default: "",
    doc: "PEM certificate chain of the collector's gRPC server; with MODELTAP_COLLECTOR_TLS_KEY it serves TLS instead of plaintext",
    readBy: ["collector"],
  },
  {
    env: "MODELTAP_COLLECTOR_TLS_KEY",
    kind: "string",
    default: "",
    doc: "PEM private key for MODELTAP_COLLECTOR_TLS_CERT",
    readBy: ["collector"],
  },
  {
    env: "MODELTAP_COLLECTOR_TLS_CLIENT_CA",
    kind: "string",
    default: "",
    doc: "PEM CA bundle; when set, the collector requires a client certificate signed by it (mTLS with Envoy)",
    readBy: ["collector"],
  },
  {
    env: "MODELTAP_COLLECTOR_METRICS_PORT",
    kind: "port",
    default: "9464",
    doc: "Collector /metrics, /healthz, /readyz",
    readBy: ["collector"],
  },
  {
    env: "MODELTAP_COLLECTOR_METRICS_HOST",
    kind: "string",
    default: "${MODELTAP_LISTEN_HOST}",
    doc: "Address the collector's /metrics, /healthz, /readyz bind to",
    readBy: ["collector"],
  },
  {
    env: "MODELTAP_WORKER_METRICS_PORT",
    kind: "port",
    default: "9465",
    doc: "Worker /metrics, /healthz, /readyz (0: off)",
    readBy: ["worker"],
  },
  {
    env: "MODELTAP_WORKER_METRICS_HOST",
    kind: "string",
    default: "${MODELTAP_LISTEN_HOST}",
    doc: "Address the worker's /metrics, /healthz, /readyz bind to",
    readBy: ["worker"],
  },
  {
    env: "MODELTAP_MONITOR_METRICS_PORT",
    kind: "port",
    default: "9467",
    doc: "`modeltap monitor`: /metrics (drift, quality and monitor health, read from the results so every replica reports the same), /healthz, /readyz (0: off)",
    readBy: ["monitor"],
  },
  {
    env: "MODELTAP_MONITOR_METRICS_HOST",
    kind: "string",
    default: "${MODELTAP_LISTEN_HOST}",
    doc: "Address the monitor's /metrics, /healthz, /readyz bind to",
    readBy: ["monitor"],
  },
  {
    env: "MODELTAP_MONITOR_WINDOWS",
    kind: "list",
    default: "5m,1h,1d",
    doc: "Windows the monitor evaluates, comma-separated: whole minutes, hours or days (1m to 31d), tumbling and aligned to the epoch",
    readBy: ["monitor"],
  },
  {
    env: "MODELTAP_MONITOR_GRACE_SECONDS",
    kind: "int",
    default: "10",
    doc: "Seconds after a minute ends before the monitor folds it (captures still on their way to the worker); a later capture re-folds it and the window gets a new revision",
    readBy: ["monitor"],
  },
  {
    env: "MODELTAP_MONITOR_INTERVAL_MS",
    kind: "int",
    default: "5000",
    doc: "How often the monitor folds partial profiles, reads new labels and evaluates closed windows",
    readBy: ["monitor"],
  },
  {
    env: "MODELTAP_MONITOR_ROLLUP_HOURS",
    kind: "int",
    default: "48",
    doc: "Minute buckets older than this many hours are rolled up into hour buckets (windows shorter than an hour are not evaluated again over them; 0: never)",
    readBy: ["monitor"],
  },
  {
    env: "MODELTAP_MONITOR_RETENTION_DAYS",
    kind: "int",
    default: "400",
    doc: "Days the monitor keeps its buckets, quality and results (whole UTC days; swept about hourly; 0: forever). Apart from MODELTAP_RETENTION_DAYS: aggregates outlive the captures they came from unless this is set as short",
    readBy: ["monitor"],
  },
  {
    env: "MODELTAP_MONITOR_MAX_SERIES",
    kind: "int",
    default: "2000",
    doc: "Prometheus series the monitor exports per model at most; fields past it are left out (drifted fields first kept) and counted in modeltap_monitor_series_dropped",
    readBy: ["monitor"],
  },
  {
    env: "MODELTAP_MONITOR_REFUSAL_PATTERNS",
    kind: "list",
    default: "",
    doc: "LLM refusal patterns (case-insensitive regular expressions, comma-separated) for llm.refusal; empty: the built-in list in docs/monitoring.md",
    readBy: ["worker", "monitor", "baseline"],
  },
  {
    env: "MODELTAP_API_PORT",
    kind: "port",
    default: "8090",
    doc: "`modeltap api`: ground-truth API, labeling webhook, media for the labeling tool, /metrics",
    readBy: ["api"],
  },
  {
    env: "MODELTAP_API_HOST",
    kind: "string",
    default: "${MODELTAP_LISTEN_HOST}",
    doc: "Address `modeltap api` binds to",
    readBy: ["api"],
  },
  {
    env: "MODELTAP_DATABASE",
    kind: "string",
    default: "postgres",
    doc: "Database plugin for captures, ground truth and the label-export queue: postgres",
    readBy: [...STORES, "captures", "retention"],
  },
  {
    env: "MODELTAP_OBJECT_STORE",
    kind: "string",
    default: "s3",
    doc: "Object storage plugin for bodies and masks: s3, or fs (a local directory, MODELTAP_FS_ROOT)",
    readBy: BLOB_READERS,
  },
  {
    env: "MODELTAP_FS_ROOT",
    kind: "string",
    default: "",
    doc: "Root directory of the fs object store (required with MODELTAP_OBJECT_STORE=fs)",
    readBy: BLOB_READERS,
  },
  {
    env: "MODELTAP_LABELING",
    kind: "string",
    default: "none",
    doc: "Labeling plugin: none, or label_studio (the local stack sets label_studio)",
    readBy: ["api"],
  },
  {
    env: "MODELTAP_LABEL_STUDIO_URL",
    kind: "string",
    default: "http://127.0.0.1:8080",
    doc: "Label Studio base URL",
    readBy: ["api"],
  },
  {
    env: "MODELTAP_LABEL_STUDIO_TOKEN",
    kind: "string",
    default: "",
    doc: "Label Studio API token: a legacy token or a personal access token (required with label_studio)",
    readBy: ["api"],
  },
  {
    env: "MODELTAP_API_TOKENS",
    kind: "list",
    default: "",
    doc: "Tokens of the ground-truth API (Authorization: Bearer), as name:token pairs, comma-separated, each token 16+ chars; the name is logged with every write, never the token; `modeltap api` refuses to start without one",
    readBy: ["api"],
  },
  {
    env: "MODELTAP_WEBHOOK_SECRET",
    kind: "string",
    default: "",
    doc: "The labeling webhook's secret (Authorization: Bearer), 16+ chars, the only secret placed in the labeling tool; required with MODELTAP_LABELING=label_studio",
    readBy: ["api"],
  },
  {
    env: "MODELTAP_MEDIA_KEYS",
    kind: "list",
    default: "",
    doc: "Keys that sign the media URLs handed to the labeling tool, as kid:secret pairs, comma-separated, each secret 16+ chars: the first signs, all verify (rotation); required with MODELTAP_LABELING=label_studio",
    readBy: ["api"],
  },
  {
    env: "MODELTAP_MEDIA_URL_TTL_SECONDS",
    kind: "int",
    default: String(7 * 24 * 3600),
    doc: "How long a signed media URL opens its image (60 s to 365 days); past it 410",
    readBy: ["api"],
  },
  {
    env: "MODELTAP_API_METRICS",
    kind: "string",
    default: "same",
    doc: "Where `modeltap api` serves /metrics: same (its own port), off, or <host>:<port> (a listener of its own)",
    readBy: ["api"],
  },
  {
    env: "MODELTAP_PUBLIC_URL",
    kind: "string",
    default: "http://127.0.0.1:${MODELTAP_API_PORT}",
    doc: "Base URL at which the labeling tool (and labelers' browsers) reach `modeltap api`",
    readBy: ["api"],
  },
  {
    env: "MODELTAP_API_MAX_BODY_BYTES",
    kind: "int",
    default: String(16 * 1024 * 1024),
    doc: "`modeltap api`: largest request body accepted (ground-truth batches, webhook payloads); past it 413",
    readBy: ["api"],
  },
  {
    env: "MODELTAP_LABEL_EXPORT_BATCH",
    kind: "int",
    default: "100",
    doc: "Captures per labeling-tool import call",
    readBy: ["api"],
  },
  {
    env: "MODELTAP_LABEL_SYNC_INTERVAL_S",
    kind: "int",
    default: "300",
    doc: "How often `modeltap api` re-reads the labeling tool's annotations to catch webhooks that never arrived (also at start; 0: never)",
    readBy: ["api"],
  },
  {
    env: "MODELTAP_LABEL_EXPORT_INTERVAL_MS",
    kind: "int",
    default: "1000",
    doc: "Pause of the label exporter when its queue is empty",
    readBy: ["api"],
  },
  {
    env: "MODELTAP_NATS_URL",
    kind: "string",
    default: "nats://127.0.0.1:4222",
    doc: "NATS server URL(s), comma-separated",
    readBy: ["collector", "worker"],
  },
  {
    env: "MODELTAP_DATABASE_URL",
    kind: "string",
    default: "postgres://modeltap@127.0.0.1:5432/modeltap",
    doc: "Postgres connection URL",
    readBy: [...STORES, "migrate", "captures", "retention", ...MONITOR_READERS],
  },
  {
    env: "MODELTAP_S3_ENDPOINT",
    kind: "string",
    default: "http://127.0.0.1:8333",
    doc: "S3 endpoint URL (empty: AWS default); credentials come from the AWS SDK's usual sources (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...)",
    readBy: BLOB_READERS,
  },
  {
    env: "MODELTAP_S3_BUCKET",
    kind: "string",
    default: "modeltap",
    doc: "Bucket for bodies",
    readBy: BLOB_READERS,
  },
  { env: "MODELTAP_S3_REGION", kind: "string", default: "us-east-1", doc: "S3 region", readBy: BLOB_READERS },
  {
    env: "MODELTAP_PLUGINS",
    kind: "list",
    default: "",
    doc: "User plugin modules (parsers, converters, scalers), comma-separated paths; see docs/plugins.md",
    readBy: ["collector", "api", "captures body"],
  },
  {
    env: "MODELTAP_EXTRA_SECRET_HEADERS",
    kind: "list",
    default: "",
    doc: "More headers to redact, comma-separated; always in addition to the built-in list",
    readBy: ["collector"],
  },
  {
    env: "MODELTAP_REDACT_QUERY_PARAMS",
    kind: "list",
    default: DEFAULT_SECRET_QUERY_PARAMS.join(","),
    doc: "Query parameters whose values are replaced with [REDACTED] in the captured path (and Referer, x-envoy-original-path), comma-separated, any case; setting it replaces the default list",
    readBy: ["collector"],
  },
  {
    env: "MODELTAP_SAMPLING_SEED",
    kind: "string",
    default: "",
    doc: "Secret seed of the sampling hash (XXH64 of x-request-id), a 64-bit integer in decimal or 0x hex, the same on every collector of a deployment and in Envoy's sampling gate (`modeltap envoy gate` writes it there); unset, the seed is 0 and clients can pick ids that force or avoid capture (warned at start). The local stack generates one",
    readBy: ["collector", "envoy"],
  },
  {
    env: "MODELTAP_BUFFER_MAX_RECORDS",
    kind: "int",
    default: "50000",
    doc: "Collector publish buffer, records; past it captures are dropped and counted",
    readBy: ["collector"],
  },
  {
    env: "MODELTAP_BUFFER_MAX_BYTES",
    kind: "int",
    default: String(256 * 1024 * 1024),
    doc: "Collector publish buffer, bytes",
    readBy: ["collector"],
  },
  {
    env: "MODELTAP_PUBLISH_WINDOW",
    kind: "int",
    default: "1024",
    doc: "Capture records the collector has in flight to JetStream at once, each awaiting its ack. Acks slow down on a busy box; a window this wide keeps publishing in step with capture (with 64, a saturated 2-core box published a third of what it captured and the buffer grew without bound)",
    readBy: ["collector"],
  },
  {
    env: "MODELTAP_COLLECTOR_HTTP2_WINDOW",
    kind: "int",
    default: String(4 * 1024 * 1024),
    doc: "Bytes Envoy may send the collector ahead of it, per ext_proc stream and per connection (HTTP/2 flow-control window; Node's default is 64 KiB). With 64 KiB shared by hundreds of streams, a loaded Envoy queued captures for the collector until deferred_close_timeout lost some",
    readBy: ["collector"],
  },
  {
    env: "MODELTAP_PUBLISH_MAX_ATTEMPTS",
    kind: "int",
    default: "5",
    doc: "Attempts the collector gives one capture record JetStream refuses while it takes others (retried behind them, with backoff); then the record is dropped and counted. NATS being down costs no attempts",
    readBy: ["collector"],
  },
  {
    env: "MODELTAP_NATS_INLINE_MAX_BYTES",
    kind: "int",
    default: String(256 * 1024),
    doc: "Bodies up to this size travel inside the JetStream message, and input images while together they fit; larger ones are parked in the JetStream object store (formerly MODELTAP_INLINE_MAX_BYTES)",
    readBy: ["collector", "worker"],
  },
  {
    env: "MODELTAP_WORKER_BATCH",
    kind: "int",
    default: "128",
    doc: "Worker fetch batch size",
    readBy: ["worker"],
  },
  {
    env: "MODELTAP_WORKER_PARALLEL",
    kind: "int",
    default: "4",
    doc: "Batches one worker persists at once",
    readBy: ["worker"],
  },
  {
    env: "MODELTAP_ROW_INLINE_MAX_BYTES",
    kind: "int",
    default: "8192",
    doc: "Bodies up to this size that are not images are stored in the database row, not as objects (0: every body is an object; formerly MODELTAP_BODY_INLINE_MAX_BYTES)",
    readBy: ["worker"],
  },
  {
    env: "MODELTAP_WORKER_MAX_DELIVER",
    kind: "int",
    default: "5",
    doc: "Deliveries before a failing message goes to the dead-letter subject",
    readBy: ["worker"],
  },
  {
    env: "MODELTAP_WORKER_CONCURRENCY",
    kind: "int",
    default: "16",
    doc: "Concurrent S3 puts per worker",
    readBy: ["worker"],
  },
  {
    env: "MODELTAP_RETENTION_DAYS",
    kind: "int",
    default: "90",
    doc: "`modeltap retention run`: days a capture is kept (by received_at) for every model without an override; 0: forever (docs/retention.md)",
    readBy: ["retention"],
  },
  {
    env: "MODELTAP_RETENTION_MODELS",
    kind: "list",
    default: "",
    doc: "Per-model retention overriding MODELTAP_RETENTION_DAYS, as model=days pairs, comma-separated (`iris=30,bert=7`; 0: forever)",
    readBy: ["retention"],
  },
] as const satisfies readonly Setting[];

export type SettingName = (typeof SETTINGS)[number]["env"];

export interface Config {
  readonly logLevel: string;
  readonly listenHost: string;
  /** Bind address per listener (each defaults to listenHost); checked by hostProblem. */
  readonly hosts: {
    readonly collector: string;
    readonly collectorMetrics: string;
    readonly workerMetrics: string;
    readonly monitorMetrics: string;
    readonly api: string;
  };
  /** MODELTAP_COLLECTOR_INSECURE=1: plaintext gRPC off loopback allowed (collectorBindProblem). */
  readonly collectorInsecure: boolean;
  readonly ports: {
    readonly collector: number;
    readonly collectorMetrics: number;
    readonly workerMetrics: number;
    readonly monitorMetrics: number;
    readonly api: number;
  };
  readonly natsUrl: string;
  /** The collector's HTTP/2 receive window, bytes (MODELTAP_COLLECTOR_HTTP2_WINDOW). */
  readonly collectorHttp2Window: number;
  readonly databaseUrl: string;
  readonly s3: { readonly endpoint: string; readonly bucket: string; readonly region: string };
  readonly secretHeaders: ReadonlySet<string>;
  /** Query parameter names (lower-case) redacted from captured paths. */
  readonly secretQueryParams: ReadonlySet<string>;
  /** MODELTAP_SAMPLING_SEED (0 when unset). */
  readonly samplingSeed: bigint;
  readonly plugins: readonly string[];
  readonly buffer: {
    readonly maxRecords: number;
    readonly maxBytes: number;
    readonly maxAttempts: number;
    /** Publishes awaiting their ack at once (MODELTAP_PUBLISH_WINDOW). */
    readonly window: number;
  };
  /** Bodies up to this size travel inside the JetStream message (MODELTAP_NATS_INLINE_MAX_BYTES). */
  readonly natsInlineMaxBytes: number;
  readonly worker: {
    readonly batch: number;
    readonly parallel: number;
    readonly maxDeliver: number;
    readonly concurrency: number;
    /** Small non-image bodies live in the database row (MODELTAP_ROW_INLINE_MAX_BYTES). */
    readonly rowInlineMaxBytes: number;
  };
  readonly database: (typeof DATABASES)[number];
  readonly objectStore: (typeof OBJECT_STORES)[number];
  readonly fsRoot: string;
  readonly labeling: (typeof LABELING)[number];
  readonly labelStudio: { readonly url: string; readonly token: string };
  /** Ground-truth API tokens, by name (the name is logged for audit, never the token). */
  readonly apiTokens: readonly NamedSecret[];
  /** The labeling webhook's Bearer secret: the only secret the labeling tool holds. */
  readonly webhookSecret: string;
  /** Media-signing keys by key id: the first signs, every one verifies. */
  readonly mediaKeys: readonly NamedSecret[];
  readonly mediaUrlTtlSeconds: number;
  readonly apiMetrics: MetricsBind;
  readonly publicUrl: string;
  readonly apiMaxBodyBytes: number;
  readonly labelExport: { readonly batch: number; readonly intervalMs: number };
  readonly labelSyncIntervalS: number;
  /** Paths; all empty: plaintext gRPC. */
  readonly collectorTls: { readonly cert: string; readonly key: string; readonly clientCa: string };
  /** What the operator should change (a deprecated setting name in use); logged at start. */
  readonly warnings: readonly string[];
  readonly monitor: {
    readonly windowsMs: readonly number[];
    readonly graceMs: number;
    readonly intervalMs: number;
    readonly rollupHours: number;
    readonly retentionDays: number;
    readonly maxSeries: number;
    readonly refusalPatterns: readonly RegExp[];
  };
  /** Days captures are kept, by default and per model (MODELTAP_RETENTION_DAYS, _MODELS); 0: forever. */
  readonly retention: RetentionPolicy;
}

/** Plugin names per kind; each adapter registry is typed by these, so the two cannot drift. */
export const DATABASES = ["postgres"] as const;
export const OBJECT_STORES = ["s3", "fs"] as const;
export const LABELING = ["none", "label_studio"] as const;

function choice<T extends string>(
  name: SettingName,
  value: string,
  known: readonly T[],
  problems: string[],
): T {
  if ((known as readonly string[]).includes(value)) return value as T;
  problems.push(`${name}: unknown plugin ${JSON.stringify(value)} (known: ${known.join(", ")})`);
  return known[0]!;
}

const LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/** Each setting's value: given, or its default with `${OTHER}` filled in from earlier settings. */
export function settingValues(table: readonly Setting[], env: NodeJS.ProcessEnv): Record<string, string> {
  const raw: Record<string, string> = {};
  for (const s of table) {
    const given = env[s.env];
    raw[s.env] =
      given !== undefined ? given : s.default.replace(/\$\{(\w+)\}/g, (_, n: string) => raw[n] ?? "");
  }
  return raw;
}

/** An integer setting within [min, max]; a problem (and min) otherwise. */
export function intSetting(
  raw: Record<string, string>,
  name: string,
  min: number,
  max: number,
  problems: string[],
): number {
  const v = raw[name] ?? "";
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < min || n > max) {
    problems.push(`${name}: must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
    return min;
  }
  return n;
}

/**
 * Old names of renamed settings: taken (with a warning) unless the new name is given as well. And
 * MODELTAP_HOME, now the local stack's alone: the product read it only for the fs store's default
 * root, which it still derives from it (with a warning) until MODELTAP_FS_ROOT is set.
 */
function samplingSeed(text: string, problems: string[]): bigint {
  if (text.trim() === "") return 0n;
  const seed = parseSamplingSeed(text);
  if (seed === undefined)
    problems.push("MODELTAP_SAMPLING_SEED: must be a 64-bit unsigned integer (decimal or 0x hex)");
  return seed ?? 0n;
}

function monitorWindows(text: string, problems: string[]): number[] {
  const out: number[] = [];
  for (const w of text
    .split(",")
    .map((x) => x.trim())
    .filter(Boolean)) {
    const ms = parseWindow(w);
    if (ms === undefined)
      problems.push(
        `MODELTAP_MONITOR_WINDOWS: ${JSON.stringify(w)} is not a window (whole minutes, hours or days from 1m to 31d: 5m, 1h, 1d)`,
      );
    else if (!out.includes(ms)) out.push(ms);
  }
  if (out.length === 0 && problems.every((p) => !p.startsWith("MODELTAP_MONITOR_WINDOWS")))
    problems.push("MODELTAP_MONITOR_WINDOWS: give at least one window");
  return out.sort((a, b) => a - b);
}

function refusalPatterns(text: string, problems: string[]): RegExp[] {
  const sources =
    text.trim() === ""
      ? DEFAULT_REFUSAL_PATTERNS
      : text
          .split(",")
          .map((p) => p.trim())
          .filter(Boolean);
  const out: RegExp[] = [];
  for (const p of sources) {
    if (p.length > 200) {
      problems.push("MODELTAP_MONITOR_REFUSAL_PATTERNS: a pattern is over 200 characters");
      continue;
    }
    try {
      out.push(new RegExp(p, "i"));
    } catch {
      problems.push(`MODELTAP_MONITOR_REFUSAL_PATTERNS: ${JSON.stringify(p)} is not a regular expression`);
    }
  }
  return out;
}

function applyDeprecatedNames(env: NodeJS.ProcessEnv, problems: string[], warnings: string[]) {
  const out = { ...env };
  const home = env.MODELTAP_HOME;
  if (home !== undefined) {
    delete out.MODELTAP_HOME;
    if (env.MODELTAP_FS_ROOT === undefined && env.MODELTAP_OBJECT_STORE === "fs") {
      out.MODELTAP_FS_ROOT = path.join(home, "objects");
      warnings.push(
        `MODELTAP_HOME is a local-stack setting now; set MODELTAP_FS_ROOT=${out.MODELTAP_FS_ROOT} instead`,
      );
    } else warnings.push("MODELTAP_HOME is a local-stack setting now; product commands ignore it");
  }
  for (const [old, current] of Object.entries(DEPRECATED_SETTINGS)) {
    if (env[old] === undefined) continue;
    delete out[old];
    if (env[current] !== undefined) {
      problems.push(`${old}: deprecated name of ${current}, and both are set; keep only ${current}`);
      continue;
    }
    out[current] = env[old];
    warnings.push(`${old} is deprecated; rename it to ${current}`);
  }
  return out;
}

export function loadConfig(given: NodeJS.ProcessEnv = process.env): Config {
  const problems: string[] = [];
  const warnings: string[] = [];
  const env = applyDeprecatedNames(given, problems, warnings);
  const known = new Set<string>(SETTINGS.map((s) => s.env));
  for (const name of Object.keys(env)) {
    if (!name.startsWith("MODELTAP_") || known.has(name)) continue;
    const removed = REMOVED_SETTINGS[name];
    if (removed !== undefined) {
      problems.push(`${name}: ${removed}`);
      continue;
    }
    // The local stack's ports (tools/stack/settings.ts) are the likeliest stray ones: say what to set.
    problems.push(
      /_PORT$/.test(name)
        ? `${name}: unknown setting (local-stack ports are read by \`modeltap stack\` only; a product command takes the URL: MODELTAP_NATS_URL, MODELTAP_DATABASE_URL, MODELTAP_S3_ENDPOINT, MODELTAP_LABEL_STUDIO_URL)`
        : `${name}: unknown setting`,
    );
  }
  const raw = settingValues(SETTINGS, env);
  const int = (name: SettingName, min: number, max: number) => intSetting(raw, name, min, max, problems);
  const port = (name: SettingName) => int(name, 0, 65535);
  // A listener's host defaults to MODELTAP_LISTEN_HOST: its problem is reported once, under that name.
  const host = (name: SettingName) => {
    const why = hostProblem(raw[name]!);
    if (why && (name === "MODELTAP_LISTEN_HOST" || env[name] !== undefined)) problems.push(`${name}: ${why}`);
    return raw[name]!;
  };
  const flag = (name: SettingName) => {
    const v = raw[name]!;
    if (v !== "0" && v !== "1") problems.push(`${name}: must be 0 or 1, got ${JSON.stringify(v)}`);
    return v === "1";
  };
  const level = raw.MODELTAP_LOG_LEVEL!;
  if (!LEVELS.includes(level)) problems.push(`MODELTAP_LOG_LEVEL: must be one of ${LEVELS.join(", ")}`);
  const config: Config = {
    logLevel: level,
    listenHost: host("MODELTAP_LISTEN_HOST"),
    hosts: {
      collector: host("MODELTAP_COLLECTOR_HOST"),
      collectorMetrics: host("MODELTAP_COLLECTOR_METRICS_HOST"),
      workerMetrics: host("MODELTAP_WORKER_METRICS_HOST"),
      monitorMetrics: host("MODELTAP_MONITOR_METRICS_HOST"),
      api: host("MODELTAP_API_HOST"),
    },
    collectorInsecure: flag("MODELTAP_COLLECTOR_INSECURE"),
    ports: {
      collector: port("MODELTAP_COLLECTOR_PORT"),
      collectorMetrics: port("MODELTAP_COLLECTOR_METRICS_PORT"),
      workerMetrics: port("MODELTAP_WORKER_METRICS_PORT"),
      monitorMetrics: port("MODELTAP_MONITOR_METRICS_PORT"),
      api: port("MODELTAP_API_PORT"),
    },
    natsUrl: raw.MODELTAP_NATS_URL!,
    collectorHttp2Window: int("MODELTAP_COLLECTOR_HTTP2_WINDOW", 65_535, 2 ** 31 - 1),
    databaseUrl: raw.MODELTAP_DATABASE_URL!,
    s3: {
      endpoint: raw.MODELTAP_S3_ENDPOINT!,
      bucket: raw.MODELTAP_S3_BUCKET!,
      region: raw.MODELTAP_S3_REGION!,
    },
    secretHeaders: new Set([
      ...DEFAULT_SECRET_HEADERS,
      ...raw
        .MODELTAP_EXTRA_SECRET_HEADERS!.split(",")
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean),
    ]),
    secretQueryParams: new Set(
      raw
        .MODELTAP_REDACT_QUERY_PARAMS!.split(",")
        .map((p) => p.trim().toLowerCase())
        .filter(Boolean),
    ),
    samplingSeed: samplingSeed(raw.MODELTAP_SAMPLING_SEED!, problems),
    plugins: raw
      .MODELTAP_PLUGINS!.split(",")
      .map((p) => p.trim())
      .filter(Boolean),
    buffer: {
      maxRecords: int("MODELTAP_BUFFER_MAX_RECORDS", 1, 10_000_000),
      maxBytes: int("MODELTAP_BUFFER_MAX_BYTES", 1024, 2 ** 40),
      maxAttempts: int("MODELTAP_PUBLISH_MAX_ATTEMPTS", 1, 1000),
      window: int("MODELTAP_PUBLISH_WINDOW", 1, 65_536),
    },
    natsInlineMaxBytes: int("MODELTAP_NATS_INLINE_MAX_BYTES", 1024, 512 * 1024),
    worker: {
      batch: int("MODELTAP_WORKER_BATCH", 1, 10_000),
      parallel: int("MODELTAP_WORKER_PARALLEL", 1, 64),
      maxDeliver: int("MODELTAP_WORKER_MAX_DELIVER", 1, 1000),
      concurrency: int("MODELTAP_WORKER_CONCURRENCY", 1, 1024),
      rowInlineMaxBytes: int("MODELTAP_ROW_INLINE_MAX_BYTES", 0, 1024 * 1024),
    },
    database: choice("MODELTAP_DATABASE", raw.MODELTAP_DATABASE!, DATABASES, problems),
    objectStore: choice("MODELTAP_OBJECT_STORE", raw.MODELTAP_OBJECT_STORE!, OBJECT_STORES, problems),
    fsRoot: raw.MODELTAP_FS_ROOT ? path.resolve(raw.MODELTAP_FS_ROOT) : "",
    labeling: choice("MODELTAP_LABELING", raw.MODELTAP_LABELING!, LABELING, problems),
    labelStudio: {
      url: raw.MODELTAP_LABEL_STUDIO_URL!.replace(/\/+$/, ""),
      token: raw.MODELTAP_LABEL_STUDIO_TOKEN!,
    },
    apiTokens: parseNamedSecrets(
      "MODELTAP_API_TOKENS",
      raw.MODELTAP_API_TOKENS!,
      { entry: "name:token", nameRe: /^[a-z0-9_.-]{1,64}$/, nameRule: "[a-z0-9_.-]{1,64}" },
      problems,
    ),
    webhookSecret: raw.MODELTAP_WEBHOOK_SECRET!,
    mediaKeys: parseNamedSecrets(
      "MODELTAP_MEDIA_KEYS",
      raw.MODELTAP_MEDIA_KEYS!,
      { entry: "kid:secret", nameRe: /^[A-Za-z0-9_-]{1,32}$/, nameRule: "[A-Za-z0-9_-]{1,32}" },
      problems,
    ),
    mediaUrlTtlSeconds: int("MODELTAP_MEDIA_URL_TTL_SECONDS", 60, 365 * 24 * 3600),
    apiMetrics: parseMetricsBind("MODELTAP_API_METRICS", raw.MODELTAP_API_METRICS!, problems),
    apiMaxBodyBytes: int("MODELTAP_API_MAX_BODY_BYTES", 1024, 1024 * 1024 * 1024),
    publicUrl: raw.MODELTAP_PUBLIC_URL!.replace(/\/+$/, ""),
    labelExport: {
      batch: int("MODELTAP_LABEL_EXPORT_BATCH", 1, 1000),
      intervalMs: int("MODELTAP_LABEL_EXPORT_INTERVAL_MS", 10, 600_000),
    },
    labelSyncIntervalS: int("MODELTAP_LABEL_SYNC_INTERVAL_S", 0, 86_400),
    collectorTls: {
      cert: raw.MODELTAP_COLLECTOR_TLS_CERT!,
      key: raw.MODELTAP_COLLECTOR_TLS_KEY!,
      clientCa: raw.MODELTAP_COLLECTOR_TLS_CLIENT_CA!,
    },
    warnings,
    monitor: {
      windowsMs: monitorWindows(raw.MODELTAP_MONITOR_WINDOWS!, problems),
      graceMs: int("MODELTAP_MONITOR_GRACE_SECONDS", 0, 3600) * 1000,
      intervalMs: int("MODELTAP_MONITOR_INTERVAL_MS", 100, 600_000),
      rollupHours: int("MODELTAP_MONITOR_ROLLUP_HOURS", 0, 24 * 366),
      retentionDays: int("MODELTAP_MONITOR_RETENTION_DAYS", 0, MAX_RETENTION_DAYS),
      maxSeries: int("MODELTAP_MONITOR_MAX_SERIES", 10, 1_000_000),
      refusalPatterns: refusalPatterns(raw.MODELTAP_MONITOR_REFUSAL_PATTERNS!, problems),
    },
    retention: {
      defaultDays: int("MODELTAP_RETENTION_DAYS", 0, MAX_RETENTION_DAYS),
      models: parseRetentionModels(raw.MODELTAP_RETENTION_MODELS!, problems),
    },
  };
  const minuteWindows = config.monitor.windowsMs.filter((ms) => ms % 3_600_000 !== 0);
  const longest = Math.max(0, ...minuteWindows);
  if (
    config.monitor.rollupHours > 0 &&
    longest + config.monitor.graceMs >= config.monitor.rollupHours * 3_600_000
  ) {
    problems.push(
      `MODELTAP_MONITOR_ROLLUP_HOURS: ${config.monitor.rollupHours} h rolls minutes up before the ${windowName(longest)} window (not whole hours) is evaluated over them; make it longer than that window, or the window whole hours`,
    );
  }
  const longestWindow = Math.max(0, ...config.monitor.windowsMs);
  const keptMs = config.monitor.retentionDays * 86_400_000;
  if (config.monitor.retentionDays > 0 && keptMs < longestWindow + 86_400_000) {
    problems.push(
      `MODELTAP_MONITOR_RETENTION_DAYS: ${config.monitor.retentionDays} d would expire the ${windowName(longestWindow)} window's buckets while it is still evaluated; keep at least a day more than the longest window`,
    );
  }
  if (config.objectStore === "fs" && config.fsRoot === "") {
    problems.push("MODELTAP_FS_ROOT: required when MODELTAP_OBJECT_STORE=fs");
  }
  if (config.labeling === "label_studio" && config.labelStudio.token === "") {
    problems.push("MODELTAP_LABEL_STUDIO_TOKEN: required when MODELTAP_LABELING=label_studio");
  }
  const tls = config.collectorTls;
  if ((tls.cert === "") !== (tls.key === "")) {
    problems.push("MODELTAP_COLLECTOR_TLS_CERT and MODELTAP_COLLECTOR_TLS_KEY: give both or neither");
  }
  if (tls.clientCa !== "" && tls.cert === "") {
    problems.push(
      "MODELTAP_COLLECTOR_TLS_CLIENT_CA: needs MODELTAP_COLLECTOR_TLS_CERT and _KEY (mTLS is TLS first)",
    );
  }
  if (config.webhookSecret !== "" && config.webhookSecret.length < MIN_SECRET_CHARS) {
    problems.push(`MODELTAP_WEBHOOK_SECRET: must be at least ${MIN_SECRET_CHARS} characters`);
  }
  problems.push(
    ...sharedSecretProblems([
      { setting: "MODELTAP_API_TOKENS", secrets: config.apiTokens.map((t) => t.secret) },
      { setting: "MODELTAP_WEBHOOK_SECRET", secrets: [config.webhookSecret] },
      { setting: "MODELTAP_MEDIA_KEYS", secrets: config.mediaKeys.map((k) => k.secret) },
    ]),
  );
  for (const [name, url] of [
    ["MODELTAP_PUBLIC_URL", config.publicUrl],
    ["MODELTAP_LABEL_STUDIO_URL", config.labelStudio.url],
  ] as const) {
    if (!/^https?:\/\/[^/\s]+/.test(url))
      problems.push(`${name}: must be an http(s) URL, got ${JSON.stringify(url)}`);
  }
  if (!/^postgres(ql)?:\/\//.test(config.databaseUrl)) {
    problems.push("MODELTAP_DATABASE_URL: must start with postgres://");
  }
  if (!/^(nats|tls|wss?):\/\//.test(config.natsUrl))
    problems.push("MODELTAP_NATS_URL: must start with nats://");
  if (config.s3.bucket !== "" && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(config.s3.bucket)) {
    problems.push("MODELTAP_S3_BUCKET: not a valid bucket name");
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}
