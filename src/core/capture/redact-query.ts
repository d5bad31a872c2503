/**
 * Query-string redaction of a request's `:path` (MODELTAP_REDACT_QUERY_PARAMS): the values of
 * secret parameters (`?api_key=...`) become "[REDACTED]" before the path reaches a record, a log
 * line or storage. Names match case-insensitively after percent-decoding, which tolerates bad
 * escapes (`%zz` stays as written), so `API%5Fkey` is caught as `api_key`. Pure: no I/O.
 */
import { REDACTED } from "./redact-headers.js";

export const DEFAULT_SECRET_QUERY_PARAMS = [
  "api_key",
  "key",
  "token",
  "access_token",
  "sig",
  "signature",
] as const;

/** Percent-decoding (with `+` as a space) that never throws: a malformed escape is kept as written. */
export function lenientDecode(s: string): string {
  const plus = s.replace(/\+/g, " ");
  if (!plus.includes("%")) return plus;
  try {
    return decodeURIComponent(plus);
  } catch {
    return plus.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
      try {
        return decodeURIComponent(run);
      } catch {
        return run;
      }
    });
  }
}

/**
 * The path with the values of `secret` parameters (lower-case names) replaced; returns the path
 * unchanged when nothing matched. A fragment, if any, is kept as sent.
 */
export function redactQuery(path: string, secret: ReadonlySet<string>): string {
  const q = path.indexOf("?");
  if (q < 0 || secret.size === 0) return path;
  const hash = path.indexOf("#", q);
  const end = hash < 0 ? path.length : hash;
  let changed = false;
  const pairs = path
    .slice(q + 1, end)
    .split("&")
    .map((pair) => {
      const eq = pair.indexOf("=");
      const name = eq < 0 ? pair : pair.slice(0, eq);
      if (!secret.has(lenientDecode(name).trim().toLowerCase())) return pair;
      changed = true;
      return `${name}=${REDACTED}`;
    });
  return changed ? `${path.slice(0, q + 1)}${pairs.join("&")}${path.slice(end)}` : path;
}
