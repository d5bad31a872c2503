/** multipart/form-data (RFC 7578) split into parts, tolerant of bare LF line breaks. */
import { ParseError } from "../../../core/plugins.js";

export interface MultipartPart {
  name: string;
  filename?: string;
  contentType?: string;
  data: Uint8Array;
}

const CR = 0x0d;
const LF = 0x0a;
const DASH = 0x2d;
const latinSafe = new TextDecoder("utf-8");

function fail(message: string): never {
  throw new ParseError(`multipart: ${message}`);
}

export function boundaryOf(contentType: string): string | undefined {
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m?.[1] ?? m?.[2];
}

function param(value: string, key: string): string | undefined {
  const re = new RegExp(`;\\s*${key}=(?:"((?:[^"\\\\]|\\\\.)*)"|([^;]*))`, "i");
  const m = re.exec(value);
  const raw = m?.[1] ?? m?.[2]?.trim();
  return raw?.replace(/\\(.)/g, "$1");
}

function parseHeaders(block: string, index: number): Omit<MultipartPart, "data"> {
  const headers = new Map<string, string>();
  for (const line of block.split(/\r?\n/)) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) fail(`part ${index}: broken header line ${JSON.stringify(line.slice(0, 60))}`);
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  const disposition = headers.get("content-disposition");
  if (disposition === undefined) fail(`part ${index} has no Content-Disposition header`);
  const name = param(disposition, "name");
  if (name === undefined) fail(`part ${index}: Content-Disposition has no name`);
  const filename = param(disposition, "filename");
  const contentType = headers.get("content-type");
  return {
    name,
    ...(filename !== undefined ? { filename } : {}),
    ...(contentType !== undefined ? { contentType } : {}),
  };
}

export function parseMultipart(bytes: Uint8Array, contentType: string): MultipartPart[] {
  const boundary = boundaryOf(contentType);
  if (!boundary) fail(`the content type ${JSON.stringify(contentType)} has no boundary`);
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const delimiter = Buffer.from(`--${boundary}`, "latin1");
  const parts: MultipartPart[] = [];
  let pos = buf.indexOf(delimiter);
  if (pos < 0) fail(`boundary ${JSON.stringify(boundary)} not found in the body`);
  for (let index = 0; ; index++) {
    let p = pos + delimiter.length;
    if (buf[p] === DASH && buf[p + 1] === DASH) return parts;
    while (buf[p] === 0x20 || buf[p] === 0x09) p++;
    if (buf[p] === CR && buf[p + 1] === LF) p += 2;
    else if (buf[p] === LF) p += 1;
    else fail(`broken boundary at byte ${pos}: no line break after it`);
    // The next delimiter bounds this part, so headers never run into the next part.
    let next = buf.indexOf(Buffer.concat([Buffer.from("\r\n"), delimiter]), p);
    let nextLength = 2;
    if (next < 0) {
      next = buf.indexOf(Buffer.concat([Buffer.from("\n"), delimiter]), p);
      nextLength = 1;
    }
    if (next < 0) fail(`part ${index} is not terminated by a boundary (broken or truncated body)`);
    let bodyStart: number;
    let block: string;
    if (buf[p] === CR && buf[p + 1] === LF) {
      bodyStart = p + 2;
      block = "";
    } else if (buf[p] === LF) {
      bodyStart = p + 1;
      block = "";
    } else {
      // The earlier blank line ends the headers: the data may hold the other kind of line break.
      const crlf = buf.indexOf("\r\n\r\n", p);
      const lf = buf.indexOf("\n\n", p);
      const ends = [crlf, lf].filter((at) => at >= 0 && at < next);
      const end = ends.length > 0 ? Math.min(...ends) : -1;
      if (end < 0) fail(`part ${index}: headers are not ended by a blank line`);
      bodyStart = end + (end === crlf ? 4 : 2);
      block = latinSafe.decode(bytes.subarray(p, end));
    }
    parts.push({ ...parseHeaders(block, index), data: bytes.subarray(Math.min(bodyStart, next), next) });
    pos = next + nextLength;
  }
}
