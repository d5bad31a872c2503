/**
 * The fallback parser: reads whatever it can from common body formats (raw images, CSV,
 * multipart forms, JSON rows, base64 images inside JSON, text) so that an unknown server still
 * gets its inputs and outputs captured.
 */
import type { ParseContext, ProtocolParser, RawInput } from "../../core/plugins.js";
import { fail, isRecord } from "../converters/shared.js";
import { decodeImageValue, findImage } from "./formats/base64-image.js";
import { parseCsv } from "./formats/csv.js";
import { decodeUtf8, isJsonContentType, mediaType, parseJson, tryUtf8 } from "./formats/json.js";
import { parseMultipart } from "./formats/multipart.js";
import { imageFormat, isImageContentType } from "./formats/raw-image.js";
import { instanceInput } from "./kserve-v1.js";
import { responseBody } from "./torchserve.js";

type Names = readonly string[] | undefined;

const isRow = (v: unknown) => isRecord(v) || Array.isArray(v);

/** `{"data": [...]}`-style wrappers: their single list is the batch. */
function unwrapBatch(v: unknown): unknown {
  const values = isRecord(v) ? Object.values(v) : [];
  return values.length === 1 && Array.isArray(values[0]) ? values[0] : v;
}

/**
 * A response's per-instance list: the body itself, or the one list of n results it wraps
 * (`{"predictions": [...], "model": "m"}`). Undefined when there is no such single list.
 */
function batchOf(body: unknown, n: number): unknown[] | undefined {
  if (Array.isArray(body)) return body.length === n ? body : undefined;
  const lists = isRecord(body) ? Object.values(body).filter((v) => Array.isArray(v) && v.length === n) : [];
  return lists.length === 1 ? (lists[0] as unknown[]) : undefined;
}

/** One batch row: its fields, and the first image nested anywhere in it. */
function rowInput(row: unknown, names: Names, what: string): RawInput {
  const input = instanceInput(row, names, what);
  const image = input.image ?? findImage(row);
  return image ? { ...input, image } : input;
}

function jsonInputs(json: unknown, names: Names): RawInput[] {
  const rows = unwrapBatch(json);
  // Rows first: a batch of images (or texts) is as many instances, not one input.
  if (
    Array.isArray(rows) &&
    rows.length > 0 &&
    (rows.every((r) => isRow(r) || decodeImageValue(r) !== undefined) ||
      (rows.length > 1 && rows.every((r) => typeof r === "string")))
  ) {
    return rows.map((r, i) => rowInput(r, names, `request: row ${i}`));
  }
  const image = findImage(json);
  if (image) return [{ image }];
  if (json === null) return [{}];
  return [instanceInput(Array.isArray(rows) ? rows : json, names, "request")];
}

function multipartInput(bytes: Uint8Array, contentType: string): RawInput {
  const parts = parseMultipart(bytes, contentType);
  // As for a raw body: a file that claims to be an image must be one.
  for (const [k, p] of parts.entries()) {
    if (p.filename !== undefined && isImageContentType(p.contentType ?? "") && !imageFormat(p.data)) {
      fail(
        `request: multipart part ${k}: content type ${mediaType(p.contentType ?? "")} but the data is not a recognised image`,
      );
    }
  }
  const image = parts.find((p) => p.filename !== undefined && imageFormat(p.data))?.data;
  const texts = parts
    .filter((p) => p.filename === undefined)
    .map((p) => tryUtf8(p.data))
    .filter((t): t is string => t !== undefined && t !== "");
  return { ...(image ? { image } : {}), ...(texts.length > 0 ? { text: texts.join("\n") } : {}) };
}

function requestInputs(ctx: ParseContext): RawInput[] {
  const { bytes, contentType, truncated } = ctx.request;
  const type = mediaType(contentType);
  if (isImageContentType(type)) {
    if (!imageFormat(bytes)) fail(`request: content type ${type} but the body is not a recognised image`);
    return [{ image: bytes }];
  }
  if (type === "text/csv" || type === "application/csv") {
    return parseCsv(decodeUtf8(bytes, "request", truncated)).map((features) => ({ features }));
  }
  if (type === "multipart/form-data") return [multipartInput(bytes, contentType)];
  if (isJsonContentType(type)) return jsonInputs(parseJson(bytes, "request", truncated), ctx.route.features);
  if (type.startsWith("text/")) return [{ text: decodeUtf8(bytes, "request", truncated) }];
  if (bytes.byteLength === 0) return [{}];
  if (imageFormat(bytes)) return [{ image: bytes }];
  const text = tryUtf8(bytes);
  if (text === undefined) return [{}];
  if (/^\s*[[{"]/.test(text)) {
    try {
      return jsonInputs(JSON.parse(text), ctx.route.features);
    } catch {
      // Not JSON after all: plain text.
    }
  }
  return [{ text }];
}

export const genericParser: ProtocolParser = {
  name: "generic",
  description: "Fallback: raw images, CSV rows, multipart forms, JSON rows and base64 images; JSON out",
  detect: () => true,
  parse(ctx: ParseContext) {
    const inputs = requestInputs(ctx);
    const body = responseBody(ctx.response);
    const list = inputs.length > 1 ? batchOf(body, inputs.length) : undefined;
    return { inputs, outputs: list ?? [body] };
  },
};
