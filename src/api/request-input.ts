/**
 * What `modeltap api` checks of a request's URL and JSON body before a handler sees them, in one
 * linear pass each: malformed percent-encoding and nesting past MAX_JSON_DEPTH are the caller's
 * fault (400), never a URIError or a stack overflow deeper in (500). Nothing here echoes body text.
 */

/**
 * Deepest nesting of arrays and objects a body may have. Ground-truth labels and labeling-tool
 * webhooks nest under 10 levels; a deeper body is refused before it is parsed, so no later
 * recursion over it (validation, JSON.stringify, the database driver) can overflow the stack.
 */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/**
 * Whether a JSON text nests arrays and objects deeper than `max`: one pass over the bytes, brackets
 * inside strings ignored (UTF-8 continuation bytes never equal an ASCII byte). Exact for valid JSON;
 * on invalid JSON the answer does not matter, as JSON.parse refuses it next.
 */
export function jsonNestsDeeperThan(bytes: Uint8Array, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (inString) {
      if (b === BACKSLASH) i++;
      else if (b === QUOTE) inString = false;
    } else if (b === QUOTE) inString = true;
    else if (b === OPEN_ARRAY || b === OPEN_OBJECT) {
      if (++depth > max) return true;
    } else if (b === CLOSE_ARRAY || b === CLOSE_OBJECT) depth--;
  }
  return false;
}

/** V8 quotes part of the text in some messages ("…" is not valid JSON): keep body text out. */
function syntaxProblem(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (/ is not valid JSON$/.test(message)) return "unexpected character";
  return message.slice(0, 120);
}

const utf8 = new TextDecoder("utf-8");

/** A request body as JSON, or why not (a 400 for the caller). */
export function parseJsonBody(bytes: Uint8Array): { value: unknown } | { error: string } {
  if (jsonNestsDeeperThan(bytes, MAX_JSON_DEPTH)) {
    return { error: `body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels` };
  }
  try {
    return { value: JSON.parse(utf8.decode(bytes)) as unknown };
  } catch (err) {
    return { error: `body is not valid JSON: ${syntaxProblem(err)}` };
  }
}

/**
 * Whether every %XX escape in a request target decodes (to UTF-8). URLSearchParams would turn a
 * bad one into U+FFFD silently and decodeURIComponent throws: both are refused up front instead.
 */
export function percentEncodingOk(target: string): boolean {
  try {
    decodeURIComponent(target);
    return true;
  } catch {
    return false;
  }
}
