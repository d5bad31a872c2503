/** Bytes for bodies: UTF-8 text, base64, and small real PNGs. */
import { encode } from "fast-png";
import { mulberry32 } from "./random.js";

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

export const b64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64");

/** A valid RGB PNG of this size, one flat grey (what is tested is the size and the format). */
export function png(width: number, height: number): Uint8Array {
  return encode({ width, height, data: new Uint8Array(width * height * 3).fill(120), channels: 3 });
}

/** A valid RGB PNG of this size whose pixels do not compress: about width × height × 3 bytes. */
export function noisyPng(width: number, height: number, seed = 1): Uint8Array {
  const rnd = mulberry32(seed);
  const data = Uint8Array.from({ length: width * height * 3 }, () => Math.floor(rnd() * 256));
  return encode({ width, height, data, channels: 3 });
}

/** A real 8×8 grey baseline JPEG (fast-png makes PNGs only). */
export function jpeg8x8(): Buffer {
  return Buffer.from(
    "/9j/2wBDAAEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQH/wAALCAAIAAgBAREA/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/9oACAEBAAA/ACv/2Q==",
    "base64",
  );
}
