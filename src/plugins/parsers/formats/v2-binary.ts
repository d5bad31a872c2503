/**
 * The Open Inference Protocol binary tensor extension: a JSON header of
 * `Inference-Header-Content-Length` bytes, then the raw data of every tensor whose parameters carry
 * `binary_data_size`, concatenated in tensor order. Decoding puts the values back into `data` so
 * the rest of the parser sees plain JSON tensors; any size that does not add up is a ParseError.
 */
import { ParseError } from "../../../core/plugins.js";
import { describe, isRecord } from "../../converters/shared.js";
import { parseJson, tryUtf8 } from "./json.js";

export type TensorValue = number | boolean | string | Uint8Array;

type Reader = (view: DataView, offset: number) => TensorValue;

/** Element size in bytes and little-endian reader, per fixed-size datatype. */
const FIXED: Readonly<Record<string, readonly [number, Reader]>> = {
  BOOL: [1, (v, o) => v.getUint8(o) !== 0],
  UINT8: [1, (v, o) => v.getUint8(o)],
  INT8: [1, (v, o) => v.getInt8(o)],
  UINT16: [2, (v, o) => v.getUint16(o, true)],
  INT16: [2, (v, o) => v.getInt16(o, true)],
  FP16: [2, (v, o) => fp16ToNumber(v.getUint16(o, true))],
  UINT32: [4, (v, o) => v.getUint32(o, true)],
  INT32: [4, (v, o) => v.getInt32(o, true)],
  FP32: [4, (v, o) => v.getFloat32(o, true)],
  // 64-bit integers become numbers: JSON consumers cannot take BigInt, and exactness past 2^53 is rare.
  UINT64: [8, (v, o) => Number(v.getBigUint64(o, true))],
  INT64: [8, (v, o) => Number(v.getBigInt64(o, true))],
  FP64: [8, (v, o) => v.getFloat64(o, true)],
};

/** IEEE 754 half precision; JavaScript has no native reader for it. */
export function fp16ToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 0x1f) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function decodeBytesElements(bytes: Uint8Array, what: string): Array<string | Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Array<string | Uint8Array> = [];
  let off = 0;
  while (off < bytes.byteLength) {
    if (off + 4 > bytes.byteLength) {
      throw new ParseError(`${what}: BYTES element ${out.length}: length prefix cut off at byte ${off}`);
    }
    const n = view.getUint32(off, true);
    if (off + 4 + n > bytes.byteLength) {
      throw new ParseError(
        `${what}: BYTES element ${out.length}: length ${n} runs past the end of its ${bytes.byteLength}-byte tensor`,
      );
    }
    const element = new Uint8Array(bytes.subarray(off + 4, off + 4 + n));
    out.push(tryUtf8(element) ?? element);
    off += 4 + n;
  }
  return out;
}

/** Raw little-endian tensor bytes → values (BYTES: UTF-8 strings, or bytes when not text). */
export function decodeTensorData(datatype: string, bytes: Uint8Array, what: string): TensorValue[] {
  if (datatype === "BYTES") return decodeBytesElements(bytes, what);
  const fixed = FIXED[datatype];
  if (fixed === undefined) throw new ParseError(`${what}: unknown datatype (${datatype.length} characters)`);
  const [size, read] = fixed;
  if (bytes.byteLength % size !== 0) {
    throw new ParseError(`${what}: ${bytes.byteLength} bytes is not a whole number of ${datatype} values`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Array.from({ length: bytes.byteLength / size }, (_, i) => read(view, i * size));
}

/** Splits the body at the header length: the JSON header bytes and the binary tail. */
export function splitV2Body(
  bytes: Uint8Array,
  headerLength: string,
  what: string,
): { header: Uint8Array; tail: Uint8Array } {
  const n = /^\s*\d+\s*$/.test(headerLength) ? Number(headerLength) : NaN;
  if (!Number.isSafeInteger(n)) {
    throw new ParseError(
      `${what}: inference-header-content-length ${JSON.stringify(headerLength)} is not a size`,
    );
  }
  if (n > bytes.byteLength) {
    throw new ParseError(
      `${what}: inference-header-content-length ${n} is past the end of the ${bytes.byteLength}-byte body`,
    );
  }
  return { header: bytes.subarray(0, n), tail: bytes.subarray(n) };
}

/** The JSON header with every binary tensor's values decoded into its `data`. */
export function decodeV2Binary(
  bytes: Uint8Array,
  headerLength: string,
  what: string,
): Record<string, unknown> {
  const { header, tail } = splitV2Body(bytes, headerLength, what);
  const json = parseJson(header, `${what} header`);
  if (!isRecord(json)) throw new ParseError(`${what}: the binary extension header is not a JSON object`);
  let off = 0;
  const out: Record<string, unknown> = { ...json };
  for (const key of ["inputs", "outputs"]) {
    const tensors = json[key];
    if (!Array.isArray(tensors)) continue;
    out[key] = tensors.map((t: unknown, k) => {
      if (!isRecord(t) || !isRecord(t.parameters) || t.parameters.binary_data_size === undefined) return t;
      const size = t.parameters.binary_data_size;
      const name = `${key}[${k}]`;
      if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
        throw new ParseError(`${what}: tensor ${name}: binary_data_size is ${describe(size)}, not a size`);
      }
      if (off + size > tail.byteLength) {
        throw new ParseError(
          `${what}: tensor ${name}: binary_data_size ${size} runs past the end of the binary data (${tail.byteLength - off} bytes left)`,
        );
      }
      const data = decodeTensorData(
        String(t.datatype),
        tail.subarray(off, off + size),
        `${what}: tensor ${name}`,
      );
      off += size;
      return { ...t, data };
    });
  }
  if (off !== tail.byteLength) {
    throw new ParseError(
      `${what}: ${tail.byteLength - off} bytes of binary data left over after the last binary tensor`,
    );
  }
  return out;
}
