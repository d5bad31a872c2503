/**
 * Bins for drift: edges taken from a baseline sample, exact counts of later values on those edges,
 * and budgeted category counts. Counts are plain arrays and objects, merged by adding.
 *
 * The closedness convention, used everywhere: interior edges e1 < e2 < … < ek make k + 1 bins,
 * (−∞, e1], (e1, e2], …, (ek, +∞). A value equal to an edge falls in the bin that edge closes
 * (numpy's `searchsorted(edges, x, side="left")`). The first and last bins are open-ended, so a
 * current value outside the baseline's range is still counted, in an outer bin.
 */

/** The baseline's default: 20 quantile bins (the issue's and the drift docs' default). */
export const DEFAULT_BINS = 20;
/** Distinct categories named per field before further ones are counted as `other`. */
export const DEFAULT_CATEGORY_BUDGET = 1000;

/**
 * Interior edges at the reference's i/bins quantiles (i = 1 … bins − 1), deduplicated and
 * ascending. Quantiles are numpy's default (`method="linear"`, Hyndman and Fan's type 7),
 * interpolated as numpy does. Values that are not finite numbers are left out; an empty or
 * constant reference gives fewer edges (none: one bin holds everything).
 */
export function quantileEdges(reference: readonly unknown[], bins: number = DEFAULT_BINS): number[] {
  if (!Number.isInteger(bins) || bins < 1)
    throw new RangeError(`bins must be a positive integer, got ${bins}`);
  const sorted = Float64Array.from(reference.filter(isFiniteNumber)).sort();
  if (sorted.length === 0) return [];
  const edges: number[] = [];
  for (let i = 1; i < bins; i++) {
    const edge = quantileSorted(sorted, i / bins);
    if (edges.length === 0 || edge > edges[edges.length - 1]!) edges.push(edge);
  }
  return edges;
}

/** numpy's linear quantile of an ascending array, with its two-sided interpolation. */
function quantileSorted(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  const virtual = (n - 1) * q;
  const below = Math.floor(virtual);
  const a = sorted[Math.min(below, n - 1)]!;
  const b = sorted[Math.min(below + 1, n - 1)]!;
  const t = virtual - below;
  const diff = b - a;
  // numpy's _lerp: from the nearer end, so the result is monotone and exact at t = 1
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/** The bin of `x` on ascending `edges`: how many edges lie strictly below it (binary search). */
export function binIndex(edges: readonly number[], x: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Zero counts for the edges.length + 1 bins. */
export function emptyBinCounts(edges: readonly number[]): number[] {
  return new Array<number>(edges.length + 1).fill(0);
}

/**
 * Adds `value` to `counts` (in place) when it is a number other than NaN: ±Infinity lands in an
 * outer bin. Returns whether it was counted; the numeric summary accounts for the rest.
 */
export function addToBins(counts: number[], edges: readonly number[], value: unknown): boolean {
  if (typeof value !== "number" || Number.isNaN(value)) return false;
  counts[binIndex(edges, value)]! += 1;
  return true;
}

/** Exact counts of `values` on `edges`. */
export function countOnEdges(edges: readonly number[], values: readonly unknown[]): number[] {
  const counts = emptyBinCounts(edges);
  for (const v of values) addToBins(counts, edges, v);
  return counts;
}

/** Bin counts of both samples together. Both must be on the same edges. */
export function mergeBinCounts(a: readonly number[], b: readonly number[]): number[] {
  if (a.length !== b.length) throw new RangeError(`bin counts differ in length: ${a.length} and ${b.length}`);
  return a.map((n, i) => n + b[i]!);
}

/**
 * Counts per category, at most `budget` of them named; every further value is counted in
 * `other`, so the counts always sum to the values seen. `counts` has no prototype, so any string
 * ("__proto__" included) is just a key.
 */
export interface CategoryCounts {
  budget: number;
  counts: Record<string, number>;
  other: number;
}

export function emptyCategoryCounts(budget: number = DEFAULT_CATEGORY_BUDGET): CategoryCounts {
  if (!Number.isInteger(budget) || budget < 0) {
    throw new RangeError(`the category budget must be a non-negative integer, got ${budget}`);
  }
  return { budget, counts: Object.create(null) as Record<string, number>, other: 0 };
}

/** Counts one value of `category` (in place; `n` times) and returns `c`. */
export function addCategory(c: CategoryCounts, category: string, n = 1): CategoryCounts {
  if (Object.hasOwn(c.counts, category)) c.counts[category]! += n;
  else if (Object.keys(c.counts).length < c.budget) setCount(c.counts, category, n);
  else c.other += n;
  return c;
}

/**
 * Both inputs together, within the smaller budget. While the named categories of both fit the
 * budget the merge is exact and order-free. Past it, the most frequent are kept (ties by key) and
 * the rest go to `other`: totals stay exact, which categories are named is then an approximation.
 */
export function mergeCategoryCounts(a: CategoryCounts, b: CategoryCounts): CategoryCounts {
  const merged = new Map<string, number>();
  for (const side of [a.counts, b.counts]) {
    for (const [k, n] of Object.entries(side)) merged.set(k, (merged.get(k) ?? 0) + n);
  }
  const out = emptyCategoryCounts(Math.min(a.budget, b.budget));
  out.other = a.other + b.other;
  const ranked = [...merged].sort(([ka, na], [kb, nb]) => nb - na || (ka < kb ? -1 : ka > kb ? 1 : 0));
  ranked.forEach(([k, n], i) => {
    if (i < out.budget) setCount(out.counts, k, n);
    else out.other += n;
  });
  return out;
}

/**
 * Two count vectors over the same categories, for the drift metrics: the union of both sides'
 * named categories in key order, then `other` when either side has one.
 */
export function alignCategories(
  reference: CategoryCounts,
  current: CategoryCounts,
): { keys: string[]; reference: number[]; current: number[] } {
  const keys = [...new Set([...Object.keys(reference.counts), ...Object.keys(current.counts)])].sort();
  const at = (c: CategoryCounts) => keys.map((k) => (Object.hasOwn(c.counts, k) ? c.counts[k]! : 0));
  const ref = at(reference);
  const cur = at(current);
  if (reference.other > 0 || current.other > 0) {
    ref.push(reference.other);
    cur.push(current.other);
  }
  return { keys, reference: ref, current: cur };
}

function setCount(counts: Record<string, number>, key: string, n: number): void {
  Object.defineProperty(counts, key, { value: n, writable: true, enumerable: true, configurable: true });
}

function isFiniteNumber(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v);
}
