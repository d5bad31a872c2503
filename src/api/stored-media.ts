/**
 * A capture's stored bytes read back from wherever the worker put them: a body in the row or in
 * object storage, an input image object, a mask PNG. Shared by `GET /v1/media` and
 * `modeltap captures body`, so the two always find the same bytes.
 */
import { errorMessage } from "../core/errors.js";
import { imageContentType } from "../core/image-format.js";
import type { BlobStore, CaptureRow } from "../core/ports.js";
import type { PluginCatalog } from "../core/route-config.js";
import { captureObjectKey } from "../core/storage/object-key.js";

export interface Media {
  data: Uint8Array;
  contentType: string;
}

/** The bytes, or why there are none (and, for a request that no longer parses, the parser's error). */
export type Found = Media | { missing: string; cause?: string };

/** A stored body: in the row when it was small, else from object storage; undefined when empty. */
export async function storedBody(
  row: CaptureRow,
  which: "request" | "response",
  blobs: BlobStore,
): Promise<Uint8Array | undefined> {
  const b = row[which];
  if (b.inline) return b.inline;
  return b.objectKey ? blobs.get(b.objectKey) : undefined;
}

/** One of the capture's objects by the URI stored for it, when it is this store's and still there. */
async function capturedObject(row: CaptureRow, uri: string, blobs: BlobStore) {
  const parts = {
    model: row.model,
    version: row.version,
    id: row.id,
    startedAtUs: row.receivedAt.getTime() * 1000,
  };
  const key = captureObjectKey(parts, uri, (k) => blobs.uri(k));
  return key ? blobs.get(key) : undefined;
}

const asImage = (data: Uint8Array): Media => ({
  data,
  contentType: imageContentType(data) ?? "application/octet-stream",
});

/**
 * The input image of one instance: its object (`input.image.uri`). Captures stored before the
 * worker kept images have none, and an object can be lost: the image is then read out of the
 * stored request again, by the capture's own parser.
 */
export async function storedImage(
  row: CaptureRow,
  instance: number,
  blobs: BlobStore,
  parsers: PluginCatalog["parsers"],
): Promise<Found> {
  const image = row.analysis?.instances[instance]?.input.image;
  if (!image) return { missing: "no image for this capture instance" };
  let gone: string | undefined;
  if (image.uri !== undefined) {
    const data = await capturedObject(row, image.uri, blobs);
    if (data) return asImage(data);
    // Lost, or the store moved: the request still holds the image.
    gone = `the image object ${image.uri} is not in object storage`;
  }
  const request = await storedBody(row, "request", blobs);
  if (!request) return { missing: gone ?? "the request body is not stored" };
  if (row.request.contentType.toLowerCase().startsWith("image/") && instance === 0) return asImage(request);
  // The image sits inside the request (base64 JSON, multipart): read it out with the same parser.
  const response = (await storedBody(row, "response", blobs)) ?? new Uint8Array(0);
  const unreadable = gone ?? "the image could not be read from the stored request";
  try {
    const parsed = parsers.get(row.protocol)?.parse({
      request: {
        bytes: request,
        contentType: row.request.contentType,
        headers: row.request.headers,
        truncated: false,
      },
      response: {
        bytes: response,
        contentType: row.response.contentType,
        headers: row.response.headers,
        truncated: false,
      },
      route: { features: undefined },
      startedAtUs: row.receivedAt.getTime() * 1000,
      responseChunkTimes: [],
    });
    const data = parsed?.inputs[instance]?.image;
    return data ? asImage(data) : { missing: unreadable };
  } catch (err) {
    return { missing: unreadable, cause: errorMessage(err) };
  }
}

/** The mask PNG the worker stored for segment k of one instance (`mask_uri`). */
export async function storedMask(
  row: CaptureRow,
  instance: number,
  k: number,
  blobs: BlobStore,
): Promise<Found> {
  const p = row.analysis?.instances[instance]?.prediction;
  const seg = p?.kind === "segmentation" ? (p.instances[k] as { mask_uri?: unknown } | undefined) : undefined;
  if (typeof seg?.mask_uri !== "string") return { missing: "no mask for this capture instance and segment" };
  const data = await capturedObject(row, seg.mask_uri, blobs);
  return data
    ? { data, contentType: "image/png" }
    : { missing: `the mask object ${seg.mask_uri} is not in object storage` };
}

/** Which of a capture's stored bytes: a body, an instance's input image, or a segment's mask. */
export type StoredPart =
  | { kind: "request" | "response" }
  | { kind: "image"; instance: number }
  | { kind: "mask"; instance: number; k: number };

export async function storedPart(
  row: CaptureRow,
  part: StoredPart,
  blobs: BlobStore,
  parsers: PluginCatalog["parsers"],
): Promise<Found> {
  if (part.kind === "image") return storedImage(row, part.instance, blobs, parsers);
  if (part.kind === "mask") return storedMask(row, part.instance, part.k, blobs);
  const data = await storedBody(row, part.kind, blobs);
  if (!data) {
    const b = row[part.kind];
    return {
      missing: b.objectKey
        ? `the ${part.kind} object ${b.objectUri ?? b.objectKey} is not in object storage`
        : `the ${part.kind} body is empty`,
    };
  }
  return { data, contentType: row[part.kind].contentType || "application/octet-stream" };
}
