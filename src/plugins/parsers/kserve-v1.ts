/**
 * KServe V1 / TensorFlow Serving REST: `{instances: [...]}` rows or `{inputs: ...}` columns in,
 * `{predictions: [...]}` or `{outputs: ...}` out. Also exports the instance reading that other
 * JSON protocols share (features, text, `{b64}` images).
 */
import type { ParseContext, ProtocolParser, RawInput } from "../../core/plugins.js";
import { describe, fail, isRecord } from "../converters/shared.js";
import { decodeBase64, decodeImageValue } from "./formats/base64-image.js";
import { imageFormat } from "./formats/raw-image.js";
import { parseJson, tryJson } from "./formats/json.js";

type Scalar = number | string | boolean | null;

/** Object keys whose string value is the instance's text rather than a categorical feature. */
const TEXT_KEYS = new Set(["text", "sentence", "input", "inputs", "prompt", "query", "question"]);

function isScalar(v: unknown): v is Scalar {
  return v === null || ["number", "string", "boolean"].includes(typeof v);
}

function isBinary(v: unknown): v is { b64: string } {
  return isRecord(v) && typeof v.b64 === "string";
}

/**
 * TF Serving's `{"b64": ...}` binary value: its image, or undefined for other binary payloads
 * (serialized examples, audio), which are not features and stay in the raw body.
 */
function binaryImage(v: { b64: string }, what: string): Uint8Array | undefined {
  const bytes = decodeBase64(v.b64);
  if (bytes === undefined) fail(`${what}: {b64} value is not valid base64`);
  return imageFormat(bytes) ? bytes : undefined;
}

function fromRecord(v: Record<string, unknown>, what: string): RawInput {
  const input: RawInput = {};
  const features: Record<string, Scalar> = {};
  for (const [key, value] of Object.entries(v)) {
    // TF Serving may wrap a named input's binary value in a one-element list.
    const x = Array.isArray(value) && value.length === 1 && isBinary(value[0]) ? value[0] : value;
    const image = isBinary(x) ? binaryImage(x, `${what}: ${key}`) : decodeImageValue(x);
    if (image) input.image ??= image;
    else if (isBinary(x)) continue;
    else if (typeof x === "string" && TEXT_KEYS.has(key) && input.text === undefined) input.text = x;
    else if (isScalar(x)) features[key] = x;
    // TF Serving wraps single values in a one-element list per named input.
    else if (Array.isArray(x) && x.length === 1 && isScalar(x[0])) features[key] = x[0];
    // Nested tensors (pixels, embeddings) are not tabular features: left to the raw body.
  }
  if (Object.keys(features).length > 0) input.features = features;
  return input;
}

/** One instance's input from a JSON value: image, text, or features named by `names`. */
export function instanceInput(v: unknown, names: readonly string[] | undefined, what: string): RawInput {
  if (isBinary(v)) {
    const image = binaryImage(v, what);
    return image ? { image } : {};
  }
  const image = decodeImageValue(v);
  if (image) return { image };
  if (typeof v === "string") return { text: v };
  if (typeof v === "number" || typeof v === "boolean") return { features: { [names?.[0] ?? "f0"]: v } };
  if (isRecord(v)) return fromRecord(v, what);
  if (Array.isArray(v)) {
    if (v.length === 1 && (typeof v[0] === "string" || isRecord(v[0])))
      return instanceInput(v[0], names, what);
    if (v.every(isScalar)) {
      return { features: Object.fromEntries(v.map((x, j) => [names?.[j] ?? `f${j}`, x])) };
    }
    return {};
  }
  fail(`${what}: expected an object, a list, a string or a number, got ${describe(v)}`);
}

/** A lone named input column of numbers or booleans: each row keeps the column's name. */
function namedScalars(columns: Record<string, unknown>, rows: unknown[]): unknown[] {
  const names = Object.keys(columns);
  const [name] = names;
  if (names.length !== 1 || name === undefined) return rows;
  return rows.map((x) => (typeof x === "number" || typeof x === "boolean" ? { [name]: x } : x));
}

/** Columnar `inputs`/`outputs` (name → batch list) turned into rows. */
function columnsToRows(columns: Record<string, unknown>, what: string): unknown[] {
  const entries = Object.entries(columns);
  const [, first] = entries[0] ?? [];
  if (!Array.isArray(first)) return [columns];
  for (const [k, [, col]] of entries.entries()) {
    if (Array.isArray(col) && col.length !== first.length)
      fail(`${what}: column ${k} has ${col.length} values, column 0 has ${first.length}`);
  }
  // A single named column stands for the instance itself, as in TF Serving's row format.
  if (entries.length === 1) return first;
  return first.map((_, i) =>
    Object.fromEntries(entries.map(([key, col]) => [key, Array.isArray(col) ? col[i] : col])),
  );
}

function requestRows(body: unknown): unknown[] {
  if (!isRecord(body))
    fail(`request: expected a JSON object with instances or inputs, got ${describe(body)}`);
  if (Array.isArray(body.instances)) return body.instances;
  if (body.instances !== undefined)
    fail(`request: instances: expected a list, got ${describe(body.instances)}`);
  if (Array.isArray(body.inputs)) return body.inputs;
  if (isRecord(body.inputs)) return namedScalars(body.inputs, columnsToRows(body.inputs, "request: inputs"));
  if (body.inputs !== undefined) return [body.inputs];
  fail("request: expected {instances: [...]} or {inputs: ...}");
}

/**
 * How a parse error mentions a server's error: its message is response body text (it may echo the
 * request), so only its size is given; the message itself is in the stored response.
 */
export function serverErrorNote(error: string, code?: number): string {
  const what = code === undefined ? "an error" : `error ${code}`;
  return `the server returned ${what} (its message, ${error.length} characters, is in the stored response)`;
}

export function serverError(body: unknown): string | undefined {
  if (!isRecord(body)) return undefined;
  const e = body.error;
  if (typeof e === "string") return e;
  // Hugging Face's validation errors: {"error": ["Error in `inputs`: ...", ...]}.
  if (Array.isArray(e) && e.length > 0 && e.every((x) => typeof x === "string")) return e.join("; ");
  if (isRecord(e) && typeof e.message === "string") return e.message;
  return undefined;
}

function responseOutputs(body: unknown): unknown[] {
  const error = serverError(body);
  if (error !== undefined) fail(`response: ${serverErrorNote(error)}`);
  if (!isRecord(body))
    fail(`response: expected a JSON object with predictions or outputs, got ${describe(body)}`);
  if (Array.isArray(body.predictions)) return body.predictions;
  if (Array.isArray(body.outputs)) return body.outputs;
  if (isRecord(body.outputs)) return columnsToRows(body.outputs, "response: outputs");
  if (body.outputs !== undefined) return [body.outputs];
  fail("response: expected {predictions: [...]} or {outputs: ...}");
}

export const kserveV1Parser: ProtocolParser = {
  name: "kserve_v1",
  description:
    "KServe V1 / TF Serving REST: instances/predictions rows, inputs/outputs columns, {b64} images",
  detect(ctx: ParseContext): boolean {
    const req = tryJson(ctx.request);
    if (!isRecord(req)) return false;
    if (Array.isArray(req.instances)) return true;
    const res = tryJson(ctx.response);
    return (
      isRecord(res) && (Array.isArray(res.predictions) || (req.inputs !== undefined && "outputs" in res))
    );
  },
  parse(ctx: ParseContext) {
    const rows = requestRows(parseJson(ctx.request.bytes, "request", ctx.request.truncated));
    const inputs = rows.map((row, i) => instanceInput(row, ctx.route.features, `request: instance ${i}`));
    const outputs = responseOutputs(parseJson(ctx.response.bytes, "response", ctx.response.truncated));
    if (outputs.length !== inputs.length)
      fail(
        `response: ${outputs.length} predictions for ${inputs.length} instances, expected one per instance`,
      );
    return { inputs, outputs };
  },
};
