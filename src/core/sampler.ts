/**
 * The sampling decision: a deterministic function of x-request-id, so a retry of the same request
 * (same id) gets the same answer on any collector replica.
 */

/** FNV-1a over the UTF-16 code units, then murmur3's fmix32 so nearby ids spread evenly. */
export function hashRequestId(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** True when the exchange with this request id falls inside the sample. */
export function isSampled(requestId: string, rate: number): boolean {
  if (rate >= 1) return true;
  if (rate <= 0) return false;
  return hashRequestId(requestId) / 0x1_0000_0000 < rate;
}
