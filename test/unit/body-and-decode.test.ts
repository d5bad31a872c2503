import zlib from "node:zlib";
import { describe, expect, it } from "vitest";
import { BodyAssembler } from "../../src/core/body.js";
import { decodeBody } from "../../src/core/decode.js";

describe("BodyAssembler", () => {
  it("keeps every byte under the cap", () => {
    const b = new BodyAssembler(100);
    b.push(Buffer.from("hello "));
    b.push(Buffer.alloc(0));
    b.push(Buffer.from("world"));
    expect(b.bytes().toString()).toBe("hello world");
    expect(b.wireSize).toBe(11);
    expect(b.truncated).toBe(false);
  });

  it("is not truncated exactly at the cap", () => {
    const b = new BodyAssembler(4);
    b.push(Buffer.from("ab"));
    b.push(Buffer.from("cd"));
    expect(b.bytes().toString()).toBe("abcd");
    expect(b.truncated).toBe(false);
  });

  it("keeps the first maxBytes across chunk boundaries, counts the rest, flags truncation", () => {
    const b = new BodyAssembler(5);
    b.push(Buffer.from("abc"));
    b.push(Buffer.from("defg"));
    b.push(Buffer.from("hij"));
    expect(b.bytes().toString()).toBe("abcde");
    expect(b.wireSize).toBe(10);
    expect(b.truncated).toBe(true);
  });

  it("copies its input", () => {
    const src = Buffer.from("abc");
    const b = new BodyAssembler(10);
    b.push(src);
    src.write("xyz");
    expect(b.bytes().toString()).toBe("abc");
  });
});

describe("decodeBody", () => {
  const text = Buffer.from(JSON.stringify({ outputs: Array.from({ length: 50 }, (_, i) => i) }));
  const cap = 1024 * 1024;

  it.each([
    ["gzip", zlib.gzipSync(text)],
    ["x-gzip", zlib.gzipSync(text)],
    ["deflate", zlib.deflateSync(text)],
    ["deflate", zlib.deflateRawSync(text)],
    ["br", zlib.brotliCompressSync(text)],
    ["GZIP", zlib.gzipSync(text)],
  ])("decodes %s", (enc, data) => {
    const r = decodeBody(data, enc, cap);
    expect(r).toEqual({ ok: true, data: text, decoded: true });
  });

  it("undoes stacked encodings from the last applied", () => {
    const data = zlib.brotliCompressSync(zlib.gzipSync(text));
    expect(decodeBody(data, "gzip, br", cap)).toEqual({ ok: true, data: text, decoded: true });
  });

  it("passes identity and empty encodings through", () => {
    expect(decodeBody(text, "", cap)).toEqual({ ok: true, data: text, decoded: false });
    expect(decodeBody(text, "identity", cap)).toEqual({ ok: true, data: text, decoded: false });
  });

  it("reports unsupported and corrupt encodings without throwing", () => {
    const zstd = decodeBody(text, "zstd", cap);
    expect(zstd.ok).toBe(false);
    expect(!zstd.ok && zstd.reason).toContain("unsupported content-encoding");
    const corrupt = decodeBody(Buffer.from("definitely not gzip"), "gzip", cap);
    expect(corrupt.ok).toBe(false);
    expect(!corrupt.ok && corrupt.reason).toMatch(/^gzip decode failed/);
  });

  it("stops a decompression bomb at the cap", () => {
    const bomb = zlib.gzipSync(Buffer.alloc(50 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(100 * 1024);
    const started = performance.now();
    const r = decodeBody(bomb, "gzip", 1024 * 1024);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toBe("decompressed size over cap of 1048576 bytes");
    expect(performance.now() - started).toBeLessThan(2000);
    const br = decodeBody(zlib.brotliCompressSync(Buffer.alloc(8 * 1024 * 1024)), "br", 1024);
    expect(!br.ok && br.reason).toContain("over cap");
  });
});
