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
const CRLF_BLANK = Buffer.from("\r\n\r\n");
const LF_BLANK = Buffer.from("\n\n");

function fail(message: string): never {
  throw new ParseError(`multipart: ${message}`);
}

export function boundaryOf(contentType: string): string | undefined {
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m?.[1] ?? m?.[2];
}

/** Compiled once per key, not once per part. */
const PARAMS = new Map<string, RegExp>();

function param(value: string, key: string): string | undefined {
  let re = PARAMS.get(key);
  if (!re) PARAMS.set(key, (re = new RegExp(`;\\s*${key}=(?:"((?:[^"\\\\]|\\\\.)*)"|([^;]*))`, "i")));
  const m = re.exec(value);
  const raw = m?.[1] ?? m?.[2]?.trim();
  return raw?.replace(/\\(.)/g, "$1");
}

function parseHeaders(block: string, index: number): Omit<MultipartPart, "data"> {
  const headers = new Map<string, string>();
  for (const line of block.split(/\r?\n/)) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) fail(`part ${index}: broken header line (no name: value)`);
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

/**
 * The delimiter line that ends the part starting at `from`: the first `--boundary` at the start of
 * a line (after CRLF or a bare LF). `next` is where the line break before it begins. One forward
 * search: an LF-only body is never rescanned to its end looking for a CRLF delimiter first.
 */
function closingDelimiter(
  buf: Buffer,
  delimiter: Buffer,
  from: number,
): { next: number; nextLength: number } | undefined {
  for (let at = buf.indexOf(delimiter, from); at >= 0; at = buf.indexOf(delimiter, at + 1)) {
    if (at - 1 < from || buf[at - 1] !== LF) continue;
    const crlf = at - 2 >= from && buf[at - 2] === CR;
    return { next: at - (crlf ? 2 : 1), nextLength: crlf ? 2 : 1 };
  }
  return undefined;
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
    const close = closingDelimiter(buf, delimiter, p);
    if (close === undefined) fail(`part ${index} is not terminated by a boundary (broken or truncated body)`);
    const { next, nextLength } = close;
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
      // Searched within this part only (and the line break ending it: a part with no data ends its
      // headers there), so the whole parse reads each byte a bounded number of times.
      const part = buf.subarray(p, next + nextLength);
      const crlf = part.indexOf(CRLF_BLANK);
      const lf = part.indexOf(LF_BLANK);
      const ends = [crlf, lf].filter((at) => at >= 0);
      if (ends.length === 0) fail(`part ${index}: headers are not ended by a blank line`);
      const end = Math.min(...ends);
      bodyStart = p + end + (end === crlf ? 4 : 2);
      block = latinSafe.decode(bytes.subarray(p, p + end));
    }
    parts.push({ ...parseHeaders(block, index), data: bytes.subarray(Math.min(bodyStart, next), next) });
    pos = next + nextLength;
  }
}
