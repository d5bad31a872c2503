"""Oracle fixtures for modeltap's KLL quantile sketch and the drift measures read from sketches
(src/core/monitoring/kll.ts and sketch-drift.ts; test/unit/monitoring-kll.test.ts reads the result).

Apache DataSketches (PyPI `datasketches`, its C++ `kll_sketch<double>`) and scipy compute, from the
same inputs, what the TypeScript must reproduce:

- sketches: the serialized bytes (base64) of an empty sketch, a single item, exact-mode sketches
  (n <= k, for k = 200, 100 and 8; with their input values, so the TypeScript can build the same
  sketch and compare bytes), estimation-mode sketches (n = 10k and 100k, k = 8 with many levels,
  and merged pairs; bytes only), each serialized before any query (a query sorts level zero, which
  the bytes record); and their n, min, max, num_retained, normalized rank errors and
  get_quantile / get_rank answers, inclusive and exclusive;
- ks: raw-sample two-sample KS (scipy.stats.ks_2samp's statistic) with the p-value of Kolmogorov's
  limiting distribution, scipy.stats.kstwobign.sf(sqrt(en) * D), en = n m / (n + m), and
  scipy.stats.wasserstein_distance, on small pairs (with their values: the TypeScript sketches
  them in exact mode) and large pairs (with DataSketches' sketches of them, k = 200: the TypeScript
  loads those and checks the sketch answers stay within their stated error);
- kolmogorov: kstwobign.sf(sqrt(en) * D) on a grid of (D, n, m), to check the p-value function.

Estimation-mode bytes depend on DataSketches' own random compaction, so they differ on each run;
every other number is the same on every run with the same numpy, scipy and datasketches. To
regenerate test/fixtures/monitoring/kll.json (run from the repository root; the venv lives outside
the repository):

    python3 -m venv /tmp/oracle-venv && /tmp/oracle-venv/bin/pip install numpy scipy datasketches
    /tmp/oracle-venv/bin/python tools/oracle/kll_fixtures.py

The unit tests need only the JSON, never Python.
"""

import base64
import json
import sys
from importlib.metadata import version
from pathlib import Path

import numpy as np
import scipy
from datasketches import kll_doubles_sketch
from scipy.stats import ks_2samp, kstwobign, wasserstein_distance

OUT = Path(__file__).resolve().parents[2] / "test" / "fixtures" / "monitoring" / "kll.json"

RANKS = [0.0, 0.001, 0.01, 0.1, 0.25, 0.3333, 0.5, 0.75, 0.9, 0.99, 0.999, 1.0]


def r6(values):
    """Rounded so the JSON holds the exact doubles the sketch saw."""
    return [round(float(x), 6) for x in values]


def sketch_of(values, k):
    s = kll_doubles_sketch(k)
    for x in values:
        s.update(float(x))
    return s


def describe(s):
    """Bytes first: a query sorts level zero, and the bytes say whether it is sorted."""
    out = {"bytes": base64.b64encode(s.serialize()).decode("ascii"), "k": s.k, "n": s.n}
    if s.is_empty():
        return out
    lo, hi = s.get_min_value(), s.get_max_value()
    probes = sorted({lo - 1, lo, hi, hi + 1, *(s.get_quantile(r) for r in RANKS)})
    probes += [lo + (hi - lo) * f for f in (0.05, 0.37, 0.5, 0.81)]
    out.update({
        "min": lo,
        "max": hi,
        "num_retained": s.num_retained,
        "estimation_mode": s.is_estimation_mode(),
        "rank_error": s.normalized_rank_error(False),
        "rank_error_pmf": s.normalized_rank_error(True),
        "quantiles": [
            {"rank": r, "inclusive": s.get_quantile(r, True), "exclusive": s.get_quantile(r, False)}
            for r in RANKS
        ],
        "ranks": [
            {"value": v, "inclusive": s.get_rank(v, True), "exclusive": s.get_rank(v, False)}
            for v in probes
        ],
    })
    return out


def sketch_cases(rng):
    cases = []

    def add(name, values, k, keep_values):
        case = {"name": name, **describe(sketch_of(values, k))}
        if keep_values:
            case["values"] = values
        cases.append(case)

    add("empty", [], 200, True)
    add("one item", [3.5], 200, True)
    add("exact, k=200, normal", r6(rng.normal(10, 3, 150)), 200, True)
    add("exact, k=200, full (n = k)", r6(rng.uniform(-5, 5, 200)), 200, True)
    add("exact, k=100, integers with ties", [float(x) for x in rng.integers(0, 12, 90)], 100, True)
    add("exact, k=8, n=8", r6(rng.normal(0, 1, 8)), 8, True)
    add("exact, k=8, n=5", r6(rng.exponential(2, 5)), 8, True)
    add("estimation, k=200, n=10000, normal", rng.normal(0, 1, 10_000), 200, False)
    add("estimation, k=200, n=100000, lognormal", rng.lognormal(0, 1, 100_000), 200, False)
    add("estimation, k=8, n=5000, uniform (many levels)", rng.uniform(0, 1, 5000), 8, False)
    add("estimation, k=100, n=20000, integers with ties", rng.integers(0, 50, 20_000).astype(float), 100, False)

    a = sketch_of(rng.normal(0, 1, 30_000), 200)
    b = sketch_of(rng.normal(0.5, 2, 20_000), 200)
    a.merge(b)
    cases.append({"name": "estimation, merged pair (30000 + 20000)", **describe(a)})

    # Two exact sketches whose union still fits: the merge is deterministic, so bytes must match.
    left, right = r6(rng.normal(0, 1, 60)), r6(rng.normal(1, 1, 70))
    m = sketch_of(left, 200)
    m.merge(sketch_of(right, 200))
    cases.append({"name": "exact, merged pair (60 + 70)", "merge_of": [left, right], **describe(m)})
    return cases


def ks_pvalue(d, n, m):
    en = n * m / (n + m)
    return float(kstwobign.sf(np.sqrt(en) * d))


def raw_stats(ref, cur):
    ks = ks_2samp(ref, cur, method="asymp")
    return {
        "ks_statistic": float(ks.statistic),
        "ks_p_value": ks_pvalue(float(ks.statistic), len(ref), len(cur)),
        "ks_2samp_asymp_p_value": float(ks.pvalue),
        "wasserstein": float(wasserstein_distance(ref, cur)),
    }


def pair_cases(rng):
    cases = []
    small = [
        ("same distribution", r6(rng.normal(0, 1, 120)), r6(rng.normal(0, 1, 90))),
        ("shifted mean", r6(rng.normal(0, 1, 150)), r6(rng.normal(0.7, 1, 140))),
        ("wider spread", r6(rng.normal(5, 1, 100)), r6(rng.normal(5, 3, 110))),
        ("integers with ties", [float(x) for x in rng.integers(0, 6, 80)],
         [float(x) for x in rng.integers(1, 7, 95)]),
        ("disjoint supports", r6(rng.uniform(0, 1, 40)), r6(rng.uniform(2, 3, 50))),
        ("identical samples", [1.0, 2.0, 2.0, 3.0, 7.5], [1.0, 2.0, 2.0, 3.0, 7.5]),
    ]
    for name, ref, cur in small:
        cases.append({"name": name, "exact": True, "reference": ref, "current": cur, **raw_stats(ref, cur)})
    large = [
        ("large, shifted and wider (50000 vs 40000)", rng.normal(0, 1, 50_000), rng.normal(0.1, 1.1, 40_000)),
        ("large, same lognormal (100000 vs 30000)", rng.lognormal(0, 0.5, 100_000), rng.lognormal(0, 0.5, 30_000)),
        ("large, integers (20000 vs 20000)", rng.integers(0, 30, 20_000).astype(float),
         rng.integers(2, 32, 20_000).astype(float)),
    ]
    for name, ref, cur in large:
        cases.append({
            "name": name,
            "exact": False,
            "reference_bytes": base64.b64encode(sketch_of(ref, 200).serialize()).decode("ascii"),
            "current_bytes": base64.b64encode(sketch_of(cur, 200).serialize()).decode("ascii"),
            **raw_stats(ref, cur),
        })
    return cases


def kolmogorov_cases():
    grid = []
    for d in (0.0, 1e-4, 0.003, 0.01, 0.02, 0.05, 0.1, 0.2, 0.35, 0.6, 1.0):
        for n, m in ((5, 5), (100, 80), (1000, 3000), (50_000, 40_000), (1_000_000, 7)):
            grid.append({"d": d, "n": n, "m": m, "p_value": ks_pvalue(d, n, m)})
    return grid


def main():
    rng = np.random.default_rng(20261201)
    fixture = {
        "generated_by": "tools/oracle/kll_fixtures.py",
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "datasketches": version("datasketches"),
        "sketches": sketch_cases(rng),
        "pairs": pair_cases(rng),
        "kolmogorov": kolmogorov_cases(),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(fixture, allow_nan=False, separators=(",", ":")) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
