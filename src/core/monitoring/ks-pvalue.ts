/**
 * The two-sided two-sample KS p-value as scipy.stats.ks_2samp(method="auto") gives it, which is
 * what Evidently's `ks` drift test reports. With both samples at most 10 000 values scipy counts
 * lattice paths exactly (Hodges 1958; the n ≠ m recursion after Viehmann, arXiv:2102.08037), first
 * snapping D to the nearest multiple of 1/lcm(n, m), the only values it can take on raw samples;
 * beyond that, or if the exact count leaves [0, 1], it uses kstwo(round(n·m/(n + m))).sf(D).
 */
import { kstwoSf } from "./kstwo.js";

/** scipy's MAX_AUTO_N: the largest sample size "auto" still counts exactly. */
export const KS_EXACT_MAX_N = 10_000;

function gcd(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y !== 0) [x, y] = [y, x % y];
  return x;
}

/** numpy.round: halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Pr(D_{n,n} ≥ h/n) = 2 Σₖ (−1)^(k−1) C(2n, n − kh) / C(2n, n), nested Horner-wise so the
 * alternating terms do not cancel.
 */
function outsideSquare(n: number, h: number): number {
  let p = 0;
  for (let k = Math.floor(n / h); k >= 0; k--) {
    let ratio = 1;
    for (let j = 0; j < h; j++) ratio = ((n - k * h - j) * ratio) / (n + k * h + j + 1);
    p = ratio * (1 - p);
  }
  return 2 * p;
}

/**
 * The share of the C(m + n, n) lattice paths from (0, 0) to (m, n) that touch or leave the band
 * |x/m − y/n| < h/lcm(m, n), carried column by column over a sliding window of the band as one
 * minus the share still inside.
 */
function outsideBand(m0: number, n0: number, g: number, h: number): number {
  const m = Math.max(m0, n0);
  const n = Math.min(m0, n0);
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const a = new Float64Array(Math.min(2 * maxj + 2, n + 1)).fill(1);
  a.fill(0, minj, maxj);
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = ((a[jj + minj - lastminj] as number) * i + val * j) / (i + j);
      a[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) a.fill(1, maxj - minj, maxj - minj + (lastlen - curlen));
  }
  return a[maxj - minj - 1] as number;
}

/** kstwo.sf(d, round(en)) with en = n·m/(n + m): scipy's "asymp" two-sided p-value. */
function asymptotic(d: number, n: number, m: number): number {
  return kstwoSf(d, roundHalfEven((n * m) / (n + m)));
}

/**
 * scipy.stats.ks_2samp(·, ·).pvalue for a statistic d between samples of n and m values. For a D
 * that raw samples cannot produce (a sketch's estimate) this is scipy's answer for the nearest one.
 */
export function ks2sampPValue(d: number, n: number, m: number): number {
  if (!(Number.isInteger(n) && Number.isInteger(m) && n > 0 && m > 0) || Number.isNaN(d)) return NaN;
  if (Math.max(n, m) > KS_EXACT_MAX_N) return clip01(asymptotic(d, n, m));
  const g = gcd(n, m);
  const lcm = (n / g) * m;
  const h = roundHalfEven(d * lcm);
  const snapped = h / lcm;
  if (h === 0) return 1;
  const p = n === m ? outsideSquare(n, h) : outsideBand(n, m, g, h);
  // scipy warns and switches to "asymp" (with the snapped D) when rounding pushes p out of [0, 1].
  if (!(p >= 0 && p <= 1)) return clip01(asymptotic(snapped, n, m));
  return p;
}

function clip01(p: number): number {
  return Math.min(1, Math.max(0, p));
}
