/** Secret-header redaction, applied before a header reaches a record, a log line or storage. */
import type { HeaderList } from "../record.js";

export const DEFAULT_SECRET_HEADERS = [
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "x-api-key",
  "api-key", // Azure OpenAI
  "x-goog-api-key",
  "x-auth-token",
  "x-amz-security-token",
] as const;

export const REDACTED = "[REDACTED]";

export function redactHeaders(headers: HeaderList, secret: ReadonlySet<string>): HeaderList {
  return headers.map((h) => (secret.has(h.name.toLowerCase()) ? { name: h.name, value: REDACTED } : h));
}
