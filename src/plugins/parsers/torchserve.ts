/**
 * TorchServe `/predictions/{model}`: one instance per request, whose body is whatever the model's
 * handler reads (raw image, multipart file, text or JSON); the JSON response is its output.
 */
import type { BodyView, ParseContext, ProtocolParser, RawInput } from "../../core/plugins.js";
import { fail, isRecord } from "../converters/shared.js";
import { decodeUtf8, isJsonContentType, mediaType, parseJson, tryJson, tryUtf8 } from "./formats/json.js";
import { parseMultipart, type MultipartPart } from "./formats/multipart.js";
import { imageFormat, isImageContentType } from "./formats/raw-image.js";
import { instanceInput, serverError, serverErrorNote } from "./kserve-v1.js";

/** Keys TorchServe's default handlers read the payload from. */
const PAYLOAD_KEYS = ["data", "body", "text", "input"];

function partInput(part: MultipartPart, what: string): RawInput {
  if (imageFormat(part.data)) return { image: part.data };
  const text = tryUtf8(part.data);
  if (text === undefined) fail(`${what}: the file part is neither an image nor UTF-8 text`);
  return { text };
}

function jsonInput(body: unknown, features: readonly string[] | undefined): RawInput {
  const key = isRecord(body) ? PAYLOAD_KEYS.find((k) => k in body) : undefined;
  const payload = isRecord(body) && key !== undefined ? body[key] : body;
  return instanceInput(payload, features, "request");
}

/** Reads a handler's input the way TorchServe hands it over: by content type, then by sniffing. */
export function bodyInput(view: BodyView, features: readonly string[] | undefined): RawInput {
  const type = mediaType(view.contentType);
  if (isImageContentType(type)) {
    if (!imageFormat(view.bytes))
      fail(`request: content type ${type} but the body is not a recognised image`);
    return { image: view.bytes };
  }
  if (type === "multipart/form-data") {
    const parts = parseMultipart(view.bytes, view.contentType);
    // Handlers read the payload field by name (data, body), like a JSON body's keys.
    const file =
      PAYLOAD_KEYS.map((k) => parts.find((p) => p.name === k)).find((p) => p !== undefined) ??
      parts.find((p) => p.filename !== undefined) ??
      parts[0];
    if (!file) fail("request: the multipart body has no parts");
    return partInput(file, "request");
  }
  if (isJsonContentType(type)) return jsonInput(parseJson(view.bytes, "request", view.truncated), features);
  if (type.startsWith("text/")) return { text: decodeUtf8(view.bytes, "request", view.truncated) };
  if (imageFormat(view.bytes)) return { image: view.bytes };
  const text = tryUtf8(view.bytes);
  if (text === undefined)
    fail(`request: a ${type || "untyped"} body that is neither an image, text nor JSON`);
  const json = /^\s*[[{]/.test(text) ? tryJson(view) : undefined;
  return json !== undefined ? jsonInput(json, features) : { text };
}

export function responseBody(view: BodyView): unknown {
  const type = mediaType(view.contentType);
  const body =
    type.startsWith("text/") && !isJsonContentType(type)
      ? (tryJson(view) ?? decodeUtf8(view.bytes, "response", view.truncated))
      : parseJson(view.bytes, "response", view.truncated);
  const error = serverError(body);
  if (error !== undefined) fail(`response: ${serverErrorNote(error)}`);
  // TorchServe's own errors: {code: 503, type: "...", message: "..."}.
  if (
    isRecord(body) &&
    typeof body.code === "number" &&
    body.code >= 400 &&
    typeof body.message === "string"
  ) {
    fail(`response: ${serverErrorNote(body.message, body.code)}`);
  }
  return body;
}

function isLabelScores(v: unknown): boolean {
  if (!isRecord(v)) return false;
  const values = Object.values(v);
  return values.length > 0 && values.every((x) => typeof x === "number");
}

export const torchserveParser: ProtocolParser = {
  name: "torchserve",
  description: "TorchServe /predictions: raw image, multipart, text or JSON in; JSON out; one instance",
  detect(ctx: ParseContext): boolean {
    // Too generic to claim by shape alone, except the stock image classifier's exchange.
    return isImageContentType(ctx.request.contentType) && isLabelScores(tryJson(ctx.response));
  },
  parse(ctx: ParseContext) {
    return { inputs: [bodyInput(ctx.request, ctx.route.features)], outputs: [responseBody(ctx.response)] };
  },
};
