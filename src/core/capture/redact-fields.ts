/**
 * Per-route field redaction (`redact_fields`), failing closed. On a route that names fields, every
 * non-empty body must be confirmed redacted before it is analysed, published, stored or logged:
 * whatever its content type says, a body that parses as JSON, JSON lines (NDJSON, also the `data:`
 * lines of an event stream) or, when sent as such, form fields has the named fields replaced with
 * "[REDACTED]". A body that cannot be confirmed (truncated, not decoded, binary, anything else) is
 * not kept at all: its bytes are dropped and `decodeError` says why. Runs in the collector, on the
 * decoded body. Pure: no I/O.
 */
import { REDACTED } from "./redact-headers.js";
import { lenientDecode } from "./redact-query.js";
import { redactPath, type PathStep } from "../json-path.js";
import type { CaptureRecord, CapturedBody } from "../record.js";

type Paths = readonly (readonly PathStep[])[];

/** What redaction did to one body. */
export interface BodyRedaction {
  /** Fields replaced. */
  fields: number;
  /** The body could not be confirmed redacted, so its bytes were dropped. */
  withheld: boolean;
}

/** What redaction did to a record: fields replaced, and which bodies were withheld. */
export interface RecordRedaction {
  fields: number;
  withheld: Array<"request" | "response">;
}

/** Kept for callers that sniff JSON by its declared type; redaction itself no longer trusts it. */
export function isJsonContentType(contentType: string): boolean {
  const t = contentType.split(";")[0]!.trim().toLowerCase();
  return t === "application/json" || t.endsWith("+json");
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Thrown inside this module when a body's text is none of the forms redaction understands. */
class Unconfirmed extends Error {}

function parseJson(text: string): { ok: true; doc: unknown } | { ok: false } {
  try {
    return { ok: true, doc: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** Redact one parsed document; re-serialized text when anything was replaced. */
function redactDoc(doc: unknown, paths: Paths): { count: number; text?: string } {
  let count = 0;
  // JSON.parse takes nesting (10 000 levels of []) deeper than the recursive walk can follow:
  // the RangeError propagates and the body is withheld.
  for (const steps of paths) count += redactPath(doc, steps, REDACTED);
  return count > 0 ? { count, text: JSON.stringify(doc) } : { count };
}

/**
 * JSON lines: every non-blank line is a JSON document, or a line of an event stream (`data:` with
 * JSON or `[DONE]`, `event:`, `id:`, `retry:`, or a `:` comment). Line breaks are kept as sent.
 */
function redactLines(text: string, paths: Paths): { count: number; text?: string } {
  let count = 0;
  const lines = text.split("\n").map((raw) => {
    const cr = raw.endsWith("\r") ? "\r" : "";
    const line = cr ? raw.slice(0, -1) : raw;
    if (line.trim() === "" || line.startsWith(":")) return raw;
    let prefix = "";
    let payload = line;
    const field = /^(data|event|id|retry):/.exec(line);
    if (field) {
      if (field[1] !== "data") return raw;
      prefix = line.startsWith("data: ") ? "data: " : "data:";
      payload = line.slice(prefix.length);
      if (payload.trim() === "[DONE]" || payload.trim() === "") return raw;
    }
    const parsed = parseJson(payload);
    if (!parsed.ok) throw new Unconfirmed();
    const r = redactDoc(parsed.doc, paths);
    count += r.count;
    return r.text === undefined ? raw : `${prefix}${r.text}${cr}`;
  });
  return count > 0 ? { count, text: lines.join("\n") } : { count };
}

/** Form field names as path segments: `user[email]` and `user.email` are both [user, email]. */
function segments(name: string): string[] {
  return name.replace(/\]/g, "").split(/[.[]/);
}

/** Does the path select this field, or a container the field sits in? (`[]` counts as any index.) */
function selects(steps: readonly PathStep[], segs: readonly string[], i = 0, j = 0): boolean {
  if (i === steps.length) return true;
  if (j === segs.length) return false;
  const step = steps[i]!;
  const seg = segs[j]!;
  switch (step.kind) {
    case "key":
      return seg === step.key && selects(steps, segs, i + 1, j + 1);
    case "index":
      return (seg === "" || seg === String(step.index)) && selects(steps, segs, i + 1, j + 1);
    case "wildcard":
      return selects(steps, segs, i + 1, j + 1);
    case "descend":
      return (seg === step.key && selects(steps, segs, i + 1, j + 1)) || selects(steps, segs, i, j + 1);
  }
}

/**
 * application/x-www-form-urlencoded: named fields become "[REDACTED]". A value that is itself a
 * JSON object or list cannot be matched against the paths, so it leaves the body unconfirmed.
 */
function redactForm(text: string, paths: Paths): { count: number; text?: string } {
  let count = 0;
  const pairs = text.split("&").map((pair) => {
    const eq = pair.indexOf("=");
    const name = lenientDecode(eq < 0 ? pair : pair.slice(0, eq));
    const segs = segments(name);
    if (paths.some((steps) => selects(steps, segs))) {
      count++;
      return `${eq < 0 ? pair : pair.slice(0, eq)}=${REDACTED}`;
    }
    const value = eq < 0 ? "" : lenientDecode(pair.slice(eq + 1)).trim();
    if ((value.startsWith("{") || value.startsWith("[")) && parseJson(value).ok) throw new Unconfirmed();
    return pair;
  });
  return count > 0 ? { count, text: pairs.join("&") } : { count };
}

function isForm(contentType: string): boolean {
  return contentType.split(";")[0]!.trim().toLowerCase() === "application/x-www-form-urlencoded";
}

/** Why a body cannot be confirmed redacted, or the redaction when it can. */
function redactText(body: CapturedBody, paths: Paths): { count: number; text?: string } | string {
  if (body.truncated) return "body truncated at max_body_bytes, so it cannot be parsed and redacted";
  if (body.decodeError) return `body could not be decoded (${body.decodeError}), so it cannot be redacted`;
  let text: string;
  try {
    text = utf8.decode(body.data);
  } catch {
    return "body is not UTF-8 text, so redaction cannot be confirmed";
  }
  try {
    const whole = parseJson(text);
    if (whole.ok) return redactDoc(whole.doc, paths);
    if (isForm(body.contentType)) return redactForm(text, paths);
    return redactLines(text, paths);
  } catch (err) {
    if (err instanceof Unconfirmed)
      return "body is not valid JSON, JSON lines or form data, so redaction cannot be confirmed";
    return "body is nested too deeply to be redacted";
  }
}

/** Redact one body in place (see the module comment). */
export function redactBodyFields(body: CapturedBody, paths: Paths): BodyRedaction {
  if (paths.length === 0 || body.data.byteLength === 0) return { fields: 0, withheld: false };
  const result = redactText(body, paths);
  if (typeof result === "string") {
    body.data = new Uint8Array(0);
    body.sizeBytes = 0;
    body.decodeError = `redact_fields: ${result}; body not stored`;
    return { fields: 0, withheld: true };
  }
  if (result.text !== undefined) {
    const out = Buffer.from(result.text, "utf8");
    body.data = out;
    body.sizeBytes = out.byteLength;
  }
  return { fields: result.count, withheld: false };
}

/** Redact both bodies of a record. */
export function redactRecordFields(record: CaptureRecord, paths: Paths): RecordRedaction {
  const req = redactBodyFields(record.request, paths);
  const res = redactBodyFields(record.response, paths);
  const withheld: RecordRedaction["withheld"] = [];
  if (req.withheld) withheld.push("request");
  if (res.withheld) withheld.push("response");
  return { fields: req.fields + res.fields, withheld };
}
