/**
 * Object keys for captured bodies:
 *   <model>/<version>/yyyy/mm/dd/hh/<capture-id>/<name>.<ext>
 * The capture-id segment makes a key unique: it is the collector's UUIDv7 (or, for a schema-1
 * record, a SHA-256 of its id; see captureKeySegment), so no two captures share a prefix. Model and
 * version are decoration for people browsing the bucket: they come from route metadata and are
 * sanitized (only [A-Za-z0-9._-] survive, dot-only segments are replaced, length is capped), so two
 * names may map to one segment without any harm. No path tricks get through.
 */
import { captureKeySegment } from "../capture-id.js";

const EXTENSIONS: Record<string, string> = {
  "application/json": "json",
  "text/plain": "txt",
  "text/csv": "csv",
  "text/event-stream": "sse",
  "text/html": "html",
  "image/png": "png",
  "image/jpeg": "jpg",
  "image/webp": "webp",
  "image/gif": "gif",
  "image/bmp": "bmp",
  "image/tiff": "tiff",
  "image/avif": "avif",
  "image/heic": "heic",
  "image/heif": "heif",
  "image/jxl": "jxl",
  "multipart/form-data": "multipart",
  "application/x-www-form-urlencoded": "form",
  "application/octet-stream": "bin",
};

export function sanitizeSegment(s: string, maxLength = 128): string {
  const cleaned = s.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, maxLength);
  if (cleaned === "" || /^\.+$/.test(cleaned)) return "_";
  return cleaned;
}

export function extensionFor(contentType: string): string {
  const base = contentType.split(";")[0]!.trim().toLowerCase();
  if (EXTENSIONS[base]) return EXTENSIONS[base];
  if (base.endsWith("+json")) return "json";
  return "bin";
}

/** Where one capture's objects live: the key up to, and without, the object's own name. */
export interface CaptureKeyParts {
  model: string;
  version: string;
  id: string;
  startedAtUs: number;
}

export function captureObjectPrefix(parts: CaptureKeyParts): string {
  const t = new Date(Math.floor(parts.startedAtUs / 1000));
  const p2 = (n: number) => String(n).padStart(2, "0");
  return [
    sanitizeSegment(parts.model),
    sanitizeSegment(parts.version),
    String(t.getUTCFullYear()),
    p2(t.getUTCMonth() + 1),
    p2(t.getUTCDate()),
    p2(t.getUTCHours()),
    captureKeySegment(parts.id),
  ].join("/");
}

export function bodyObjectKey(parts: CaptureKeyParts, name: string, contentType: string): string {
  return `${captureObjectPrefix(parts)}/${sanitizeSegment(name)}.${extensionFor(contentType)}`;
}

/**
 * The key of one of this capture's objects from the URI stored for it (`mask_uri`, an image's
 * `uri`), checked against the store: undefined when the URI is not, in this store, an object under
 * the capture's prefix (another bucket or root, or another capture's).
 */
export function captureObjectKey(
  parts: CaptureKeyParts,
  uri: string,
  uriOf: (key: string) => string,
): string | undefined {
  const name = uri.slice(uri.lastIndexOf("/") + 1);
  if (name === "" || sanitizeSegment(name) !== name) return undefined;
  const key = `${captureObjectPrefix(parts)}/${name}`;
  return uriOf(key) === uri ? key : undefined;
}
