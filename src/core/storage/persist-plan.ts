/**
 * What the worker must write for one capture record: the body objects and the index row.
 * Pure, so the mapping from record to storage is unit-tested without S3 or Postgres.
 */
import type { Analysis, Rle } from "../canonical.js";
import { bodyObjectKey } from "./object-key.js";
import type { BodyRow, CaptureRow } from "../ports.js";
import type { CaptureRecord, CapturedBody } from "../record.js";
import { MAX_MASK_PIXELS, polygonsToRle } from "../rle.js";
import { HUMAN_LABELED_TASKS, type Task } from "../canonical.js";
import { isSampled } from "../sampler.js";

export interface PlannedObject {
  key: string;
  contentType: string;
  /** Where the bytes are: inline in the record, parked in the large-body store, or a mask to render. */
  source: { inline: Uint8Array } | { ref: string } | { mask: Rle };
}

/** Texts longer than this go to object storage; the row keeps the first part and the URI. */
export const TEXT_INLINE_MAX_CHARS = 16 * 1024;
const TEXT_PREFIX_CHARS = 1024;

export interface PersistPlan {
  objects: PlannedObject[];
  row: CaptureRow;
}

export interface PersistOptions {
  /** Bodies up to this many bytes that are not images go in the row; 0 sends every body to objects. */
  rowInlineMaxBytes: number;
}

/**
 * Small, structured bodies go in the row; images (unstructured inputs) always go to objects, and so
 * does a raw image upload whatever its content type (planPersist).
 */
export function inlineBody(b: CapturedBody, maxBytes: number): boolean {
  return (
    b.objectRef === "" &&
    b.data.byteLength > 0 &&
    b.data.byteLength <= maxBytes &&
    !b.contentType.trim().toLowerCase().startsWith("image/")
  );
}

export function planPersist(
  rec: CaptureRecord,
  uriFor: (key: string) => string,
  opts: PersistOptions = { rowInlineMaxBytes: 0 },
): PersistPlan {
  const objects: PlannedObject[] = [];
  // A raw image upload is the input image: an object, like every other input image.
  const body = (name: "request" | "response", b: CapturedBody, isImage = false): BodyRow => {
    const inline = !isImage && inlineBody(b, opts.rowInlineMaxBytes) ? b.data : null;
    const hasBytes = b.objectRef !== "" || b.data.byteLength > 0;
    const key = hasBytes && !inline ? bodyObjectKey(rec, name, b.contentType) : null;
    if (key) {
      objects.push({
        key,
        contentType: b.contentType || "application/octet-stream",
        source: b.objectRef ? { ref: b.objectRef } : { inline: b.data },
      });
    }
    return {
      contentType: b.contentType,
      contentEncoding: b.contentEncoding,
      sizeBytes: b.sizeBytes,
      wireSizeBytes: b.wireSizeBytes,
      truncated: b.truncated,
      decoded: b.decoded,
      decodeError: b.decodeError,
      objectKey: key,
      objectUri: key ? uriFor(key) : null,
      inline,
      headers: b.headers,
    };
  };
  const request = body("request", rec.request, rec.requestIsImage);
  const response = body("response", rec.response);
  const analysis = storedAnalysis(rec, uriFor, objects, request.objectUri);
  const row: CaptureRow = {
    id: rec.id,
    model: rec.model,
    version: rec.version,
    task: rec.task,
    route: rec.route,
    cluster: rec.cluster,
    mode: rec.mode,
    method: rec.method,
    path: rec.path,
    receivedAt: new Date(Math.floor(rec.startedAtUs / 1000)),
    durationMs: rec.durationUs / 1000,
    ttfbMs: rec.ttfbUs / 1000,
    upstreamMs: rec.upstreamUs === null ? null : rec.upstreamUs / 1000,
    statusCode: rec.statusCode,
    complete: rec.complete,
    sampleRate: rec.sampleRate,
    request,
    response,
    protocol: analysis?.protocol ?? "",
    parseError: rec.parseError,
    analysis,
    features: analysis?.instances.some((i) => i.input.features)
      ? analysis.instances.map((i) => i.input.features ?? null)
      : null,
    predictions: analysis ? analysis.instances.map((i) => i.prediction) : null,
    labelRate: rec.labelRate,
    labelSet: rec.labelSet,
    labelExports: labelExports(rec, analysis),
  };
  return { objects, row };
}

/**
 * Which instances go to the labeling tool: a label_rate fraction of captures of human-labeled
 * tasks, by a hash of the id salted apart from the sampling hash (so the two are independent).
 */
export function labelExports(rec: CaptureRecord, analysis: Analysis | null): number[] {
  if (!analysis || rec.labelRate <= 0 || !HUMAN_LABELED_TASKS.has(rec.task as Task)) return [];
  if (!isSampled(`label:${rec.id}`, rec.labelRate)) return [];
  return analysis.instances.flatMap((inst, i) =>
    inst.input.text !== undefined || inst.input.image !== undefined ? [i] : [],
  );
}

/**
 * Each input image the collector decoded becomes an object `input-<instance>.<ext>`, linked from
 * the analysis as `input.image.uri`; a raw image upload links the request object instead.
 */
function storeInputImages(
  rec: CaptureRecord,
  analysis: Analysis | null,
  uriFor: (key: string) => string,
  objects: PlannedObject[],
  requestUri: string | null,
): void {
  for (const img of rec.inputImages) {
    const key = bodyObjectKey(rec, `input-${img.instance}`, img.contentType);
    objects.push({
      key,
      contentType: img.contentType,
      source: img.objectRef ? { ref: img.objectRef } : { inline: img.data },
    });
    const image = analysis?.instances[img.instance]?.input.image;
    if (image) image.uri = uriFor(key);
  }
  const raw = rec.requestIsImage ? analysis?.instances[0]?.input.image : undefined;
  if (raw && requestUri) raw.uri = requestUri;
}

/**
 * Parse the record's analysis, link its input images, and move what is too big for a row (long
 * texts, masks) to objects.
 */
function storedAnalysis(
  rec: CaptureRecord,
  uriFor: (key: string) => string,
  objects: PlannedObject[],
  requestUri: string | null,
): Analysis | null {
  const analysis =
    rec.analysisJson.byteLength === 0
      ? null
      : (JSON.parse(Buffer.from(rec.analysisJson).toString("utf8")) as Analysis);
  storeInputImages(rec, analysis, uriFor, objects, requestUri);
  if (!analysis) return null;
  analysis.instances.forEach((inst, i) => {
    const text = inst.input.text;
    if (text !== undefined && text.length > TEXT_INLINE_MAX_CHARS) {
      const key = bodyObjectKey(rec, `text-${i}`, "text/plain");
      objects.push({
        key,
        contentType: "text/plain; charset=utf-8",
        source: { inline: Buffer.from(text, "utf8") },
      });
      Object.assign(inst.input, {
        text: text.slice(0, TEXT_PREFIX_CHARS),
        text_chars: text.length,
        text_uri: uriFor(key),
      });
    }
    const p = inst.prediction;
    if (p?.kind !== "segmentation") return;
    const image = inst.input.image;
    p.instances.forEach((seg, j) => {
      // Polygon-only instances get their mask rasterised at the original image's size.
      const mask =
        seg.rle ??
        (seg.polygons && image ? polygonsToRle(seg.polygons, image.height, image.width) : undefined);
      if (!mask) return;
      // A mask past the pixel budget is not drawn (it would fail the record at every delivery);
      // its RLE or polygons stay in the analysis.
      if (mask.size[0] * mask.size[1] > MAX_MASK_PIXELS) {
        inst.notes = [
          ...(inst.notes ?? []),
          `mask ${j} not stored as a PNG: ${mask.size[0]}×${mask.size[1]} pixels is more than ${MAX_MASK_PIXELS}`,
        ];
        return;
      }
      const key = bodyObjectKey(rec, `mask-${i}-${j}`, "image/png");
      objects.push({ key, contentType: "image/png", source: { mask } });
      Object.assign(seg, { mask_uri: uriFor(key) });
    });
  });
  return analysis;
}
