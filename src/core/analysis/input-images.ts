/**
 * The input images a capture keeps for object storage. The protocol parser already decoded them
 * while the collector analysed the exchange (base64 in JSON, a multipart file, a binary tensor);
 * they ride on the record so the worker stores each as its own object, even when the request body
 * around them is small enough for the database row. Reading them out again later would need the
 * route's parser and the whole request body again.
 */
import type { Analysis } from "../canonical.js";
import { imageContentType } from "../image-format.js";
import type { ChunkTime, ProtocolParser, RawInput } from "../plugins.js";
import type { CaptureRecord, InputImage } from "../record.js";
import type { AnalysisConfig } from "../route-config.js";
import type { Task } from "../canonical.js";
import { analyzeRecord } from "./analyze.js";

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a === b || (a.byteLength === b.byteLength && Buffer.compare(a, b) === 0);
}

export interface KeptImages {
  images: InputImage[];
  /** The request body is itself instance 0's image: the request object is the image. */
  requestIsImage: boolean;
  /** Instances whose image did not fit in the budget (it stays only inside the request body). */
  dropped: number[];
}

/**
 * Which decoded images to carry: those that are images by content (imageFormat), in instance
 * order, until together they would pass maxBytes. A raw image upload is not carried twice.
 */
export function keptInputImages(
  request: Uint8Array,
  inputs: readonly RawInput[],
  maxBytes: number,
): KeptImages {
  const kept: KeptImages = { images: [], requestIsImage: false, dropped: [] };
  let total = 0;
  inputs.forEach((raw, instance) => {
    const data = raw.image;
    if (!data) return;
    if (instance === 0 && inputs.length === 1 && sameBytes(data, request)) {
      kept.requestIsImage = true;
      return;
    }
    const contentType = imageContentType(data);
    if (!contentType) return;
    if (total + data.byteLength > maxBytes) {
      kept.dropped.push(instance);
      return;
    }
    total += data.byteLength;
    kept.images.push({ instance, contentType, data, objectRef: "", sizeBytes: data.byteLength });
  });
  return kept;
}

/** Say on each instance whose image was not kept why it has no image object (the rare case). */
function noteDropped(record: CaptureRecord, dropped: readonly number[], maxBytes: number): void {
  if (dropped.length === 0 || record.analysisJson.byteLength === 0) return;
  const analysis = JSON.parse(Buffer.from(record.analysisJson).toString("utf8")) as Analysis;
  for (const i of dropped) {
    const inst = analysis.instances[i];
    if (!inst) continue;
    const note = `input image not stored as an object: the capture's images passed max_decoded_bytes (${maxBytes} bytes); it is kept only inside the request body`;
    inst.notes = [...(inst.notes ?? []), note];
  }
  record.analysisJson = Buffer.from(JSON.stringify(analysis));
}

/**
 * analyzeRecord, and the decoded input images kept on the record (at most maxImageBytes of them,
 * the route's max_decoded_bytes). Returns the instances whose image was dropped over that budget.
 */
export function analyzeRecordWithImages(
  record: CaptureRecord,
  task: Task,
  cfg: AnalysisConfig,
  parsers: readonly ProtocolParser[],
  responseChunkTimes: readonly ChunkTime[],
  maxImageBytes: number,
): number[] {
  const inputs = analyzeRecord(record, task, cfg, parsers, responseChunkTimes);
  const kept = keptInputImages(record.request.data, inputs, maxImageBytes);
  record.inputImages = kept.images;
  record.requestIsImage = kept.requestIsImage;
  noteDropped(record, kept.dropped, maxImageBytes);
  return kept.dropped;
}
