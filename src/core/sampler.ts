/**
 * The sampling decision: a deterministic function of x-request-id and a secret seed, so every hop
 * of one request (they share the id) is sampled together on any collector replica, like trace
 * sampling, while a client that does not know the seed cannot pick ids that force or avoid capture.
 *
 * The function is Envoy's own `consistent_hashing` input matcher: XXH64 of the id's bytes with the
 * seed, modulo SAMPLING_MODULO, compared with the rate's threshold. A gate in Envoy and the
 * collector therefore take the same decision for the same id.
 */

const P1 = 0x9e3779b185ebca87n;
const P2 = 0xc2b2ae3d27d4eb4fn;
const P3 = 0x165667b19e3779f9n;
const P4 = 0x85ebca77c2b2ae63n;
const P5 = 0x27d4eb2f165667c5n;
const M64 = 0xffff_ffff_ffff_ffffn;

const mul = (a: bigint, b: bigint) => (a * b) & M64;
const add = (a: bigint, b: bigint) => (a + b) & M64;
const rotl = (x: bigint, r: bigint) => ((x << r) | (x >> (64n - r))) & M64;

function u64(b: Uint8Array, p: number): bigint {
  const v = new DataView(b.buffer, b.byteOffset + p, 8);
  return BigInt(v.getUint32(0, true)) | (BigInt(v.getUint32(4, true)) << 32n);
}

function u32(b: Uint8Array, p: number): bigint {
  return BigInt(new DataView(b.buffer, b.byteOffset + p, 4).getUint32(0, true));
}

function round(acc: bigint, input: bigint): bigint {
  return mul(rotl(add(acc, mul(input, P2)), 31n), P1);
}

function mergeRound(acc: bigint, v: bigint): bigint {
  return add(mul(acc ^ round(0n, v), P1), P4);
}

/** XXH64 (the xxHash 64-bit digest) of `data` with `seed`, as an unsigned 64-bit bigint. */
export function xxh64(data: Uint8Array, seed: bigint): bigint {
  const len = data.byteLength;
  const s = seed & M64;
  let p = 0;
  let h: bigint;
  if (len >= 32) {
    let v1 = add(add(s, P1), P2);
    let v2 = add(s, P2);
    let v3 = s;
    let v4 = (s - P1) & M64;
    for (; p + 32 <= len; p += 32) {
      v1 = round(v1, u64(data, p));
      v2 = round(v2, u64(data, p + 8));
      v3 = round(v3, u64(data, p + 16));
      v4 = round(v4, u64(data, p + 24));
    }
    h = add(add(rotl(v1, 1n), rotl(v2, 7n)), add(rotl(v3, 12n), rotl(v4, 18n)));
    h = mergeRound(mergeRound(mergeRound(mergeRound(h, v1), v2), v3), v4);
  } else {
    h = add(s, P5);
  }
  h = add(h, BigInt(len));
  for (; p + 8 <= len; p += 8) h = add(mul(rotl(h ^ round(0n, u64(data, p)), 27n), P1), P4);
  if (p + 4 <= len) {
    h = add(mul(rotl(h ^ mul(u32(data, p), P1), 23n), P2), P3);
    p += 4;
  }
  for (; p < len; p++) h = mul(rotl(h ^ mul(BigInt(data[p]!), P5), 11n), P1);
  h = mul(h ^ (h >> 33n), P2);
  h = mul(h ^ (h >> 29n), P3);
  return h ^ (h >> 32n);
}

/** The rate's resolution: a rate is a threshold out of this many buckets (Envoy's `modulo`). */
export const SAMPLING_MODULO = 1_000_000;

/** The number of buckets, of SAMPLING_MODULO, that a rate samples (Envoy's `threshold`). */
export function samplingThreshold(rate: number): number {
  return Math.min(SAMPLING_MODULO, Math.max(0, Math.round(rate * SAMPLING_MODULO)));
}

const utf8 = new TextEncoder();

/** The id's bucket, 0..SAMPLING_MODULO-1, under this seed. */
export function samplingBucket(requestId: string, seed: bigint): number {
  return Number(xxh64(utf8.encode(requestId), seed) % BigInt(SAMPLING_MODULO));
}

/** True when the exchange with this request id falls inside the sample at `rate`. */
export function isSampled(requestId: string, rate: number, seed: bigint): boolean {
  if (rate >= 1) return true;
  if (rate <= 0) return false;
  return samplingBucket(requestId, seed) < samplingThreshold(rate);
}

/** A seed, as configured: a decimal or 0x-hex unsigned 64-bit integer; undefined when it is not one. */
export function parseSamplingSeed(text: string): bigint | undefined {
  const t = text.trim();
  if (!/^(?:0x[0-9a-fA-F]{1,16}|[0-9]{1,20})$/.test(t)) return undefined;
  const v = BigInt(t);
  return v <= M64 ? v : undefined;
}
