/**
 * Images carried inside JSON: TF Serving's {"b64": "..."} objects, data URLs, and bare base64
 * strings. A bare string only counts when it decodes to bytes of a known image format, so long
 * text or other binary payloads are not mistaken for images.
 */
import { isRecord } from "../../converters/shared.js";
import { imageFormat } from "./raw-image.js";

/** Bare strings shorter than this are never taken for images (no real image is that small). */
const MIN_BARE_LENGTH = 64;
const DATA_URL = /^data:image\/[a-z0-9.+-]+(?:;[a-z0-9-]+=[^;,]*)*;base64,/i;

/**
 * Strict base64 (standard or URL-safe alphabet, MIME line breaks allowed), else undefined.
 * Node's decoder skips characters outside the alphabet, so any such character shows up as fewer
 * bytes than the length promises: one pass, no regex over a possibly megabyte-long string.
 */
export function decodeBase64(s: string): Uint8Array | undefined {
  const compact = s.includes("\n") ? s.replace(/\r?\n/g, "") : s;
  let pad = 0;
  while (pad < 2 && compact.charCodeAt(compact.length - 1 - pad) === 0x3d) pad++;
  const chars = compact.length - pad;
  if (chars === 0 || chars % 4 === 1 || (pad > 0 && compact.length % 4 !== 0)) return undefined;
  const bytes = Buffer.from(compact, "base64");
  if (bytes.byteLength !== Math.floor((chars * 3) / 4)) return undefined;
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength); // a view, not a copy
}

function imageOrUndefined(bytes: Uint8Array | undefined): Uint8Array | undefined {
  return bytes && imageFormat(bytes) ? bytes : undefined;
}

/** The image bytes a JSON value encodes, or undefined when it is not an encoded image. */
export function decodeImageValue(v: unknown): Uint8Array | undefined {
  if (isRecord(v) && typeof v.b64 === "string") return imageOrUndefined(decodeBase64(v.b64));
  if (typeof v !== "string") return undefined;
  const dataUrl = DATA_URL.exec(v);
  // A data URL says it is an image: trust it even when the format is one we cannot size.
  if (dataUrl) return decodeBase64(v.slice(dataUrl[0].length));
  return v.length > MIN_BARE_LENGTH ? imageOrUndefined(decodeBase64(v)) : undefined;
}

/** The first encoded image anywhere in a JSON value (depth-first, bounded depth). */
export function findImage(v: unknown, depth = 4): Uint8Array | undefined {
  const direct = decodeImageValue(v);
  if (direct || depth === 0) return direct;
  const children = Array.isArray(v) ? v : isRecord(v) ? Object.values(v) : [];
  for (const child of children) {
    const found = findImage(child, depth - 1);
    if (found) return found;
  }
  return undefined;
}
