/**
 * Open Inference Protocol (KServe V2, Triton, MLServer): named tensors with shape and datatype,
 * as JSON or with the binary tensor extension. The batch dimension (shape[0] of the first input)
 * splits the exchange into instances.
 */
import type { BodyView, ParseContext, ProtocolParser, RawInput } from "../../core/plugins.js";
import { describe, fail, isRecord, shapeOf } from "../converters/shared.js";
import { decodeImageValue } from "./formats/base64-image.js";
import { header, parseJson, tryJson } from "./formats/json.js";
import { imageFormat } from "./formats/raw-image.js";
import { decodeV2Binary } from "./formats/v2-binary.js";
import { serverError, serverErrorNote } from "./kserve-v1.js";

const HEADER_LENGTH = "inference-header-content-length";
/** An input tensor with no values may claim this many rows (an empty optional input of a batch); more is refused. */
const MAX_EMPTY_INPUT_ROWS = 1024;

interface Tensor {
  name: string;
  datatype: string;
  shape: number[];
  /** Row-major values, flattened (JSON may nest them by shape). */
  data: unknown[];
}

const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

function readBody(view: BodyView, what: string): Record<string, unknown> {
  const length = header(view, HEADER_LENGTH);
  const body =
    length !== undefined
      ? decodeV2Binary(view.bytes, length, what)
      : parseJson(view.bytes, what, view.truncated);
  const error = serverError(body);
  if (error !== undefined) fail(`${what}: ${serverErrorNote(error)}`);
  if (!isRecord(body)) fail(`${what}: expected a JSON object, got ${describe(body)}`);
  return body;
}

/**
 * A tensor with no values may still claim any shape ([1000000000, 0]); splitting and reshaping it
 * would build that many empty rows from a few bytes. Like every row with values, each empty row
 * must be paid for by a byte of the exchange, which bounds the work by the capture's size.
 */
function emptyRows(shape: readonly number[]): number {
  return product(shape.slice(0, shape.indexOf(0)));
}

function tensors(body: Record<string, unknown>, key: string, what: string, maxEmptyRows: number): Tensor[] {
  const list = body[key];
  if (!Array.isArray(list) || list.length === 0) fail(`${what}: expected a non-empty ${key} list`);
  return list.map((t: unknown, k) => {
    const where = `${what}: ${key}[${k}]`;
    if (!isRecord(t) || typeof t.name !== "string" || typeof t.datatype !== "string") {
      fail(`${where}: expected a tensor {name, shape, datatype, data}, got ${describe(t)}`);
    }
    const shape = t.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      fail(`${where}: shape must be a list of sizes, got ${describe(shape)}`);
    }
    if (!Array.isArray(t.data)) fail(`${where}: data must be a list, got ${describe(t.data)}`);
    const data = t.data.flat(Infinity);
    if (data.length !== product(shape)) {
      fail(`${where}: shape ${shapeOf(shape)} holds ${product(shape)} values, data has ${data.length}`);
    }
    // An input with no values has nothing to analyse: a small batch of it is a legitimately empty
    // optional input ([1, 0]), but [N, 0] with N up to the exchange's size would make N empty
    // instances, each failing on its own.
    if (data.length === 0 && key === "inputs" && (shape[0] ?? 1) > MAX_EMPTY_INPUT_ROWS) {
      fail(`${where}: shape ${shapeOf(shape)} holds no values but claims ${shape[0] ?? 1} rows`);
    }
    if (data.length === 0 && emptyRows(shape) > maxEmptyRows) {
      fail(
        `${where}: shape ${shapeOf(shape)} holds no values but ${emptyRows(shape)} empty rows, more than the exchange's ${maxEmptyRows} bytes`,
      );
    }
    return { name: t.name, datatype: t.datatype, shape, data };
  });
}

const batchOf = (t: Tensor) => t.shape[0] ?? 1;
const rowDims = (t: Tensor) => t.shape.slice(1);

function reshape(flat: unknown[], dims: readonly number[]): unknown {
  const [d, ...rest] = dims;
  if (d === undefined) return flat[0];
  const step = product(rest);
  return Array.from({ length: d }, (_, k) => reshape(flat.slice(k * step, (k + 1) * step), rest));
}

function row(t: Tensor, i: number): unknown[] {
  const size = product(rowDims(t));
  return t.data.slice(i * size, (i + 1) * size);
}

type Scalar = number | string | boolean | null;
const isScalar = (v: unknown): v is Scalar =>
  v === null || ["number", "string", "boolean"].includes(typeof v);

function instanceInput(all: Tensor[], i: number, names: readonly string[] | undefined): RawInput {
  const input: RawInput = {};
  const features: Record<string, Scalar> = {};
  const numeric = all.filter((t) => t.datatype !== "BYTES");
  const bytes = all.filter((t) => t.datatype === "BYTES");
  // A lone [N, F] tensor is a feature matrix; several inputs are one named column each.
  const matrix = numeric.length === 1 && bytes.length === 0 ? numeric[0] : undefined;
  for (const t of numeric) {
    const dims = rowDims(t);
    const values = row(t, i);
    // Tensors of rank 3 or more are pixels or embeddings, not tabular features.
    if (dims.length > 1) continue;
    values.forEach((v, j) => {
      if (!isScalar(v)) return;
      const own = dims.length === 0 || (t !== matrix && values.length === 1) ? t.name : `${t.name}_${j}`;
      features[t === matrix ? (names?.[j] ?? own) : own] = v;
    });
  }
  const textual = numeric.length === 0 && bytes.length === 1;
  for (const t of bytes) {
    const values = row(t, i);
    values.forEach((v, j) => {
      const image = v instanceof Uint8Array ? (imageFormat(v) ? v : undefined) : decodeImageValue(v);
      if (image) input.image ??= image;
      else if (typeof v !== "string") return;
      else if (textual && values.length === 1) input.text = v;
      else features[values.length === 1 ? t.name : `${t.name}_${j}`] = v;
    });
  }
  if (Object.keys(features).length > 0) input.features = features;
  return input;
}

function instanceOutput(outputs: Tensor[], i: number, n: number): Record<string, unknown> {
  return Object.fromEntries(
    outputs.map((t, k) => {
      if (t.shape.length > 0 && batchOf(t) === n) return [t.name, reshape(row(t, i), rowDims(t))];
      // A model without a batch dimension answers for its single instance as a whole.
      if (n === 1) return [t.name, reshape(t.data, t.shape)];
      fail(`response: outputs[${k}] has batch size ${batchOf(t)}, the request has ${n}`);
    }),
  );
}

function looksLikeTensors(v: unknown, key: string): boolean {
  if (!isRecord(v) || !Array.isArray(v[key]) || v[key].length === 0) return false;
  return v[key].every(
    (t: unknown) => isRecord(t) && typeof t.name === "string" && typeof t.datatype === "string",
  );
}

export const kserveV2Parser: ProtocolParser = {
  name: "kserve_v2",
  description: "Open Inference Protocol (KServe V2, Triton, MLServer): JSON and binary tensor extension",
  detect(ctx: ParseContext): boolean {
    if (header(ctx.request, HEADER_LENGTH) !== undefined) return true;
    if (header(ctx.response, HEADER_LENGTH) !== undefined) return true;
    return (
      looksLikeTensors(tryJson(ctx.request), "inputs") || looksLikeTensors(tryJson(ctx.response), "outputs")
    );
  },
  parse(ctx: ParseContext) {
    const size = ctx.request.bytes.byteLength + ctx.response.bytes.byteLength;
    const ins = tensors(readBody(ctx.request, "request"), "inputs", "request", size);
    const n = batchOf(ins[0] as Tensor);
    for (const [k, t] of ins.entries()) {
      if (batchOf(t) !== n) fail(`request: inputs[${k}] has batch size ${batchOf(t)}, the first has ${n}`);
    }
    const outs = tensors(readBody(ctx.response, "response"), "outputs", "response", size);
    const inputs = Array.from({ length: n }, (_, i) => instanceInput(ins, i, ctx.route.features));
    const outputs = Array.from({ length: n }, (_, i) => instanceOutput(outs, i, n));
    return { inputs, outputs };
  },
};
