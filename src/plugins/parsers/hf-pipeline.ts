/**
 * Hugging Face pipelines and the Inference API: `{inputs, parameters?}` JSON, raw image bytes or a
 * multipart upload in; label/score lists, entity lists or detection lists out. A batch is a list of N inputs
 * answered by a list of N results.
 */
import type { ParseContext, ProtocolParser, RawInput } from "../../core/plugins.js";
import { describe, fail, isRecord } from "../converters/shared.js";
import { decodeImageValue } from "./formats/base64-image.js";
import { isJsonContentType, mediaType, parseJson, tryJson } from "./formats/json.js";
import { imageFormat, isImageContentType } from "./formats/raw-image.js";
import { instanceInput } from "./kserve-v1.js";
import { bodyInput, responseBody } from "./torchserve.js";

function one(s: string): RawInput {
  const image = decodeImageValue(s);
  return image ? { image } : { text: s };
}

function isRawImage(ctx: ParseContext): boolean {
  const { contentType, bytes } = ctx.request;
  return (
    isImageContentType(contentType) || (!isJsonContentType(contentType) && imageFormat(bytes) !== undefined)
  );
}

function requestInputs(ctx: ParseContext): RawInput[] {
  if (isRawImage(ctx)) {
    if (!imageFormat(ctx.request.bytes))
      fail(`request: content type ${ctx.request.contentType} but the body is not a recognised image`);
    return [{ image: ctx.request.bytes }];
  }
  // Inference Endpoints' custom handlers and hand-rolled servers take uploads as well.
  if (mediaType(ctx.request.contentType) === "multipart/form-data") {
    return [bodyInput(ctx.request, ctx.route.features)];
  }
  const body = parseJson(ctx.request.bytes, "request", ctx.request.truncated);
  if (!isRecord(body) || !("inputs" in body)) fail(`request: expected {inputs: ...}, got ${describe(body)}`);
  const v = body.inputs;
  if (typeof v === "string") return [one(v)];
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "string")) return v.map(one);
  // Multi-field pipelines: {question, context}, {image, candidate_labels}, ...
  if (isRecord(v)) return [instanceInput(v, ctx.route.features, "request: inputs")];
  fail(`request: inputs: expected a string, a list of strings or an object, got ${describe(v)}`);
}

function outputs(body: unknown, n: number): unknown[] {
  if (!Array.isArray(body) && !isRecord(body))
    fail(`response: expected a JSON list or object, got ${describe(body)}`);
  if (n > 1) {
    if (!Array.isArray(body) || body.length !== n) {
      fail(`response: ${n} inputs need a list of ${n} results, got ${describe(body)}`);
    }
    return body;
  }
  // The Inference API wraps a single input's class list in one more list.
  if (Array.isArray(body) && body.length === 1 && Array.isArray(body[0])) return [body[0]];
  if (isBatchAnswer(body)) fail(`response: 1 input needs 1 result, got ${body.length} result lists`);
  return [body];
}

/** Several lists of result objects: the answer to a batch, not to one input. */
function isBatchAnswer(body: unknown): body is unknown[][] {
  return (
    Array.isArray(body) &&
    body.length > 1 &&
    body.every((r) => Array.isArray(r) && r.length > 0 && r.every(isRecord))
  );
}

function isResultList(v: unknown): boolean {
  return Array.isArray(v) && v.length > 0 && v.every((x) => isRecord(x) && "score" in x && "label" in x);
}

export const hfPipelineParser: ProtocolParser = {
  name: "hf_pipeline",
  description: "Hugging Face pipeline / Inference API JSON: classification, token classification, detection",
  detect(ctx: ParseContext): boolean {
    const req = tryJson(ctx.request);
    if (isRecord(req)) {
      const v = req.inputs;
      return (
        typeof v === "string" || (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "string"))
      );
    }
    return isImageContentType(ctx.request.contentType) && isResultList(tryJson(ctx.response));
  },
  parse(ctx: ParseContext) {
    const inputs = requestInputs(ctx);
    return { inputs, outputs: outputs(responseBody(ctx.response), inputs.length) };
  },
};
