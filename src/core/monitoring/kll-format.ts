/**
 * Apache DataSketches' serialized KLL doubles sketch (serial versions 1 and 2, little-endian):
 *
 *   byte 0 preamble ints (2 empty or one item, 5 otherwise) | 1 serial version (2 one item, else 1)
 *   2 family (15) | 3 flags (1 empty, 2 level zero sorted, 4 one item) | 4-5 k | 6 M (8) | 7 unused
 *   one item: 8-15 the item.
 *   otherwise: 8-15 n | 16-17 min k | 18 levels | 19 unused | a uint32 per level (its start in a
 *   buffer of the capacity those levels have; the end of the top level is that capacity) | min |
 *   max | the retained items, from the start of level 0 to the end.
 *
 * Decoding trusts nothing: every count is checked against the bytes that hold it before anything is
 * allocated, the levels must add up to n, and higher levels must be sorted.
 */
import { KLL_M, KLL_MAX_DEPTH, KLL_MAX_K, KLL_MIN_K, totalCapacity } from "./kll-compress.js";

/** A sketch's raw state, as the binary format holds it. */
export interface KllState {
  k: number;
  minK: number;
  n: number;
  numLevels: number;
  /** levels[h] .. levels[h + 1] bound level h in items; levels[numLevels] is the capacity. */
  levels: number[];
  items: Float64Array;
  min: number;
  max: number;
  levelZeroSorted: boolean;
}

const FAMILY = 15;
const FLAG_EMPTY = 1;
const FLAG_SORTED = 2;
const FLAG_SINGLE = 4;
const DATA_START = 20;

/** Bytes that are not a KLL doubles sketch DataSketches could have written. */
export class KllFormatError extends RangeError {
  override name = "KllFormatError";
}

function fail(message: string): never {
  throw new KllFormatError(`not a KLL doubles sketch: ${message}`);
}

export function encodeKll(s: KllState): Uint8Array {
  const retained = (s.levels[s.numLevels] as number) - (s.levels[0] as number);
  const empty = s.n === 0;
  const single = s.n === 1;
  const size = empty ? 8 : single ? 16 : DATA_START + 4 * s.numLevels + 8 * (retained + 2);
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint8(0, empty || single ? 2 : 5);
  view.setUint8(1, single ? 2 : 1);
  view.setUint8(2, FAMILY);
  view.setUint8(
    3,
    (empty ? FLAG_EMPTY : 0) | (s.levelZeroSorted ? FLAG_SORTED : 0) | (single ? FLAG_SINGLE : 0),
  );
  view.setUint16(4, s.k, true);
  view.setUint8(6, KLL_M);
  if (empty) return out;
  if (single) {
    view.setFloat64(8, s.items[s.levels[0] as number] as number, true);
    return out;
  }
  view.setUint32(8, s.n >>> 0, true);
  view.setUint32(12, Math.floor(s.n / 0x1_0000_0000), true);
  view.setUint16(16, s.minK, true);
  view.setUint8(18, s.numLevels);
  let at = DATA_START;
  for (let l = 0; l < s.numLevels; l++, at += 4) view.setUint32(at, s.levels[l] as number, true);
  view.setFloat64(at, s.min, true);
  view.setFloat64(at + 8, s.max, true);
  at += 16;
  for (let i = s.levels[0] as number; i < (s.levels[s.numLevels] as number); i++, at += 8) {
    view.setFloat64(at, s.items[i] as number, true);
  }
  return out;
}

export function decodeKll(bytes: Uint8Array): KllState {
  if (bytes.length < 8) fail(`${bytes.length} bytes, fewer than the 8-byte preamble`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const preambleInts = view.getUint8(0);
  const serialVersion = view.getUint8(1);
  const flags = view.getUint8(3);
  const k = view.getUint16(4, true);
  if (view.getUint8(2) !== FAMILY) fail(`family ${view.getUint8(2)}, expected ${FAMILY} (KLL)`);
  if (view.getUint8(6) !== KLL_M) fail(`M ${view.getUint8(6)}, expected ${KLL_M}`);
  if ((flags & ~(FLAG_EMPTY | FLAG_SORTED | FLAG_SINGLE)) !== 0)
    fail(`unknown flags 0x${flags.toString(16)}`);
  if (k < KLL_MIN_K || k > KLL_MAX_K) fail(`k ${k} outside ${KLL_MIN_K}..${KLL_MAX_K}`);
  const empty = (flags & FLAG_EMPTY) !== 0;
  const single = (flags & FLAG_SINGLE) !== 0;
  const levelZeroSorted = (flags & FLAG_SORTED) !== 0;
  if (empty && single) fail("flagged both empty and single-item");
  if (preambleInts !== (empty || single ? 2 : 5)) fail(`preamble ints ${preambleInts} do not fit the flags`);
  if (serialVersion !== (single ? 2 : 1)) fail(`serial version ${serialVersion} does not fit the flags`);

  if (empty) {
    if (bytes.length !== 8) fail(`an empty sketch is 8 bytes, got ${bytes.length}`);
    return {
      k,
      minK: k,
      n: 0,
      numLevels: 1,
      levels: [k, k],
      items: new Float64Array(k),
      min: NaN,
      max: NaN,
      levelZeroSorted,
    };
  }
  if (single) {
    if (bytes.length !== 16) fail(`a one-item sketch is 16 bytes, got ${bytes.length}`);
    const item = view.getFloat64(8, true);
    if (Number.isNaN(item)) fail("the item is NaN");
    const items = new Float64Array(k);
    items[k - 1] = item;
    return {
      k,
      minK: k,
      n: 1,
      numLevels: 1,
      levels: [k - 1, k],
      items,
      min: item,
      max: item,
      levelZeroSorted,
    };
  }

  if (bytes.length < DATA_START) fail(`${bytes.length} bytes, fewer than the ${DATA_START}-byte preamble`);
  const high = view.getUint32(12, true);
  if (high > 0x1f_ffff) fail("n is past 2^53");
  const n = high * 0x1_0000_0000 + view.getUint32(8, true);
  const minK = view.getUint16(16, true);
  const numLevels = view.getUint8(18);
  if (n === 0) fail("n is 0 but the sketch is not flagged empty");
  if (minK < KLL_MIN_K || minK > k) fail(`min k ${minK} outside ${KLL_MIN_K}..${k}`);
  if (numLevels < 1 || numLevels > KLL_MAX_DEPTH + 1) fail(`${numLevels} levels`);
  const itemsStart = DATA_START + 4 * numLevels + 16;
  if (bytes.length < itemsStart) fail(`${bytes.length} bytes cannot hold ${numLevels} levels`);
  const capacity = totalCapacity(k, numLevels);
  const levels: number[] = [];
  for (let l = 0; l < numLevels; l++) levels.push(view.getUint32(DATA_START + 4 * l, true));
  levels.push(capacity);
  for (let l = 0; l < numLevels; l++) {
    if ((levels[l] as number) > (levels[l + 1] as number)) fail(`level ${l} starts past its end`);
  }
  const retained = capacity - (levels[0] as number);
  const expected = itemsStart + 8 * retained;
  if (bytes.length !== expected) fail(`${bytes.length} bytes where the levels say ${expected}`);
  let weight = 0n;
  for (let l = 0; l < numLevels; l++)
    weight += BigInt((levels[l + 1] as number) - (levels[l] as number)) << BigInt(l);
  if (weight !== BigInt(n)) fail(`the levels weigh ${weight}, but n is ${n}`);

  const min = view.getFloat64(itemsStart - 16, true);
  const max = view.getFloat64(itemsStart - 8, true);
  if (!(min <= max)) fail(`min ${min} and max ${max}`);
  const items = new Float64Array(capacity);
  for (let i = levels[0] as number, at = itemsStart; i < capacity; i++, at += 8) {
    const x = view.getFloat64(at, true);
    if (!(x >= min && x <= max)) fail(`item ${x} outside [min, max]`);
    items[i] = x;
  }
  for (let l = 1; l < numLevels; l++) {
    for (let i = (levels[l] as number) + 1; i < (levels[l + 1] as number); i++) {
      if ((items[i - 1] as number) > (items[i] as number)) fail(`level ${l} is not sorted`);
    }
  }
  return { k, minK, n, numLevels, levels, items, min, max, levelZeroSorted };
}
