/**
 * Retention in object storage: which object prefixes hold one capture's objects. Pure; the sweep
 * that deletes them is src/worker/retention.ts (docs/retention.md); the policy is core/retention.ts.
 */
import type { StoredCapture } from "../ports.js";
import { captureObjectPrefix, sanitizeSegment } from "./object-key.js";

/**
 * The folder prefixes (each ending in "/") that hold this capture's objects: its own (request and
 * response bodies, input-N images, mask-i-j PNGs, text-N texts all live there), the one keys had
 * before capture ids were UUIDs (a sanitized x-request-id), and the folders of the body keys the
 * row records, which cover a row whose keys were made by an older scheme still.
 */
export function captureObjectPrefixes(c: StoredCapture): string[] {
  const parts = { model: c.model, version: c.version, id: c.id, startedAtUs: c.receivedAt.getTime() * 1000 };
  const own = captureObjectPrefix(parts);
  const hour = own.slice(0, own.lastIndexOf("/"));
  const prefixes = [own, `${hour}/${sanitizeSegment(c.id, 200)}`];
  for (const key of c.objectKeys) {
    const slash = key.lastIndexOf("/");
    // A capture's folder is 7 segments deep (model/version/yyyy/mm/dd/hh/id); a shallower one would
    // hold other captures' objects, so it is never swept.
    if (slash > 0 && key.slice(0, slash).split("/").length >= 7) prefixes.push(key.slice(0, slash));
  }
  return [...new Set(prefixes)].map((p) => `${p}/`);
}
