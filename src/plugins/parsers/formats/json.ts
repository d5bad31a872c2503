/**
 * Body decoding shared by the protocol parsers: strict UTF-8, JSON, media types and headers.
 * Strict decoding matters: a silently replaced byte would make a corrupt capture look valid.
 */
import { ParseError, type BodyView } from "../../../core/plugins.js";

const utf8 = new TextDecoder("utf-8", { fatal: true });

function hint(truncated: boolean): string {
  return truncated ? " (truncated body: it was cut at the capture limit)" : "";
}

/** Decodes UTF-8, throwing a ParseError that names `what` on any invalid byte sequence. */
export function decodeUtf8(bytes: Uint8Array, what: string, truncated = false): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new ParseError(`${what}: the body is not valid UTF-8${hint(truncated)}`);
  }
}

/** UTF-8 text, or undefined when the bytes are not valid UTF-8 (for sniffing). */
export function tryUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** JSON.parse's complaint in words of kind and position only: V8's own message quotes the input. */
export function jsonSyntaxError(err: unknown): string {
  const message = err instanceof Error ? err.message : "";
  const at = /at position (\d+)/.exec(message);
  const where = at ? ` at position ${at[1]}` : "";
  if (/end of JSON input/i.test(message)) return `unexpected end of input${where}`;
  if (/Unterminated string/i.test(message)) return `unterminated string${where}`;
  if (/control character/i.test(message)) return `control character in a string${where}`;
  if (/escape/i.test(message)) return `bad escape in a string${where}`;
  if (err instanceof RangeError) return "nested too deeply";
  return `unexpected character${where}`;
}

export function parseJson(bytes: Uint8Array, what: string, truncated = false): unknown {
  const text = decodeUtf8(bytes, what, truncated);
  if (text.trim() === "") throw new ParseError(`${what}: the body is empty, expected JSON`);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ParseError(`${what}: invalid JSON: ${jsonSyntaxError(err)}${hint(truncated)}`);
  }
}

/** JSON of a body, or undefined when it is not JSON: detect() must never throw. */
export function tryJson(view: BodyView): unknown {
  try {
    return parseJson(view.bytes, "body");
  } catch {
    return undefined;
  }
}

/** "Application/JSON; charset=utf-8" → "application/json". */
export function mediaType(contentType: string): string {
  return (contentType.split(";")[0] ?? "").trim().toLowerCase();
}

export function isJsonContentType(contentType: string): boolean {
  const m = mediaType(contentType);
  return m === "application/json" || m.endsWith("+json");
}

export function header(view: BodyView, name: string): string | undefined {
  const lower = name.toLowerCase();
  return view.headers.find((h) => h.name.toLowerCase() === lower)?.value;
}
