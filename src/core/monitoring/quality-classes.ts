/**
 * What the quality aggregates share: records keyed by class name, the budget on how many classes
 * one aggregate keeps, and precision, recall and F1 from counts.
 *
 * Class names are any strings a model or a labeler produced, so records keyed by them are read and
 * written as own properties only: a class named "__proto__" or "constructor" is a class like any
 * other, on an aggregate built here or parsed back from JSON.
 */

/** The most classes (or entity types) one aggregate keeps. */
export const MAX_CLASSES = 1000;
/** A longer class name is never kept: it counts as "other" (a budget on the aggregate's size). */
export const MAX_CLASS_NAME_LENGTH = 200;

export type Counts<T> = Record<string, T>;

export function getOwn<T>(record: Counts<T>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

export function setOwn<T>(record: Counts<T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, writable: true, enumerable: true, configurable: true });
}

export function addOwn(record: Counts<number>, key: string, n: number): void {
  setOwn(record, key, (getOwn(record, key) ?? 0) + n);
}

/** Names in one fixed order (UTF-16 code units), the same on every replica. */
export function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The classes kept from `names`: the MAX_CLASSES first by name. Keeping the smallest names, rather
 * than the first seen, is what makes merging order-independent: the smallest MAX_CLASSES of a union
 * are always among the smallest MAX_CLASSES of its parts, so a class one part dropped is never one
 * the merge keeps.
 */
export function keptClasses(names: Iterable<string>, max = MAX_CLASSES): string[] {
  const eligible = [...new Set(names)].filter((n) => n.length <= MAX_CLASS_NAME_LENGTH);
  return eligible.sort(byName).slice(0, max);
}

/** Whether a sorted list of names holds `name` (binary search). */
export function hasName(sorted: readonly string[], name: string): boolean {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const at = sorted[mid] as string;
    if (at === name) return true;
    if (at < name) lo = mid + 1;
    else hi = mid;
  }
  return false;
}

export type Admission = { keep: false } | { keep: true; evict?: string };

/**
 * Whether a class not yet kept is kept: while there is room, or in place of the largest name when
 * it comes before it (the caller then folds `evict` into "other"). Kept classes are `count` names
 * of which `largest` comes last.
 */
export function admission(
  count: number,
  largest: string | undefined,
  name: string,
  max = MAX_CLASSES,
): Admission {
  if (name.length > MAX_CLASS_NAME_LENGTH) return { keep: false };
  if (count < max) return { keep: true };
  return largest !== undefined && name < largest ? { keep: true, evict: largest } : { keep: false };
}

/** admission() for a record keyed by class, found by one scan of its keys (no sort). */
export function admitKey(record: Counts<unknown>, name: string): Admission {
  const keys = Object.keys(record);
  let largest: string | undefined;
  for (const key of keys) if (largest === undefined || key > largest) largest = key;
  return admission(keys.length, largest, name);
}

export interface Rates {
  precision: number;
  recall: number;
  f1: number;
  /** True instances of the class (tp + fn). */
  support: number;
}

/**
 * Precision, recall and F1 with scikit-learn's default zero_division ("warn", which scores 0): a
 * class never predicted has precision 0, a class never true has recall 0, and F1 = 2tp/(2tp+fp+fn)
 * (the harmonic mean of the two) is 0 when the class was neither true nor predicted. seqeval does
 * the same for entity types.
 */
export function rates(tp: number, fp: number, fn: number): Rates {
  const f1Denominator = 2 * tp + fp + fn;
  return {
    precision: tp + fp > 0 ? tp / (tp + fp) : 0,
    recall: tp + fn > 0 ? tp / (tp + fn) : 0,
    f1: f1Denominator > 0 ? (2 * tp) / f1Denominator : 0,
    support: tp + fn,
  };
}

export function mean(values: readonly number[]): number | null {
  return values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
}

/**
 * The entry for `name` in a budgeted table of an aggregate, made by `make` when the class is new and
 * kept; undefined when it is not kept. Either way past the budget, `q.overflowed` is set.
 */
export function admitted<T>(
  q: { overflowed: boolean },
  table: Counts<T>,
  name: string,
  make: () => T,
): T | undefined {
  const existing = getOwn(table, name);
  if (existing) return existing;
  const where = admitKey(table, name);
  if (!where.keep) {
    q.overflowed = true;
    return undefined;
  }
  if (where.evict !== undefined) {
    delete table[where.evict];
    q.overflowed = true;
  }
  const fresh = make();
  setOwn(table, name, fresh);
  return fresh;
}
