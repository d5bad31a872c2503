/**
 * A KLL quantile sketch of doubles, compatible with Apache DataSketches' KllDoublesSketch (Java,
 * C++, Python `datasketches.kll_doubles_sketch`): the same levels, the same compaction rule and the
 * same binary format, so bytes written here load there and back. test/unit/monitoring-kll.test.ts
 * checks it byte for byte against the Python library (test/fixtures/monitoring/kll.json, made by
 * tools/oracle/kll_fixtures.py).
 *
 * One difference: where DataSketches draws a random bit to pick the half of a level that survives a
 * compaction, this sketch derives it from its own state (kll-compress.ts, compactionBit), so it is
 * deterministic. Queries never change the sketch (DataSketches sorts level zero on a query).
 */
import {
  KLL_MAX_DEPTH,
  KLL_MAX_K,
  KLL_MIN_K,
  generalCompress,
  halveDown,
  halveUp,
  compactionBit,
  levelCapacity,
  maxLevelsFor,
  mergeSorted,
  totalCapacity,
} from "./kll-compress.js";
import { decodeKll, encodeKll, type KllState } from "./kll-format.js";

export { KLL_MAX_K, KLL_MIN_K } from "./kll-compress.js";
export { KllFormatError } from "./kll-format.js";
export const KLL_DEFAULT_K = 200;

/**
 * DataSketches' normalized rank error for a given k, the best fit to the 99th percentile of the
 * measured error: single-sided (ranks, quantiles, CDF) 2.296 / k^0.9723, about 1.33% at k = 200;
 * double-sided (PMF) 2.446 / k^0.9433, about 1.65% at k = 200.
 */
export function kllNormalizedRankError(k: number, pmf = false): number {
  return pmf ? 2.446 / Math.pow(k, 0.9433) : 2.296 / Math.pow(k, 0.9723);
}

/** The retained items in ascending order, each with the total weight of the items up to it. */
export interface KllSortedView {
  items: Float64Array;
  cumulativeWeights: Float64Array;
  totalWeight: number;
}

export function checkK(k: number): void {
  if (!Number.isInteger(k) || k < KLL_MIN_K || k > KLL_MAX_K) {
    throw new RangeError(`KLL k must be an integer from ${KLL_MIN_K} to ${KLL_MAX_K}, got ${k}`);
  }
}

export class KllSketch {
  #k: number;
  #minK: number;
  #n = 0;
  #numLevels = 1;
  /** levels[h] .. levels[h + 1] bound level h in #items; levels[numLevels] is the capacity. */
  #levels: number[];
  #items: Float64Array;
  #min = NaN;
  #max = NaN;
  #levelZeroSorted = false;
  #view: KllSortedView | undefined;

  private constructor(state: KllState) {
    this.#k = state.k;
    this.#minK = state.minK;
    this.#n = state.n;
    this.#numLevels = state.numLevels;
    this.#levels = state.levels;
    this.#items = state.items;
    this.#min = state.min;
    this.#max = state.max;
    this.#levelZeroSorted = state.levelZeroSorted;
  }

  static create(k = KLL_DEFAULT_K): KllSketch {
    checkK(k);
    return new KllSketch({
      k,
      minK: k,
      n: 0,
      numLevels: 1,
      levels: [k, k],
      items: new Float64Array(k),
      min: NaN,
      max: NaN,
      levelZeroSorted: false,
    });
  }

  /** Loads DataSketches' bytes; a KllFormatError (a RangeError) says what is wrong with them. */
  static deserialize(bytes: Uint8Array): KllSketch {
    return new KllSketch(decodeKll(bytes));
  }

  serialize(): Uint8Array {
    return encodeKll({
      k: this.#k,
      minK: this.#minK,
      n: this.#n,
      numLevels: this.#numLevels,
      levels: this.#levels,
      items: this.#items,
      min: this.#min,
      max: this.#max,
      levelZeroSorted: this.#levelZeroSorted,
    });
  }

  get k(): number {
    return this.#k;
  }
  get n(): number {
    return this.#n;
  }
  get isEmpty(): boolean {
    return this.#n === 0;
  }
  /** The exact minimum and maximum seen (NaN while empty). */
  get min(): number {
    return this.#min;
  }
  get max(): number {
    return this.#max;
  }
  /** True once items have been compacted: answers are then approximate. */
  get isEstimationMode(): boolean {
    return this.#numLevels > 1;
  }
  get numRetained(): number {
    return (this.#levels[this.#numLevels] as number) - (this.#levels[0] as number);
  }

  /** This sketch's rank error: that of the smallest k merged into it while estimating. */
  normalizedRankError(pmf = false): number {
    return kllNormalizedRankError(this.#minK, pmf);
  }

  /** Adds one value; NaN is ignored, as DataSketches does. O(1) amortized, no allocation. */
  update(x: number): void {
    if (Number.isNaN(x)) return;
    if (this.#n === 0) {
      this.#min = x;
      this.#max = x;
    } else {
      if (x < this.#min) this.#min = x;
      if (x > this.#max) this.#max = x;
    }
    const slot = this.#slot(); // before reading #items: a compaction may replace the buffer
    this.#items[slot] = x;
    this.#view = undefined;
  }

  /** Merges another sketch into this one (the other is unchanged). */
  merge(other: KllSketch): void {
    if (other.isEmpty) return;
    if (other === this) other = KllSketch.deserialize(other.serialize());
    if (this.isEmpty) {
      this.#min = other.#min;
      this.#max = other.#max;
    } else {
      if (other.#min < this.#min) this.#min = other.#min;
      if (other.#max > this.#max) this.#max = other.#max;
    }
    const finalN = this.#n + other.#n;
    const from = other.#levels[0] as number;
    const to = other.#levels[1] as number;
    for (let i = from; i < to; i++) {
      const slot = this.#slot();
      this.#items[slot] = other.#items[i] as number;
    }
    if (other.#numLevels >= 2) this.#mergeHigherLevels(other, finalN);
    this.#n = finalN;
    if (other.isEstimationMode) this.#minK = Math.min(this.#minK, other.#minK);
    this.#view = undefined;
  }

  /** The item at a normalized rank, as DataSketches' get_quantile. */
  quantile(rank: number, inclusive = true): number {
    const view = this.#nonEmptyView("quantile");
    if (!(rank >= 0 && rank <= 1)) throw new RangeError(`a rank is from 0 to 1, got ${rank}`);
    const weight = inclusive ? Math.ceil(rank * view.totalWeight) : Math.floor(rank * view.totalWeight);
    const cum = view.cumulativeWeights;
    let lo = 0;
    let hi = cum.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = cum[mid] as number;
      if (inclusive ? c < weight : c <= weight) lo = mid + 1;
      else hi = mid;
    }
    return view.items[Math.min(lo, cum.length - 1)] as number;
  }

  /** The normalized rank of x: the weight of items ≤ x (inclusive) or < x, over n. */
  rank(x: number, inclusive = true): number {
    const view = this.#nonEmptyView("rank");
    if (Number.isNaN(x)) throw new RangeError("the rank of NaN is undefined");
    const items = view.items;
    let lo = 0;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const v = items[mid] as number;
      if (inclusive ? v <= x : v < x) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? 0 : (view.cumulativeWeights[lo - 1] as number) / view.totalWeight;
  }

  /** The retained items ascending with cumulative weights (cached until the next change). */
  sortedView(): KllSortedView {
    if (this.#view !== undefined) return this.#view;
    let items = new Float64Array(0);
    let weights = new Float64Array(0);
    for (let level = 0, weight = 1; level < this.#numLevels; level++, weight *= 2) {
      const run = this.#items.slice(this.#levels[level], this.#levels[level + 1]);
      if (level === 0 && !this.#levelZeroSorted) run.sort();
      const mergedItems = new Float64Array(items.length + run.length);
      const mergedWeights = new Float64Array(mergedItems.length);
      let i = 0;
      let j = 0;
      for (let o = 0; o < mergedItems.length; o++) {
        if (j === run.length || (i < items.length && (items[i] as number) <= (run[j] as number))) {
          mergedWeights[o] = weights[i] as number;
          mergedItems[o] = items[i++] as number;
        } else {
          mergedWeights[o] = weight;
          mergedItems[o] = run[j++] as number;
        }
      }
      items = mergedItems;
      weights = mergedWeights;
    }
    let total = 0;
    for (let o = 0; o < weights.length; o++) weights[o] = total += weights[o] as number;
    this.#view = { items, cumulativeWeights: weights, totalWeight: total };
    return this.#view;
  }

  #nonEmptyView(what: string): KllSortedView {
    if (this.isEmpty) throw new RangeError(`the ${what} of an empty sketch is undefined`);
    return this.sortedView();
  }

  /** Frees a slot at the bottom of level 0, compacting first when the buffer is full. */
  #slot(): number {
    if (this.#levels[0] === 0) this.#compressWhileUpdating();
    this.#n++;
    this.#levelZeroSorted = false;
    return --(this.#levels[0] as number);
  }

  /** Compacts the lowest level at capacity; the buffer is exactly full (levels[0] = 0). */
  #compressWhileUpdating(): void {
    const levels = this.#levels;
    let level = 0;
    while (
      (levels[level + 1] as number) - (levels[level] as number) <
      levelCapacity(this.#k, this.#numLevels, level)
    ) {
      level++;
      if (level >= this.#numLevels) throw new Error("KLL capacity invariant broken");
    }
    if (level === this.#numLevels - 1) this.#addTopLevel();
    const items = this.#items;
    const rawBeg = levels[level] as number;
    const rawLim = levels[level + 1] as number;
    const popAbove = (levels[level + 2] as number) - rawLim;
    const rawPop = rawLim - rawBeg;
    const odd = rawPop % 2 === 1;
    const adjBeg = odd ? rawBeg + 1 : rawBeg;
    const adjPop = odd ? rawPop - 1 : rawPop;
    const halfPop = adjPop / 2;
    if (level === 0 && !this.#levelZeroSorted) items.subarray(adjBeg, adjBeg + adjPop).sort();
    const bit = compactionBit(this.#n, level);
    if (popAbove === 0) {
      halveUp(items, adjBeg, adjPop, bit);
    } else {
      halveDown(items, adjBeg, adjPop, bit);
      mergeSorted(items, adjBeg, halfPop, items, rawLim, popAbove, items, adjBeg + halfPop);
    }
    levels[level + 1] = rawLim - halfPop;
    if (odd) {
      levels[level] = (levels[level + 1] as number) - 1;
      items[levels[level] as number] = items[rawBeg] as number;
    } else {
      levels[level] = levels[level + 1] as number;
    }
    if (level > 0) {
      const start = levels[0] as number;
      items.copyWithin(start + halfPop, start, rawBeg);
      for (let l = 0; l < level; l++) levels[l] = (levels[l] as number) + halfPop;
    }
  }

  /** Grows the full buffer by the capacity of a new bottom level, the data shifted up. */
  #addTopLevel(): void {
    if (this.#numLevels >= KLL_MAX_DEPTH + 1) throw new RangeError("a KLL sketch cannot hold more levels");
    const delta = levelCapacity(this.#k, this.#numLevels + 1, 0);
    const oldCapacity = this.#levels[this.#numLevels] as number;
    const grown = new Float64Array(oldCapacity + delta);
    grown.set(this.#items, delta);
    this.#items = grown;
    for (let l = 0; l <= this.#numLevels; l++) this.#levels[l] = (this.#levels[l] as number) + delta;
    this.#numLevels++;
    this.#levels[this.#numLevels] = oldCapacity + delta;
  }

  /** Merges the other's levels 1 and up (its level 0 went in through #slot), then compresses. */
  #mergeHigherLevels(other: KllSketch, finalN: number): void {
    const above = (other.#levels[other.#numLevels] as number) - (other.#levels[1] as number);
    const work = new Float64Array(this.numRetained + above);
    const provisional = Math.max(this.#numLevels, other.#numLevels);
    const size = (s: KllSketch, l: number): number =>
      l < s.#numLevels ? (s.#levels[l + 1] as number) - (s.#levels[l] as number) : 0;
    const workLevels: number[] = [0, size(this, 0)];
    work.set(this.#items.subarray(this.#levels[0], this.#levels[1]));
    for (let l = 1; l < provisional; l++) {
      const mine = size(this, l);
      const theirs = size(other, l);
      const at = workLevels[l] as number;
      workLevels[l + 1] = at + mine + theirs;
      mergeSorted(
        this.#items,
        mine > 0 ? (this.#levels[l] as number) : 0,
        mine,
        other.#items,
        theirs > 0 ? (other.#levels[l] as number) : 0,
        theirs,
        work,
        at,
      );
    }
    const outLevels: number[] = [];
    const result = generalCompress(
      this.#k,
      provisional,
      work,
      workLevels,
      outLevels,
      this.#levelZeroSorted,
      finalN,
    );
    if (
      result.numLevels > maxLevelsFor(finalN) ||
      result.capacity !== totalCapacity(this.#k, result.numLevels)
    ) {
      throw new Error("KLL merge broke the capacity invariant");
    }
    const free = result.capacity - result.numItems;
    this.#items = new Float64Array(result.capacity);
    this.#items.set(work.subarray(0, result.numItems), free);
    this.#levels = outLevels.slice(0, result.numLevels + 1).map((b) => b + free);
    this.#numLevels = result.numLevels;
  }
}
