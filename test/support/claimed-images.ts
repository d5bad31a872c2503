/**
 * Image headers that claim any size in a few bytes: what a hostile client sends to make the
 * collector or the worker draw masks at that size. Only the header is real; there are no pixels.
 */
import { crc32 } from "node:zlib";

/** A PNG signature and IHDR chunk (33 bytes) claiming width × height (each up to 2^32 - 1). */
export function claimedPng(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 0, 0, 0, 0], 8); // 8-bit grayscale, no interlace
  const type = Buffer.from("IHDR", "latin1");
  const len = Buffer.alloc(4);
  len.writeUInt32BE(13, 0);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([type, ihdr])), 0);
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), len, type, ihdr, crc]);
}

/** A JPEG start, a JFIF segment and a baseline frame header claiming width × height (each up to 65535). */
export function claimedJpeg(width: number, height: number): Buffer {
  const sof = Buffer.from([0xff, 0xc0, 0x00, 0x0b, 0x08, 0, 0, 0, 0, 0x01, 0x01, 0x11, 0x00]);
  sof.writeUInt16BE(height, 5);
  sof.writeUInt16BE(width, 7);
  const app0 = Buffer.from([0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0]);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app0, sof, Buffer.from([0xff, 0xd9])]);
}

/** A WebP (VP8X) header claiming width × height (each up to 2^24). */
export function claimedWebp(width: number, height: number): Buffer {
  const vp8x = Buffer.alloc(10);
  vp8x.writeUIntLE(width - 1, 4, 3);
  vp8x.writeUIntLE(height - 1, 7, 3);
  const chunk = Buffer.concat([Buffer.from("VP8X", "latin1"), Buffer.from([10, 0, 0, 0]), vp8x]);
  const riff = Buffer.alloc(4);
  riff.writeUInt32LE(4 + chunk.length, 0);
  return Buffer.concat([Buffer.from("RIFF", "latin1"), riff, Buffer.from("WEBP", "latin1"), chunk]);
}
