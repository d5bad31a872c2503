/**
 * The POST /v1/ground-truth body: one item or {"items": [...]}, each a capture id or a request id, an instance, a
 * canonical label, a source and an RFC 3339 labeled_at. Each item is judged on its own and every
 * problem is reported as "path: what is wrong". Pure validation, no I/O; the label itself is
 * checked by parseLabel in ground-truth.ts.
 */
import type { Prediction } from "../canonical.js";
import { requestIdKey } from "../capture-id.js";
import { capProblems, isObject, keyName, parseLabel } from "./label.js";

export interface GroundTruthItem {
  /** The capture the label is for ("" when it is posted by request id). */
  captureId: string;
  /** The x-request-id the label is for ("" when it is posted by capture id): every hop of it. */
  requestId: string;
  /** Which instance of a batched capture (0 for single-input requests). */
  instance: number;
  source: string;
  label: Prediction;
  labeledAt: Date;
  /** Refuse the label when the capture is not persisted (instead of keeping it until it is). */
  requireCapture: boolean;
}

export type ItemResult =
  { ok: true; item: GroundTruthItem } | { ok: false; index: number; problems: string[] };

export type GroundTruthBodyResult =
  { ok: true; items: ItemResult[]; batch: boolean } | { ok: false; error: string };

export const MAX_GROUND_TRUTH_ITEMS = 1000;
const ID = /^[A-Za-z0-9._:-]{1,200}$/;
/** An x-request-id as a client may have sent it: printable, no control characters. */
const REQUEST_ID = /^[^\p{Cc}]{1,1024}$/u;
const SOURCE = /^[a-z0-9_.-]{1,64}$/;
const ITEM_KEYS = [
  "capture_id",
  "request_id",
  "instance",
  "label",
  "source",
  "labeled_at",
  "require_capture",
];
const MAX_INSTANCE = 100_000;
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

/** RFC 3339 date-time, calendar-checked (no 2024-02-30). Leap seconds are refused: Date has none. */
function parseTimestamp(s: string): Date | undefined {
  const m = RFC3339.exec(s);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const lastDay = month === 2 ? (isLeap(year) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
  const offsetH = Number(m[9] ?? 0);
  const offsetM = Number(m[10] ?? 0);
  if (month < 1 || month > 12 || day < 1 || day > lastDay || hour > 23 || minute > 59 || second > 59) {
    return undefined;
  }
  if (offsetH > 23 || offsetM > 59) return undefined;
  const ms = m[7] ? Math.floor(Number(`0${m[7]}`) * 1000) : 0;
  const t = new Date(0);
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0..99 to 1900..1999.
  t.setUTCFullYear(year, month - 1, day);
  t.setUTCHours(hour, minute, second, ms);
  const sign = m[8] === "-" ? -1 : 1;
  return new Date(t.getTime() - sign * (offsetH * 60 + offsetM) * 60_000);
}

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function brief(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

function parseItem(raw: unknown, index: number, prefix: string, now: Date): ItemResult {
  const at = (key: string) => (prefix ? `${prefix}.${key}` : key);
  if (!isObject(raw)) {
    return {
      ok: false,
      index,
      problems: [`${prefix || "body"}: must be an object {capture_id, label, ...}`],
    };
  }
  const problems: string[] = [];
  for (const key of Object.keys(raw)) {
    if (!ITEM_KEYS.includes(key))
      problems.push(`${at(keyName(key))}: unknown key (known: ${ITEM_KEYS.join(", ")})`);
  }
  let captureId = "";
  let requestId = "";
  const hasCapture = raw.capture_id !== undefined;
  const hasRequest = raw.request_id !== undefined;
  if (hasCapture && hasRequest) {
    problems.push(
      `${at("request_id")}: give capture_id (one capture) or request_id (every hop of a request), not both`,
    );
  } else if (!hasCapture && !hasRequest) {
    problems.push(`${at("capture_id")}: required (or request_id, for every capture of one request)`);
  } else if (hasCapture) {
    const id = raw.capture_id;
    if (typeof id === "string" && ID.test(id)) captureId = id;
    else
      problems.push(`${at("capture_id")}: must be 1 to 200 characters of [A-Za-z0-9._:-], got ${brief(id)}`);
  } else {
    const id = raw.request_id;
    if (typeof id === "string" && REQUEST_ID.test(id)) requestId = requestIdKey(id);
    else
      problems.push(
        `${at("request_id")}: must be 1 to 1024 characters with no control characters, got ${brief(id)}`,
      );
  }
  const instance = raw.instance ?? 0;
  if (
    typeof instance !== "number" ||
    !Number.isInteger(instance) ||
    instance < 0 ||
    instance > MAX_INSTANCE
  ) {
    problems.push(
      `${at("instance")}: must be an integer from 0 to ${MAX_INSTANCE}, got ${brief(raw.instance)}`,
    );
  }
  let label: Prediction | undefined;
  if (raw.label === undefined) {
    problems.push(
      `${at("label")}: required, a canonical label such as {"kind": "classification", "label": "cat"}`,
    );
  } else {
    const parsed = parseLabel(raw.label, at("label"));
    if (parsed.ok) label = parsed.label;
    else problems.push(...parsed.problems);
  }
  const source = raw.source ?? "api";
  if (typeof source !== "string" || !SOURCE.test(source)) {
    problems.push(`${at("source")}: must be 1 to 64 characters of [a-z0-9_.-], got ${brief(source)}`);
  }
  let labeledAt: Date | undefined = new Date(now.getTime());
  if (raw.labeled_at !== undefined) {
    labeledAt = typeof raw.labeled_at === "string" ? parseTimestamp(raw.labeled_at) : undefined;
    if (!labeledAt) {
      problems.push(
        `${at("labeled_at")}: must be an RFC 3339 timestamp such as "2026-05-01T12:00:00Z", got ${brief(raw.labeled_at)}`,
      );
    }
  }
  const requireCapture = raw.require_capture ?? false;
  if (typeof requireCapture !== "boolean") {
    problems.push(`${at("require_capture")}: must be true or false, got ${brief(raw.require_capture)}`);
  }
  if (problems.length > 0 || !label || !labeledAt)
    return { ok: false, index, problems: capProblems(problems) };
  return {
    ok: true,
    item: {
      captureId,
      requestId,
      instance: instance as number,
      source: source as string,
      label,
      labeledAt,
      requireCapture: requireCapture as boolean,
    },
  };
}

/**
 * Parses a POST /v1/ground-truth body: one item, or {"items": [...]} with at most 1000. Each item
 * is judged on its own so one bad item does not reject the good ones; `error` is only for a body
 * whose shape is wrong. Task fit needs the capture, so the caller checks it with labelFitsTask.
 */
export function parseGroundTruthBody(raw: unknown, now: Date): GroundTruthBodyResult {
  if (!isObject(raw)) {
    return {
      ok: false,
      error: `body: must be a JSON object, one item or {"items": [...]}, got ${brief(raw)}`,
    };
  }
  if (!Object.hasOwn(raw, "items")) return { ok: true, batch: false, items: [parseItem(raw, 0, "", now)] };
  const extra = Object.keys(raw).filter((k) => k !== "items");
  if (extra.length > 0) {
    return { ok: false, error: `body: a batch has only "items", got also ${extra.join(", ")}` };
  }
  const items = raw.items;
  if (!Array.isArray(items)) return { ok: false, error: `items: must be a list of items` };
  if (items.length === 0) return { ok: false, error: `items: must hold at least one item` };
  if (items.length > MAX_GROUND_TRUTH_ITEMS) {
    return {
      ok: false,
      error: `items: at most ${MAX_GROUND_TRUTH_ITEMS} items per request, got ${items.length}`,
    };
  }
  return { ok: true, batch: true, items: items.map((item, i) => parseItem(item, i, `items[${i}]`, now)) };
}
