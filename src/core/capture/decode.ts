/**
 * Content-encoding decoding with a cap on the output, so a small compressed body cannot expand
 * into unbounded memory (a "zip bomb"). Decoding never throws: on failure the caller keeps the raw
 * bytes and stores the reason.
 */
import zlib from "node:zlib";

export type DecodeResult = { ok: true; data: Buffer; decoded: boolean } | { ok: false; reason: string };

export const SUPPORTED_ENCODINGS = ["gzip", "x-gzip", "deflate", "br", "identity"] as const;

export function decodeBody(data: Buffer, contentEncoding: string, maxDecodedBytes: number): DecodeResult {
  const encodings = contentEncoding
    .split(",")
    .map((e) => e.trim().toLowerCase())
    .filter((e) => e !== "" && e !== "identity");
  if (encodings.length === 0) return { ok: true, data, decoded: false };
  let out = data;
  // Encodings are listed in the order applied, so undo them from the last.
  for (const enc of encodings.reverse()) {
    const opts = { maxOutputLength: maxDecodedBytes };
    try {
      if (enc === "gzip" || enc === "x-gzip") out = zlib.gunzipSync(out, opts);
      else if (enc === "deflate") out = inflateEither(out, opts);
      else if (enc === "br") out = zlib.brotliDecompressSync(out, opts);
      else return { ok: false, reason: `unsupported content-encoding ${JSON.stringify(enc)}` };
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (
        code === "ERR_BUFFER_TOO_LARGE" ||
        (err instanceof RangeError && /Cannot create a Buffer/i.test(err.message))
      ) {
        return { ok: false, reason: `decompressed size over cap of ${maxDecodedBytes} bytes` };
      }
      return { ok: false, reason: `${enc} decode failed: ${(err as Error).message}` };
    }
  }
  return { ok: true, data: out, decoded: true };
}

/** HTTP "deflate" is zlib-wrapped by the spec, but many servers send raw deflate. Accept both. */
function inflateEither(data: Buffer, opts: zlib.ZlibOptions): Buffer {
  try {
    return zlib.inflateSync(data, opts);
  } catch (err) {
    if ((err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") throw err;
    return zlib.inflateRawSync(data, opts);
  }
}
