/**
 * The compaction arithmetic of Apache DataSketches' KLL sketch, re-implemented from its format and
 * algorithm (kll.ts holds the sketch). Items live in one buffer; level h holds
 * items[levels[h] .. levels[h + 1]), each item of weight 2^h, level 0 at the low end and unsorted,
 * every higher level sorted. A level of depth d (counted from the top) holds at most
 * max(M, round(k · (2/3)^d)) items, M = 8.
 */

/** The range of k DataSketches accepts. */
export const KLL_MIN_K = 8;
export const KLL_MAX_K = 65535;
/** DataSketches' M: the smallest capacity of a level. */
export const KLL_M = 8;
/** Depths above this are refused by DataSketches (a level count no sketch reaches: 2^60 items). */
export const KLL_MAX_DEPTH = 60;

const POWERS_OF_THREE: readonly bigint[] = Array.from({ length: 31 }, (_, i) => 3n ** BigInt(i));
const capacityTables = new Map<number, Uint16Array>();

/** round(k · (2/3)^depth) in DataSketches' integer arithmetic (2k·2^d / 3^d, plus 1, halved). */
function capAux(k: number, depth: number): number {
  const once = (kk: number, d: number): number =>
    Number((((BigInt(kk) << 1n) << BigInt(d)) / (POWERS_OF_THREE[d] as bigint) + 1n) >> 1n);
  if (depth <= 30) return once(k, depth);
  const half = depth >> 1;
  return once(once(k, half), depth - half);
}

/** Capacity of the level at a given depth, for every depth, computed once per k. */
function capacityByDepth(k: number): Uint16Array {
  let table = capacityTables.get(k);
  if (table === undefined) {
    table = new Uint16Array(KLL_MAX_DEPTH + 1);
    for (let d = 0; d <= KLL_MAX_DEPTH; d++) table[d] = Math.max(KLL_M, capAux(k, d));
    capacityTables.set(k, table);
  }
  return table;
}

export function levelCapacity(k: number, numLevels: number, level: number): number {
  const depth = numLevels - level - 1;
  if (depth < 0 || depth > KLL_MAX_DEPTH) throw new RangeError(`no KLL level ${level} of ${numLevels}`);
  return capacityByDepth(k)[depth] as number;
}

export function totalCapacity(k: number, numLevels: number): number {
  let total = 0;
  for (let level = 0; level < numLevels; level++) total += levelCapacity(k, numLevels, level);
  return total;
}

/** The most levels n items can need: 1 + floor(log2 n). */
export function maxLevelsFor(n: number): number {
  let levels = 1;
  for (let power = 2; power <= n; power *= 2) levels++;
  return levels;
}

/**
 * Which half of a compacted level survives. DataSketches draws a random bit; modeltap derives it
 * from the sketch's own state (its count of items and the level being compacted) through a fixed
 * hash, so the same items in the same order always give the same sketch, and a sketch reloaded from
 * its bytes goes on exactly as the one that wrote them.
 */
export function compactionBit(n: number, level: number): number {
  const mix = (h: number): number => {
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return (h ^ (h >>> 16)) >>> 0;
  };
  const low = n >>> 0;
  const high = Math.floor(n / 0x1_0000_0000) >>> 0;
  return mix(low ^ mix(high ^ mix(level ^ 0x6b6c6c21))) >>> 31;
}

/** Keeps every other item of buf[start .. start + length), packed at the top of the range. */
export function halveUp(buf: Float64Array, start: number, length: number, bit: number): void {
  const half = length / 2;
  let j = start + length - 1 - bit;
  for (let i = start + length - 1; i >= start + half; i--, j -= 2) buf[i] = buf[j] as number;
}

/** Keeps every other item of buf[start .. start + length), packed at the bottom of the range. */
export function halveDown(buf: Float64Array, start: number, length: number, bit: number): void {
  const half = length / 2;
  let j = start + bit;
  for (let i = start; i < start + half; i++, j += 2) buf[i] = buf[j] as number;
}

/** Merges two sorted runs into out at outStart; a run may lie in out below the write position. */
export function mergeSorted(
  a: Float64Array,
  aStart: number,
  aLength: number,
  b: Float64Array,
  bStart: number,
  bLength: number,
  out: Float64Array,
  outStart: number,
): void {
  let i = aStart;
  let j = bStart;
  const aEnd = aStart + aLength;
  const bEnd = bStart + bLength;
  const outEnd = outStart + aLength + bLength;
  for (let o = outStart; o < outEnd; o++) {
    if (i < aEnd && (j === bEnd || (a[i] as number) < (b[j] as number))) out[o] = a[i++] as number;
    else out[o] = b[j++] as number;
  }
}

export interface CompressResult {
  numLevels: number;
  capacity: number;
  numItems: number;
}

/**
 * DataSketches' general compression, after a merge: walking up from level 0, a level is compacted
 * (one odd item kept, the rest sorted, halved at random and merged into the level above) while the
 * sketch holds more than its capacity and the level more than its own. In place in items;
 * inLevels is consumed, outLevels receives the new boundaries (outLevels[0] = 0).
 */
export function generalCompress(
  k: number,
  numLevelsIn: number,
  items: Float64Array,
  inLevels: number[],
  outLevels: number[],
  levelZeroSorted: boolean,
  n: number,
): CompressResult {
  let numLevels = numLevelsIn;
  let itemCount = (inLevels[numLevelsIn] as number) - (inLevels[0] as number);
  let target = totalCapacity(k, numLevels);
  outLevels[0] = 0;
  for (let level = 0; ; level++) {
    if (level === numLevels - 1) inLevels[level + 2] = inLevels[level + 1] as number;
    const rawBeg = inLevels[level] as number;
    const rawLim = inLevels[level + 1] as number;
    const rawPop = rawLim - rawBeg;
    const out = outLevels[level] as number;
    if (itemCount < target || rawPop < levelCapacity(k, numLevels, level)) {
      items.copyWithin(out, rawBeg, rawLim);
      outLevels[level + 1] = out + rawPop;
    } else {
      const popAbove = (inLevels[level + 2] as number) - rawLim;
      const odd = rawPop % 2 === 1;
      const adjBeg = odd ? rawBeg + 1 : rawBeg;
      const adjPop = odd ? rawPop - 1 : rawPop;
      const halfPop = adjPop / 2;
      if (odd) items[out] = items[rawBeg] as number;
      outLevels[level + 1] = odd ? out + 1 : out;
      if (level === 0 && !levelZeroSorted) items.subarray(adjBeg, adjBeg + adjPop).sort();
      const bit = compactionBit(n, level);
      if (popAbove === 0) {
        halveUp(items, adjBeg, adjPop, bit);
      } else {
        halveDown(items, adjBeg, adjPop, bit);
        mergeSorted(items, adjBeg, halfPop, items, rawLim, popAbove, items, adjBeg + halfPop);
      }
      itemCount -= halfPop;
      inLevels[level + 1] = rawLim - halfPop;
      if (level === numLevels - 1) {
        numLevels++;
        target += levelCapacity(k, numLevels, 0);
      }
    }
    if (level === numLevels - 1) break;
  }
  return { numLevels, capacity: target, numItems: itemCount };
}
