/**
 * The secrets of `modeltap api`, one per purpose, checked in constant time: the ground-truth API's
 * named tokens and the labeling webhook's secret (Authorization: Bearer), and the keys that sign
 * media URLs for the labeling tool (with a key id, so keys rotate, and an expiry).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { NamedSecret } from "../config-secrets.js";

/** Compare digests, not the strings, so neither length nor content leaks through timing. */
function sameSecret(given: string, expected: string): boolean {
  const a = createHmac("sha256", "modeltap-compare").update(given).digest();
  const b = createHmac("sha256", "modeltap-compare").update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The token of "Bearer <token>" (the scheme is case-insensitive), or undefined. */
function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^bearer\s+(.+)$/i.exec(header.trim());
  return m ? m[1]! : undefined;
}

/** True when the header is "Bearer <secret>". An empty configured secret accepts nothing. */
export function bearerOk(header: string | undefined, secret: string): boolean {
  const given = bearerToken(header);
  return given !== undefined && secret !== "" && sameSecret(given, secret);
}

/**
 * The name of the API token the header carries, or undefined. Every token is compared, matched or
 * not, so the time taken does not tell which one (or how many) there are before it.
 */
export function bearerTokenName(
  header: string | undefined,
  tokens: readonly NamedSecret[],
): string | undefined {
  const given = bearerToken(header);
  if (given === undefined) return undefined;
  let name: string | undefined;
  for (const t of tokens) if (sameSecret(given, t.secret) && name === undefined) name = t.name;
  return name;
}

/** Ids travel in the query, not the path: any capture id (even "." or "..") survives URL parsing. */
export const MEDIA_PATH = "/v1/media";

/** What one media URL signs: the key id, the capture instance and the moment it stops opening. */
export interface MediaGrant {
  kid: string;
  captureId: string;
  instance: number;
  /** Unix seconds. */
  expires: number;
}

function mediaSignature(secret: string, g: MediaGrant): string {
  return createHmac("sha256", secret)
    .update(`media\n${g.kid}\n${g.expires}\n${g.instance}\n${g.captureId}`)
    .digest("base64url");
}

/**
 * A URL the labeling tool (and labelers' browsers) can load without credentials, for this input
 * only, until `expires`; signed with `key`, whose id it carries.
 */
export function signedMediaUrl(
  publicUrl: string,
  key: NamedSecret,
  captureId: string,
  instance: number,
  expires: number,
): string {
  const grant = { kid: key.name, captureId, instance, expires };
  const q = new URLSearchParams({
    capture: captureId,
    instance: String(instance),
    exp: String(expires),
    kid: key.name,
    sig: mediaSignature(key.secret, grant),
  });
  return `${publicUrl}${MEDIA_PATH}?${q.toString()}`;
}

export type MediaCheck =
  { ok: true; captureId: string; instance: number } | { ok: false; status: 400 | 403 | 410; error: string };

/**
 * A media URL's query, checked: well formed, signed by one of `keys` (by its kid), not expired.
 * Expiry is told only for an authentic URL (410), so a forged one learns nothing but 403.
 */
export function checkMediaQuery(
  q: URLSearchParams,
  keys: readonly NamedSecret[],
  nowSeconds: number,
): MediaCheck {
  const captureId = q.get("capture") ?? "";
  const instanceText = q.get("instance") ?? "";
  if (!captureId || !/^\d{1,6}$/.test(instanceText)) {
    return { ok: false, status: 400, error: "needs capture and instance" };
  }
  const kid = q.get("kid");
  const expText = q.get("exp") ?? "";
  if (kid === null || !/^\d{1,12}$/.test(expText)) {
    return {
      ok: false,
      status: 403,
      error: "media URL without a key id or an expiry (made before signed URLs expired); re-export the task",
    };
  }
  const key = keys.find((k) => k.name === kid);
  if (!key) return { ok: false, status: 403, error: "media URL signed with an unknown key id" };
  const grant = { kid, captureId, instance: Number(instanceText), expires: Number(expText) };
  if (!sameSecret(q.get("sig") ?? "", mediaSignature(key.secret, grant))) {
    return { ok: false, status: 403, error: "bad or missing media signature" };
  }
  if (grant.expires <= nowSeconds) {
    return {
      ok: false,
      status: 410,
      error: `media URL expired at ${new Date(grant.expires * 1000).toISOString()} (MODELTAP_MEDIA_URL_TTL_SECONDS)`,
    };
  }
  return { ok: true, captureId, instance: grant.instance };
}
