/**
 * Shared-secret checks, in constant time: the Authorization header of the ground-truth API and the
 * labeling webhook, and the signature of media URLs handed to the labeling tool.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** Compare digests, not the strings, so neither length nor content leaks through timing. */
function sameSecret(given: string, expected: string): boolean {
  const a = createHmac("sha256", "modeltap-compare").update(given).digest();
  const b = createHmac("sha256", "modeltap-compare").update(expected).digest();
  return timingSafeEqual(a, b);
}

/** True when the header is "Bearer <secret>" (the scheme is case-insensitive). */
export function bearerOk(header: string | undefined, secret: string): boolean {
  if (!header || secret === "") return false;
  const m = /^bearer\s+(.+)$/i.exec(header.trim());
  return m !== null && sameSecret(m[1]!, secret);
}

function mediaSignature(secret: string, captureId: string, instance: number): string {
  return createHmac("sha256", secret).update(`media\n${captureId}\n${instance}`).digest("base64url");
}

/** Ids travel in the query, not the path: any x-request-id (even "." or "..") survives URL parsing. */
export const MEDIA_PATH = "/v1/media";

/** A URL the labeling tool (and labelers' browsers) can load without credentials, for this input only. */
export function signedMediaUrl(
  publicUrl: string,
  secret: string,
  captureId: string,
  instance: number,
): string {
  const q = new URLSearchParams({
    capture: captureId,
    instance: String(instance),
    sig: mediaSignature(secret, captureId, instance),
  });
  return `${publicUrl}${MEDIA_PATH}?${q.toString()}`;
}

export function mediaSignatureOk(secret: string, captureId: string, instance: number, sig: string): boolean {
  return sameSecret(sig, mediaSignature(secret, captureId, instance));
}
