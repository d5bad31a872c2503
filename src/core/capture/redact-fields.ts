/**
 * Per-route field redaction (`redact_fields`): JSON bodies have the named fields replaced with
 * "[REDACTED]" before the record is analysed, published, stored or logged. A JSON body that cannot
 * be parsed (truncated, malformed) cannot be redacted, so its bytes are not kept at all; the record
 * says why. Runs in the collector, on the decoded body.
 */
import { REDACTED } from "./redact-headers.js";
import { redactPath, type PathStep } from "../json-path.js";
import type { CaptureRecord, CapturedBody } from "../record.js";

export function isJsonContentType(contentType: string): boolean {
  const t = contentType.split(";")[0]!.trim().toLowerCase();
  return t === "application/json" || t.endsWith("+json");
}

/** Redact one body in place; returns how many fields were replaced. */
export function redactBodyFields(body: CapturedBody, paths: readonly (readonly PathStep[])[]): number {
  if (paths.length === 0 || !isJsonContentType(body.contentType) || body.data.byteLength === 0) return 0;
  const drop = (why: string) => {
    body.data = new Uint8Array(0);
    body.sizeBytes = 0;
    body.decodeError = `redact_fields: ${why}; body not stored`;
    return 0;
  };
  if (body.truncated) return drop("body truncated, so it cannot be parsed and redacted");
  let doc: unknown;
  try {
    doc = JSON.parse(
      Buffer.from(body.data.buffer, body.data.byteOffset, body.data.byteLength).toString("utf8"),
    );
  } catch {
    return drop("body is not valid JSON, so it cannot be redacted");
  }
  let count = 0;
  let out: Buffer | undefined;
  try {
    for (const steps of paths) count += redactPath(doc, steps, REDACTED);
    if (count > 0) out = Buffer.from(JSON.stringify(doc), "utf8");
  } catch {
    // JSON.parse takes nesting (10 000 levels of []) deeper than the recursive walk can follow.
    return drop("body is nested too deeply to be redacted");
  }
  if (out) {
    body.data = out;
    body.sizeBytes = out.byteLength;
  }
  return count;
}

/** Redact both bodies of a record; returns the number of fields replaced. */
export function redactRecordFields(record: CaptureRecord, paths: readonly (readonly PathStep[])[]): number {
  return redactBodyFields(record.request, paths) + redactBodyFields(record.response, paths);
}
