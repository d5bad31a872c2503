/**
 * What the worker must write for one capture record: the body objects and the index row.
 * Pure, so the mapping from record to storage is unit-tested without S3 or Postgres.
 */
import type { Analysis, ImageInfo, Instance, Rle } from "../canonical.js";
import { bodyObjectKey } from "./object-key.js";
import type { BodyRow, CaptureRow } from "../ports.js";
import type { CaptureRecord, CapturedBody } from "../record.js";
import { polygonsToRle } from "../rle.js";
import { budgetOf, flagOverBudget, imageOverBudget, MaskAllowance, type GeometryBudget } from "../budget.js";
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
    requestId: rec.requestId,
    sampledBy: rec.sampledBy,
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
 * tasks, by a hash of the capture id (random per exchange since schema 2, and salted apart from
 * the sampling hash of schema-1 ids, so the two are independent).
 */
export function labelExports(rec: CaptureRecord, analysis: Analysis | null): number[] {
  if (!analysis || rec.labelRate <= 0 || !HUMAN_LABELED_TASKS.has(rec.task as Task)) return [];
  if (!isSampled(`label:${rec.id}`, rec.labelRate, 0n)) return [];
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
  // Masks are drawn within the budget the collector analysed the capture under.
  const budget = budgetOf(analysis);
  const masks = new MaskAllowance(budget);
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
    const image = trustedImage(analysis, inst, budget);
    p.instances.forEach((seg, j) => {
      // Polygon-only instances get their mask rasterised at the original image's size.
      const size = seg.rle?.size ?? (seg.polygons && image ? [image.height, image.width] : undefined);
      if (!size) return;
      // A mask past the budget is not drawn (it would stall the worker, or fail the record at
      // every delivery); its RLE or polygons stay in the analysis.
      const refused = masks.take(size[0], size[1]);
      if (refused) {
        flagOverBudget(analysis, refused);
        note(inst, `mask ${j} not stored as a PNG: ${masks.describe(refused, size[0], size[1])}`);
        return;
      }
      const mask = seg.rle ?? polygonsToRle(seg.polygons!, size[0], size[1], budget.maskPixels);
      const key = bodyObjectKey(rec, `mask-${i}-${j}`, "image/png");
      objects.push({ key, contentType: "image/png", source: { mask } });
      Object.assign(seg, { mask_uri: uriFor(key) });
    });
  });
  return analysis;
}

const MAX_WORKER_NOTES = 20;

function note(inst: Instance, message: string): void {
  if ((inst.notes?.length ?? 0) < MAX_WORKER_NOTES) inst.notes = [...(inst.notes ?? []), message];
}

/** The input image's size, unless it claims more pixels than the budget (an older collector's analysis). */
function trustedImage(analysis: Analysis, inst: Instance, budget: GeometryBudget): ImageInfo | undefined {
  const image = inst.input.image;
  if (!image) return undefined;
  const refused = imageOverBudget(image.width, image.height, budget);
  if (!refused) return image;
  flagOverBudget(analysis, "image_pixels");
  note(inst, `${refused}: no mask drawn`);
  return undefined;
}
