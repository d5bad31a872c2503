/**
 * The one-sided Kolmogorov-Smirnov survival function Pr(D⁺ₙ ≥ x), as scipy.special.smirnov
 * computes it (xsf's cephes/kolmogorov.h, after van Mulbregt, arXiv:1802.06966): the
 * Birnbaum-Tingey sum
 *
 *   x · Σ_{v=0}^{⌊n(1−x)⌋} C(n, v) (x + v/n)^(v−1) (1 − x − v/n)^(n−v)
 *
 * with each term taken through its logarithm, since the binomials overflow and the powers
 * underflow long before n reaches the sizes the monitor sees.
 * Only the cases kstwo's survival function reaches are here: kolmogorov's two-sided distribution
 * calls it with n·x ≥ 1 and x above 0.5/√n, where xsf always takes the lower sum.
 */

/** A double-double: hi + lo with |lo| ≤ ulp(hi)/2. */
interface Dd {
  hi: number;
  lo: number;
}

const SPLITTER = 134217729; // 2^27 + 1, Veltkamp's split for 53-bit doubles
const MAX_COMPUTE_N = 1_000_000;
/** xsf's MINLOG: e^x underflows to 0 below it. */
const MIN_LOG = -745.1332191019412;

function twoSum(a: number, b: number): Dd {
  const s = a + b;
  const bb = s - a;
  return { hi: s, lo: a - (s - bb) + (b - bb) };
}

function quickTwoSum(a: number, b: number): Dd {
  const s = a + b;
  return { hi: s, lo: b - (s - a) };
}

function twoProduct(a: number, b: number): Dd {
  const p = a * b;
  const ta = SPLITTER * a;
  const ah = ta - (ta - a);
  const al = a - ah;
  const tb = SPLITTER * b;
  const bh = tb - (tb - b);
  const bl = b - bh;
  return { hi: p, lo: ah * bh - p + ah * bl + al * bh + al * bl };
}

function ddAdd(a: Dd, b: Dd): Dd {
  const s = twoSum(a.hi, b.hi);
  const t = twoSum(a.lo, b.lo);
  const u = quickTwoSum(s.hi, s.lo + t.hi);
  return quickTwoSum(u.hi, u.lo + t.lo);
}

const dd = (x: number): Dd => ({ hi: x, lo: 0 });

/** x · 2^e without overflow or underflow in the scale factor itself. */
export function ldexp(x: number, e: number): number {
  let y = x;
  let k = e;
  while (k > 1000) {
    y *= 2 ** 1000;
    k -= 1000;
  }
  while (k < -1000) {
    y *= 2 ** -1000;
    k += 1000;
  }
  return y * 2 ** k;
}

/** a^m for a double-double a, as xsf's pow_D: the hi part through pow, lo as a first-order fix. */
function ddPow(a: Dd, m: number): Dd {
  if (m === 0) return dd(1);
  if (a.hi === 0) return dd(0);
  const ans = Math.pow(a.hi, m);
  const r = a.lo / a.hi;
  let adj = m * r;
  if (Math.abs(adj) > 1e-8) {
    adj = Math.abs(adj) < 1e-4 ? adj + m * r * (((m - 1) / 2) * r) : Math.expm1(m * Math.log1p(r));
  }
  return ddAdd(dd(ans), dd(ans * adj));
}

/** floor(n·x) and its remainder, both exact (n·x carried as a double-double). */
function modNX(n: number, x: number): { floor: number; alpha: number } {
  const p = twoProduct(n, x);
  let floor = Math.floor(p.hi);
  if (floor === p.hi && p.lo < 0) floor -= 1;
  let alpha = p.hi - floor + p.lo;
  if (alpha >= 1) {
    floor += 1;
    alpha = 0;
  }
  return { floor, alpha };
}

/** scipy.special.smirnov(n, x) = Pr(D⁺ₙ ≥ x) for integer n ≥ 1. */
export function smirnovSf(n: number, x: number): number {
  if (!(n > 0 && x >= 0 && x <= 1)) return NaN;
  if (n === 1) return 1 - x;
  if (x === 0) return 1;
  if (x === 1) return 0;
  const { floor: nxfl, alpha } = modNX(n, x);
  // x ≤ 1/n: Pr(D⁺ < x) = x (1 + x)^(n−1).
  if (nxfl === 0 || (nxfl === 1 && alpha === 0)) {
    const t = ddPow(twoSum(1, x), n - 1);
    return clip01(1 - x * (t.hi + t.lo));
  }
  if (-2 * n * x * x < MIN_LOG) return 0;
  if (nxfl >= n - 1) {
    const t = ddPow(twoSum(1, -x), n);
    return clip01(t.hi + t.lo);
  }
  if (n > MAX_COMPUTE_N) {
    // Too many terms: xsf's approximation e^(−(6nx + 1)² / 18n).
    const logp = -Math.pow(6 * n * x + 1, 2) / 18 / n;
    return clip01(logp < -Math.LN2 ? Math.exp(logp) : 1 + Math.expm1(logp));
  }
  return clip01(lowerSum(n, x, nxfl));
}

function clip01(p: number): number {
  return Math.min(1, Math.max(0, p));
}

/** q = a/b as hi + lo for integers a, b (lo from the exact remainder a − hi·b). */
function quotient(a: number, b: number): Dd {
  const hi = a / b;
  const p = twoProduct(hi, b);
  return { hi, lo: (a - p.hi - p.lo) / b };
}

/** log(hi + lo) for a double-double with |lo| ≪ hi. */
const ddLog = (a: Dd): number => Math.log(a.hi) + a.lo / a.hi;

/**
 * x · Σ A_v over v = 0 … n − ⌊nx⌋ − 1 (with n·x whole the term at v = n − nx is 0 and left out).
 * Each term goes through its logarithm, the bases 1 − x − v/n and x + v/n carried as
 * double-doubles; that leaves a relative error of order n·ε (2e-11 at n = 10⁶) where xsf's
 * double-double powers get ε, at a twentieth of the time. xsf's early stop is kept: the terms
 * peak near v = n(1/2 − x), and the sum ends once the rest cannot move it.
 */
function lowerSum(n: number, x: number, nxfl: number): number {
  const nTerms = n - nxfl;
  const vmid = Math.floor(n / 2);
  const oneMinusX = twoSum(1, -x);
  // v = 0: (1 − x)^n / x.
  let sum = Math.exp(n * ddLog(oneMinusX)) / x;
  let comp = 0;
  // C(n, v) as cMan · 2^cExp, cMan kept within 2^±512.
  let cMan = 1;
  let cExp = 0;
  for (let v = 1; v < nTerms; v++) {
    cMan = (cMan * (n - v + 1)) / v;
    if (cMan >= 2 ** 512) {
      cMan *= 2 ** -512;
      cExp += 512;
    } else if (cMan < 2 ** -512) {
      cMan *= 2 ** 512;
      cExp -= 512;
    }
    const q1 = quotient(v, n);
    const t1 = twoSum(q1.hi, x);
    const q2 = quotient(n - v, n);
    const d2 = twoSum(q2.hi, -x);
    const t2 = quickTwoSum(d2.hi, d2.lo + q2.lo);
    const logTerm =
      Math.log(cMan) +
      cExp * Math.LN2 +
      (v - 1) * ddLog({ hi: t1.hi, lo: t1.lo + q1.lo }) +
      (n - v) * ddLog(t2);
    // 1 − x − v/n can round to 0 or below at the last v when n·x is within an ulp of a whole number.
    const term = t2.hi > 0 ? Math.exp(logTerm) : 0;
    const s = sum + term;
    comp += Math.abs(sum) >= Math.abs(term) ? sum - s + term : term - s + sum;
    sum = s;
    if (term !== 0) {
      if (4 * (nTerms - v) * term < Number.EPSILON * sum && v !== nTerms - 1) break;
    } else if (v > vmid) {
      break;
    }
  }
  return x * (sum + comp);
}
