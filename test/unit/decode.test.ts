/** src/core/capture/decode.ts: decodeBody for every content-encoding, stacked encodings, failures, and the output cap. */
import zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import { decodeBody } from "../../src/core/capture/decode.js";

const MB = 1024 * 1024;

const text = Buffer.from(
  JSON.stringify({ inputs: [{ name: "x", data: [1, 2, 3], note: "héllo ".repeat(50) }] }),
);

function expectDecoded(result: ReturnType<typeof decodeBody>): Buffer {
  if (!result.ok) throw new Error(`expected ok, got ${result.reason}`);
  expect(result.decoded).toBe(true);
  return result.data;
}

/** 50 MB of zeros, gzipped without ever holding 50 MB in memory. */
async function gzipBomb(totalBytes: number): Promise<Buffer> {
  const gz = zlib.createGzip({ level: 9 });
  const out: Buffer[] = [];
  gz.on("data", (c: Buffer) => out.push(c));
  const done = new Promise<void>((resolve, reject) => {
    gz.on("end", resolve);
    gz.on("error", reject);
  });
  const zeros = Buffer.alloc(MB);
  for (let sent = 0; sent < totalBytes; sent += zeros.byteLength) {
    if (!gz.write(zeros)) await new Promise((r) => gz.once("drain", r));
  }
  gz.end();
  await done;
  return Buffer.concat(out);
}

describe("decodeBody", () => {
  it.each([
    ["gzip", zlib.gzipSync(text)],
    ["x-gzip", zlib.gzipSync(text)],
    ["GZIP", zlib.gzipSync(text)],
    ["deflate", zlib.deflateSync(text)], // zlib-wrapped, as the spec says
    ["deflate", zlib.deflateRawSync(text)], // raw, as many servers send
    ["br", zlib.brotliCompressSync(text)],
  ])("decodes %s", (encoding, encoded) => {
    expect(encoded.equals(text)).toBe(false);
    const data = expectDecoded(decodeBody(encoded, encoding, MB));
    expect(data.equals(text)).toBe(true);
  });

  it.each(["", "identity", " identity ", "identity, identity"])(
    "leaves the bytes alone for encoding %j",
    (encoding) => {
      const result = decodeBody(text, encoding, MB);
      expect(result).toEqual({ ok: true, data: text, decoded: false });
      if (result.ok) expect(result.data).toBe(text);
    },
  );

  it('undoes stacked encodings from the last: "gzip, br" is br(gzip(x))', () => {
    const stacked = zlib.brotliCompressSync(zlib.gzipSync(text));
    const data = expectDecoded(decodeBody(stacked, "gzip, br", MB));
    expect(data.equals(text)).toBe(true);
    // The other order must not be accepted for the same bytes.
    const wrong = decodeBody(stacked, "br, gzip", MB);
    expect(wrong.ok).toBe(false);
  });

  it("reports an unsupported encoding without throwing", () => {
    const result = decodeBody(text, "compress", MB);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(/unsupported content-encoding "compress"/);
    const zstdAlone = decodeBody(text, "zstd", MB);
    expect(zstdAlone.ok).toBe(false);
    if (!zstdAlone.ok) expect(zstdAlone.reason).toMatch(/unsupported content-encoding "zstd"/);
    const zstd = decodeBody(zlib.gzipSync(text), "gzip, zstd", MB);
    expect(zstd.ok).toBe(false);
    if (!zstd.ok) expect(zstd.reason).toContain("zstd");
  });

  it("reports corrupt gzip as a failure with a reason", () => {
    const gz = zlib.gzipSync(text);
    const corrupt = Buffer.from(gz);
    corrupt.fill(0x55, 10, 30);
    for (const bad of [corrupt, gz.subarray(0, gz.byteLength >> 1), Buffer.from("not gzip at all")]) {
      const result = decodeBody(bad, "gzip", MB);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.reason).toMatch(/^gzip decode failed/);
    }
  });

  it("reports corrupt deflate and brotli as failures", () => {
    expect(decodeBody(Buffer.from([0xff, 0xfe, 0xfd, 0xfc]), "deflate", MB).ok).toBe(false);
    expect(decodeBody(Buffer.from("definitely not brotli"), "br", MB).ok).toBe(false);
  });

  it("accepts a body exactly at the decoded cap", () => {
    const body = Buffer.alloc(4096, 7);
    const data = expectDecoded(decodeBody(zlib.gzipSync(body), "gzip", 4096));
    expect(data.byteLength).toBe(4096);
    const over = decodeBody(zlib.gzipSync(body), "gzip", 4095);
    expect(over.ok).toBe(false);
  });

  it.each([
    ["deflate", zlib.deflateSync(Buffer.alloc(4 * MB))],
    ["deflate", zlib.deflateRawSync(Buffer.alloc(4 * MB))],
    ["br", zlib.brotliCompressSync(Buffer.alloc(4 * MB))],
  ])("stops %s output at the cap", (encoding, encoded) => {
    const result = decodeBody(encoded, encoding, MB);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toBe(`decompressed size over cap of ${MB} bytes`);
  });

  it("refuses a gzip bomb (50 MB of zeros) at a 1 MB cap, quickly", async () => {
    const bomb = await gzipBomb(50 * MB);
    expect(bomb.byteLength).toBeLessThan(100 * 1024); // it really is a small input
    const heapBefore = process.memoryUsage().arrayBuffers;
    const t0 = performance.now();
    const result = decodeBody(bomb, "gzip", MB);
    const elapsed = performance.now() - t0;
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toBe(`decompressed size over cap of ${MB} bytes`);
    expect(elapsed).toBeLessThan(2000);
    // Nothing near the 50 MB output is still held.
    expect(process.memoryUsage().arrayBuffers - heapBefore).toBeLessThan(20 * MB);
  });
});
