/**
 * The sampling decision: a deterministic function of x-request-id and a secret seed, so every hop
 * of one request (they share the id) is sampled together on any collector replica, like trace
 * sampling, while a client that does not know the seed cannot pick ids that force or avoid capture.
 *
 * The function is Envoy's own `consistent_hashing` input matcher: XXH64 of the id's bytes with the
 * seed, modulo SAMPLING_MODULO, compared with the rate's threshold. A gate in Envoy and the
 * collector therefore take the same decision for the same id.
 */

/*
 * XXH64 in 32-bit limbs. A 64-bit value is a pair of 32-bit words (hi, lo), each held as an int32
 * (the bits of the word; >>> 0 reads it unsigned), so V8 keeps them as small integers. The helpers
 * below leave their result in the registers H and L, so the hash allocates nothing and uses no
 * BigInt; every intermediate is an integer below 2^53, so the double arithmetic is exact. The hash is
 * split in a few functions (stripes, converge, tail, avalanche) small enough for V8 to inline every
 * helper into them.
 */

const P1H = 0x9e3779b1 | 0;
const P1L = 0x85ebca87 | 0;
const P2H = 0xc2b2ae3d | 0;
const P2L = 0x27d4eb4f | 0;
const P3H = 0x165667b1 | 0;
const P3L = 0x9e3779f9 | 0;
const P4H = 0x85ebca77 | 0;
const P4L = 0xc2b2ae63 | 0;
const P5H = 0x27d4eb2f | 0;
const P5L = 0x165667c5 | 0;
/** 2^64 - P1, to compute seed - P1 as an addition. */
const NP1H = 0x61c8864e | 0;
const NP1L = 0x7a143579 | 0;
const M64 = 0xffff_ffff_ffff_ffffn;
const TWO32 = 4294967296;

/** The result registers of add, mul, rotl and round: the high and low words. */
let H = 0;
let L = 0;

/** The four accumulators of the 32-byte stripes: hi, lo of v1, then of v2, v3, v4. */
const V = new Int32Array(8);

/** (ah:al + bh:bl) mod 2^64. */
function add(ah: number, al: number, bh: number, bl: number): void {
  const lo = (al >>> 0) + (bl >>> 0);
  L = lo | 0;
  H = (ah + bh + (lo >= TWO32 ? 1 : 0)) | 0;
}

/**
 * (ah:al * bh:bl) mod 2^64: the low word is imul(al, bl); the high word is the high word of the
 * unsigned al*bl (from 16-bit partial products, each sum below 2^32) plus the low words of the cross
 * products al*bh and ah*bl (ah*bh only reaches bits 64 and up).
 */
function mul(ah: number, al: number, bh: number, bl: number): void {
  const a0 = al & 0xffff;
  const a1 = al >>> 16;
  const b0 = bl & 0xffff;
  const b1 = bl >>> 16;
  const m1 = a1 * b0 + ((a0 * b0) >>> 16);
  const m2 = a0 * b1 + (m1 & 0xffff);
  H = (a1 * b1 + (m1 >>> 16) + (m2 >>> 16) + Math.imul(al, bh) + Math.imul(ah, bl)) | 0;
  L = Math.imul(al, bl);
}

/** Rotate ah:al left by r, 0 < r < 32. */
function rotl(ah: number, al: number, r: number): void {
  H = (ah << r) | (al >>> (32 - r));
  L = (al << r) | (ah >>> (32 - r));
}

/** XXH64's round: rotl(acc + input * P2, 31) * P1. */
function round(acch: number, accl: number, inh: number, inl: number): void {
  mul(inh, inl, P2H, P2L);
  add(acch, accl, H, L);
  rotl(H, L, 31);
  mul(H, L, P1H, P1L);
}

/** The little-endian 32-bit word at b[p..p+3]. */
function u32(b: Uint8Array, p: number): number {
  return b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24);
}

/** Seeds the accumulators and runs every whole 32-byte stripe of b[0..len) through them; the offset after the last. */
function stripes(b: Uint8Array, len: number, sh: number, sl: number): number {
  add(sh, sl, P1H, P1L);
  add(H, L, P2H, P2L);
  V[0] = H;
  V[1] = L;
  add(sh, sl, P2H, P2L);
  V[2] = H;
  V[3] = L;
  V[4] = sh;
  V[5] = sl;
  add(sh, sl, NP1H, NP1L);
  V[6] = H;
  V[7] = L;
  let p = 0;
  for (; p + 32 <= len; p += 32) {
    // Accumulator i/2 takes the 8 bytes at p + 4i.
    for (let i = 0; i < 8; i += 2) {
      round(V[i]!, V[i + 1]!, u32(b, p + 4 * i + 4), u32(b, p + 4 * i));
      V[i] = H;
      V[i + 1] = L;
    }
  }
  return p;
}

/** The accumulators' rotations when they converge. */
const CONVERGE_ROTL = [1, 7, 12, 18] as const;

/** h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18), then h = (h ^ round(0, v)) * P1 + P4 for each v. */
function converge(): void {
  let hh = 0;
  let hl = 0;
  for (let i = 0; i < 8; i += 2) {
    rotl(V[i]!, V[i + 1]!, CONVERGE_ROTL[i >> 1]!);
    add(hh, hl, H, L);
    hh = H;
    hl = L;
  }
  for (let i = 0; i < 8; i += 2) {
    round(0, 0, V[i]!, V[i + 1]!);
    mul(hh ^ H, hl ^ L, P1H, P1L);
    add(H, L, P4H, P4L);
    hh = H;
    hl = L;
  }
}

/** Folds the bytes b[p..len) into hh:hl, 8, then 4, then 1 at a time. */
function tail(b: Uint8Array, p: number, len: number, hh: number, hl: number): void {
  for (; p + 8 <= len; p += 8) {
    round(0, 0, u32(b, p + 4), u32(b, p));
    rotl(hh ^ H, hl ^ L, 27);
    mul(H, L, P1H, P1L);
    add(H, L, P4H, P4L);
    hh = H;
    hl = L;
  }
  if (p + 4 <= len) {
    mul(0, u32(b, p), P1H, P1L);
    rotl(hh ^ H, hl ^ L, 23);
    mul(H, L, P2H, P2L);
    add(H, L, P3H, P3L);
    hh = H;
    hl = L;
    p += 4;
  }
  for (; p < len; p++) {
    mul(0, b[p]!, P5H, P5L);
    rotl(hh ^ H, hl ^ L, 11);
    mul(H, L, P1H, P1L);
    hh = H;
    hl = L;
  }
}

/** h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32. */
function avalanche(hh: number, hl: number): void {
  mul(hh, hl ^ (hh >>> 1), P2H, P2L);
  mul(H ^ (H >>> 29), L ^ ((L >>> 29) | (H << 3)), P3H, P3L);
  L ^= H;
}

/** XXH64 of b[0..len) with the seed sh:sl, left in H:L. */
function hash(b: Uint8Array, len: number, sh: number, sl: number): void {
  let p = 0;
  if (len >= 32) {
    p = stripes(b, len, sh, sl);
    converge();
  } else add(sh, sl, P5H, P5L);
  add(H, L, Math.floor(len / TWO32) | 0, len | 0);
  tail(b, p, len, H, L);
  avalanche(H, L);
}

/** The last seed split into words, so samplingBucket does its BigInt work once per seed, not per id. */
let seedKey = 0n;
let seedH = 0;
let seedL = 0;

function splitSeed(seed: bigint): void {
  if (seed === seedKey) return;
  const s = seed & M64;
  seedH = Number(s >> 32n) | 0;
  seedL = Number(s & 0xffff_ffffn) | 0;
  seedKey = seed;
}

/** XXH64 (the xxHash 64-bit digest) of `data` with `seed`, as an unsigned 64-bit bigint. */
export function xxh64(data: Uint8Array, seed: bigint): bigint {
  splitSeed(seed);
  hash(data, data.length, seedH, seedL);
  return (BigInt(H >>> 0) << 32n) | BigInt(L >>> 0);
}

/** The rate's resolution: a rate is a threshold out of this many buckets (Envoy's `modulo`). */
export const SAMPLING_MODULO = 1_000_000;

/** The number of buckets, of SAMPLING_MODULO, that a rate samples (Envoy's `threshold`). */
export function samplingThreshold(rate: number): number {
  return Math.min(SAMPLING_MODULO, Math.max(0, Math.round(rate * SAMPLING_MODULO)));
}

const utf8 = new TextEncoder();

/**
 * Where samplingBucket encodes an id, to hash it without allocating. A UTF-16 code unit takes at
 * most 3 UTF-8 bytes, so an id of up to a third of its length always fits; a longer one is encoded
 * into a new array.
 */
const scratch = new Uint8Array(1536);

/** 2^32 mod SAMPLING_MODULO, to reduce hi:lo modulo SAMPLING_MODULO in doubles. */
const TWO32_MOD = TWO32 % SAMPLING_MODULO;

/** The id's bucket, 0..SAMPLING_MODULO-1, under this seed. */
export function samplingBucket(requestId: string, seed: bigint): number {
  splitSeed(seed);
  if (requestId.length * 3 <= scratch.length) {
    hash(scratch, utf8.encodeInto(requestId, scratch).written, seedH, seedL);
  } else {
    const bytes = utf8.encode(requestId);
    hash(bytes, bytes.length, seedH, seedL);
  }
  // (H * 2^32 + L) mod m = ((H mod m) * (2^32 mod m) + L) mod m; at most (m-1)*967296 + 2^32 < 2^53.
  return (((H >>> 0) % SAMPLING_MODULO) * TWO32_MOD + (L >>> 0)) % SAMPLING_MODULO;
}

/**
 * The bucket of an id given as the bytes of its header value, as Envoy hashes it. The collector
 * decides with this: a header is bytes, and an id that is not ASCII (a Latin-1 byte, say) hashes
 * the same here and in Envoy's gate only if nobody decodes it first.
 */
export function samplingBucketOfBytes(requestId: Uint8Array, seed: bigint): number {
  splitSeed(seed);
  hash(requestId, requestId.length, seedH, seedL);
  return (((H >>> 0) % SAMPLING_MODULO) * TWO32_MOD + (L >>> 0)) % SAMPLING_MODULO;
}

/** True when the exchange with this request id (hashed as UTF-8) falls inside the sample at `rate`. */
export function isSampled(requestId: string, rate: number, seed: bigint): boolean {
  if (rate >= 1) return true;
  if (rate <= 0) return false;
  return samplingBucket(requestId, seed) < samplingThreshold(rate);
}

/** isSampled for an id given as its header's bytes (see samplingBucketOfBytes). */
export function isSampledBytes(requestId: Uint8Array, rate: number, seed: bigint): boolean {
  if (rate >= 1) return true;
  if (rate <= 0) return false;
  return samplingBucketOfBytes(requestId, seed) < samplingThreshold(rate);
}

/** A seed, as configured: a decimal or 0x-hex unsigned 64-bit integer; undefined when it is not one. */
export function parseSamplingSeed(text: string): bigint | undefined {
  const t = text.trim();
  if (!/^(?:0x[0-9a-fA-F]{1,16}|[0-9]{1,20})$/.test(t)) return undefined;
  const v = BigInt(t);
  return v <= M64 ? v : undefined;
}

/**
 * gRPC metadata a gated modeltap filter sends when it opens a stream (`modeltap envoy gate` writes
 * it into grpc_service.initial_metadata). It tells the collector that Envoy's gate, this same hash,
 * already sampled the exchange, so a not-sampled decision there means the two disagree (a stale
 * gate, or another seed), and is counted in modeltap_gate_sampled_out_total.
 */
export const GATE_MARKER = { key: "x-modeltap-gate", value: "xxh64" } as const;
