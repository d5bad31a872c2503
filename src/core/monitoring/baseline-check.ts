/**
 * Checks a baseline document (an imported file, or a row written by an older build) field by
 * field, so a bad one is refused with the first wrong field named, before it is stored or used.
 * The same rules as schema/baseline-v1.schema.json, plus what a schema cannot say (edges
 * ascending, one count per bin, a method that fits the field's kind).
 */
import { ModeltapError } from "../errors.js";
import { BASELINE_FORMAT, type Baseline, type BaselineField } from "./baseline.js";
import { DRIFT_METHODS, type DriftMethodName } from "./drift.js";
import { KllSketch } from "./kll.js";

/** Fields a baseline may hold, and bin edges or categories per field. */
export const MAX_BASELINE_FIELDS = 512;
export const MAX_BASELINE_EDGES = 1000;
export const MAX_BASELINE_CATEGORIES = 1000;
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

function bad(path: string, why: string): never {
  throw new ModeltapError("BASELINE_INVALID", `${path}: ${why}`);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

function count(v: unknown, path: string): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) bad(path, "must be a non-negative integer");
  return v;
}

function finite(v: unknown, path: string): number {
  if (typeof v !== "number" || !Number.isFinite(v)) bad(path, "must be a finite number");
  return v;
}

function text(v: unknown, path: string, max = 256): string {
  if (typeof v !== "string" || v.length > max) bad(path, `must be a string of at most ${max} characters`);
  return v;
}

/** An RFC 3339 date-time, as the schema's "date-time" format (Date.parse alone takes "May 1, 2026"). */
const TIME_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i;

function time(v: unknown, path: string): void {
  if (typeof v !== "string" || !TIME_RE.test(v) || Number.isNaN(Date.parse(v)))
    bad(path, "must be an ISO 8601 time");
}

function checkSource(s: Record<string, unknown>): void {
  if (s.kind !== "file") {
    time(s.from, "source.from");
    time(s.to, "source.to");
    return;
  }
  if (typeof s.file !== "string") bad("source.file", "must be the file's base name");
  if (!["csv", "jsonl", "parquet"].includes(s.format as string))
    bad("source.format", 'must be "csv", "jsonl" or "parquet"');
  if (typeof s.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(s.sha256))
    bad("source.sha256", "must be 64 lowercase hex digits");
  if (s.target !== null && typeof s.target !== "string")
    bad("source.target", "must be a column name or null");
}

export function checkBaseline(doc: unknown): Baseline {
  if (!isObject(doc)) bad("baseline", "must be a JSON object");
  if (doc.format !== BASELINE_FORMAT) bad("format", `must be "${BASELINE_FORMAT}"`);
  if (typeof doc.id !== "string" || !ID_RE.test(doc.id)) bad("id", `must match ${ID_RE.source}`);
  text(doc.model, "model");
  if ((doc.model as string).length === 0) bad("model", "must not be empty");
  if (doc.version !== null) text(doc.version, "version");
  time(doc.created_at, "created_at");
  if (!isObject(doc.source) || !["window", "file", "profile"].includes(doc.source.kind as string))
    bad("source.kind", 'must be "window", "file" or "profile"');
  checkSource(doc.source);
  count(doc.captures, "captures");
  count(doc.instances, "instances");
  if (!isObject(doc.fields)) bad("fields", "must be an object of fields");
  const names = Object.keys(doc.fields);
  if (names.length > MAX_BASELINE_FIELDS) bad("fields", `more than ${MAX_BASELINE_FIELDS} fields`);
  for (const name of names) checkField(doc.fields[name], `fields.${name}`);
  if (doc.prediction_field !== null) {
    text(doc.prediction_field, "prediction_field");
    if (!Object.hasOwn(doc.fields, doc.prediction_field as string))
      bad("prediction_field", "must name one of the baseline's fields, or be null");
  }
  if (doc.quality !== null) {
    if (!isObject(doc.quality) || !isObject(doc.quality.metrics))
      bad("quality", "must be null or { labeled, metrics }");
    count(doc.quality.labeled, "quality.labeled");
    for (const [k, v] of Object.entries(doc.quality.metrics)) finite(v, `quality.metrics.${k}`);
  }
  const share = finite(doc.dataset_drift_share, "dataset_drift_share");
  if (share <= 0 || share > 1) bad("dataset_drift_share", "must be in (0, 1]");
  count(doc.min_count, "min_count");
  return doc as unknown as Baseline;
}

function checkField(f: unknown, path: string): void {
  if (!isObject(f)) bad(path, "must be an object");
  if (f.kind !== "numeric" && f.kind !== "categorical")
    bad(`${path}.kind`, 'must be "numeric" or "categorical"');
  count(f.count, `${path}.count`);
  count(f.missing, `${path}.missing`);
  count(f.mismatches, `${path}.mismatches`);
  const method = f.method as DriftMethodName;
  if (typeof method !== "string" || !Object.hasOwn(DRIFT_METHODS, method))
    bad(`${path}.method`, `must be one of ${Object.keys(DRIFT_METHODS).join(", ")}`);
  const m = DRIFT_METHODS[method];
  if (!m.fields.includes(f.kind)) bad(`${path}.method`, `${method} does not apply to a ${f.kind} field`);
  const threshold = finite(f.threshold, `${path}.threshold`);
  if (m.direction === "p_below" && (threshold <= 0 || threshold >= 1))
    bad(`${path}.threshold`, "a p-value threshold must be in (0, 1)");
  if (f.kind === "numeric") checkNumeric(f as unknown as BaselineField, path, m.from);
  else checkCategorical(f as unknown as BaselineField, path);
}

function checkNumeric(f: BaselineField, path: string, from: "bins" | "sketch"): void {
  if (!isObject(f.summary)) bad(`${path}.summary`, "a numeric field needs its summary");
  if (!Array.isArray(f.edges) || f.edges.length > MAX_BASELINE_EDGES)
    bad(`${path}.edges`, `must be an array of at most ${MAX_BASELINE_EDGES} numbers`);
  f.edges.forEach((e, i) => {
    finite(e, `${path}.edges[${i}]`);
    if (i > 0 && !(e > f.edges![i - 1]!)) bad(`${path}.edges`, "must be strictly ascending");
  });
  if (!Array.isArray(f.bins) || f.bins.length !== f.edges.length + 1)
    bad(`${path}.bins`, "must hold one count per bin (edges + 1)");
  f.bins.forEach((n, i) => count(n, `${path}.bins[${i}]`));
  if (from === "sketch" && typeof f.sketch !== "string")
    bad(`${path}.sketch`, `${f.method} needs the sketch`);
  if (typeof f.sketch === "string") {
    try {
      KllSketch.deserialize(Buffer.from(f.sketch, "base64"));
    } catch (err) {
      bad(`${path}.sketch`, `not a KLL sketch: ${(err as Error).message}`);
    }
  }
}

function checkCategorical(f: BaselineField, path: string): void {
  if (!isObject(f.categories)) bad(`${path}.categories`, "a categorical field needs its category counts");
  const entries = Object.entries(f.categories);
  if (entries.length > MAX_BASELINE_CATEGORIES)
    bad(`${path}.categories`, `more than ${MAX_BASELINE_CATEGORIES} categories`);
  for (const [k, n] of entries) count(n, `${path}.categories.${k}`);
  if (f.other !== undefined) count(f.other, `${path}.other`);
}
