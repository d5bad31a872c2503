/**
 * Capture ids. The collector gives every captured exchange its own id, a UUIDv7 (RFC 9562): 48 bits
 * of Unix milliseconds, then random bits. It is unique per exchange and per Envoy hop (two hops of
 * one request share their x-request-id, never their capture id), it sorts by time, and a client
 * cannot choose it. It is the JetStream msgID (a collector's own publish retry is a no-op), the
 * `captures` primary key and the object-key segment of the capture's objects.
 */
import { createHash } from "node:crypto";

/** A UUIDv7 as captureId writes it: lower case, version 7, variant 10. */
const CAPTURE_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A UUIDv7 from a millisecond clock and 10 random bytes (the caller's entropy source). */
export function captureId(nowMs: number, random: Uint8Array): string {
  if (random.byteLength < 10) throw new RangeError("captureId needs 10 random bytes");
  const b = new Uint8Array(16);
  let ms = Math.max(0, Math.floor(nowMs));
  for (let i = 5; i >= 0; i--) {
    b[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  b.set(random.subarray(0, 10), 6);
  b[6] = 0x70 | (b[6]! & 0x0f); // version 7
  b[8] = 0x80 | (b[8]! & 0x3f); // variant 10
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * True for a capture id as the collector makes them (schema 2 on). A schema-1 record's id was an
 * x-request-id, which Envoy makes as a UUIDv4: never this form.
 */
export function isCaptureId(id: string): boolean {
  return CAPTURE_ID.test(id);
}

/** The Unix milliseconds a UUIDv7 carries. */
export function captureIdTimeMs(id: string): number {
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

/**
 * The object-key segment for a capture: the id itself when it is a capture id; otherwise (a
 * schema-1 record, whose id was an x-request-id, Envoy's UUIDv4 or whatever a client sent) "r-" and
 * the SHA-256 of the id, so no two ids share a segment whatever characters or length they have.
 */
export function captureKeySegment(id: string): string {
  return isCaptureId(id) ? id : `r-${createHash("sha256").update(id, "utf8").digest("hex")}`;
}

/** The longest x-request-id stored as sent (an index row has room for a few KB, not any header). */
export const MAX_REQUEST_ID_CHARS = 256;

/**
 * The request id as stored and looked up: as sent up to MAX_REQUEST_ID_CHARS; a longer one as its
 * first 128 characters, "~sha256:" and the SHA-256 of the whole, so every hop of one long id still
 * shares one value, and a lookup by the full id finds it.
 */
export function requestIdKey(raw: string): string {
  if (raw.length <= MAX_REQUEST_ID_CHARS) return raw;
  return `${raw.slice(0, 128)}~sha256:${createHash("sha256").update(raw, "utf8").digest("hex")}`;
}
