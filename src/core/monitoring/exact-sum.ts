/**
 * An exact, mergeable sum of doubles. Adding floating-point numbers rounds at every step, so two
 * replicas summing the same values in a different order (or split differently) disagree in the
 * last bits. Every finite double is an integer multiple of 2^-1074, so the sum is kept as that
 * integer (a BigInt): adding and merging are then exact, and the result is the same in any order.
 *
 * Stored as a string like a C99 hex float without the point: "<odd hex mantissa>p<binary exponent>"
 * ("3p-2" is 0.75, "-5p0" is -5, "0" is zero), one spelling per value, short for short sums.
 */
export type ExactSum = string;

export const ZERO_SUM: ExactSum = "0";

/** The smallest subnormal is 2^-1074: value × 2^1074 is an integer for every finite double. */
const SCALE = 1074;

function toScaled(x: number): bigint {
  if (!Number.isFinite(x)) throw new RangeError(`an exact sum takes finite numbers, got ${x}`);
  if (x === 0) return 0n;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const exponent = (hi >>> 20) & 0x7ff;
  let mantissa = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  // A normal number is (2^52 + m) × 2^(e-1075); a subnormal is m × 2^-1074.
  if (exponent !== 0) mantissa = (mantissa | (1n << 52n)) << BigInt(exponent - 1);
  return x < 0 ? -mantissa : mantissa;
}

function parse(sum: ExactSum): bigint {
  if (sum === ZERO_SUM) return 0n;
  const p = sum.indexOf("p");
  const negative = sum.startsWith("-");
  const mantissa = BigInt(`0x${sum.slice(negative ? 1 : 0, p)}`);
  const shift = BigInt(Number(sum.slice(p + 1)) + SCALE);
  const scaled = shift >= 0n ? mantissa << shift : mantissa >> -shift;
  return negative ? -scaled : scaled;
}

function format(scaled: bigint): ExactSum {
  if (scaled === 0n) return ZERO_SUM;
  const magnitude = scaled < 0n ? -scaled : scaled;
  const zeros = (magnitude & -magnitude).toString(2).length - 1;
  const mantissa = magnitude >> BigInt(zeros);
  return `${scaled < 0n ? "-" : ""}${mantissa.toString(16)}p${zeros - SCALE}`;
}

export function addToSum(sum: ExactSum, x: number): ExactSum {
  return format(parse(sum) + toScaled(x));
}

export function mergeSums(a: ExactSum, b: ExactSum): ExactSum {
  return format(parse(a) + parse(b));
}

/** The double nearest the exact sum (one rounding; ±Infinity past the largest double). */
export function sumValue(sum: ExactSum): number {
  let magnitude = parse(sum);
  const negative = magnitude < 0n;
  if (negative) magnitude = -magnitude;
  // Keep 64 bits and a sticky bit for whatever was shifted out, so Number() rounds correctly.
  const bits = magnitude.toString(2).length;
  const shift = Math.max(0, bits - 64);
  let top = magnitude >> BigInt(shift);
  if (shift > 0 && (magnitude & ((1n << BigInt(shift)) - 1n)) !== 0n) top |= 1n;
  const exponent = shift - SCALE;
  const half = Math.trunc(exponent / 2);
  const value = Number(top) * 2 ** half * 2 ** (exponent - half);
  return negative ? -value : value;
}
