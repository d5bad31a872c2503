"""Oracle fixtures for modeltap's monitoring statistics core (src/core/monitoring/).

numpy and scipy compute, from the same inputs, what the TypeScript must reproduce to 1e-9
(test/unit/monitoring-drift.test.ts and test/unit/monitoring-summary.test.ts read the result):

- drift: PSI (Evidently's empty-bin epsilon), Jensen-Shannon distance (scipy, natural log),
  Hellinger, L-infinity, and the chi-square statistic and p-value (scipy.stats.chisquare, as
  Evidently's chisquare stat test) from pairs of count vectors;
- bins: quantile edges of a reference sample (numpy linear quantiles, deduplicated) and the counts
  of a current sample on them ((-inf, e1], (e1, e2], ..., (ek, +inf): searchsorted side="left");
- summaries: count, mean, population and sample variance, min and max of samples that the tests
  fold in chunks and merge.

Every input comes from a seeded numpy Generator, so the output is the same on every run with the
same numpy and scipy. To regenerate test/fixtures/monitoring/drift.json (run from the repository
root; the venv lives outside the repository):

    python3 -m venv /tmp/oracle-venv && /tmp/oracle-venv/bin/pip install numpy scipy
    /tmp/oracle-venv/bin/python tools/oracle/drift_fixtures.py

The unit tests need only the JSON, never Python.
"""

import json
import math
import sys
from pathlib import Path

import numpy as np
import scipy
from scipy.spatial.distance import jensenshannon
from scipy.stats import chisquare

OUT = Path(__file__).resolve().parents[2] / "test" / "fixtures" / "monitoring" / "drift.json"


def num(x):
    """A JSON number, or a string for what JSON cannot hold."""
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


# ---- drift on count vectors ----


def evidently_fill(props):
    """Evidently's get_binned_data(feel_zeroes=True), on one side's proportions."""
    props = props.copy()
    smallest = props[props != 0].min()
    np.place(props, props == 0, smallest / 10**6 if smallest <= 0.0001 else 0.0001)
    return props


def drift_metrics(reference, current):
    ref = np.asarray(reference, dtype=float)
    cur = np.asarray(current, dtype=float)
    keep = (ref > 0) | (cur > 0)  # bins empty on both sides carry no information
    ref, cur = ref[keep], cur[keep]
    if ref.sum() == 0 or cur.sum() == 0:
        nan = float("nan")
        return {"psi": nan, "jensenshannon": nan, "hellinger": nan, "linf": nan,
                "chisquare": {"statistic": nan, "dof": nan, "p_value": nan}}
    p, q = ref / ref.sum(), cur / cur.sum()

    r, c = evidently_fill(p), evidently_fill(q)
    psi = np.sum((r - c) * np.log(r / c))

    js = jensenshannon(np.asarray(reference, float), np.asarray(current, float))  # base=None: natural log

    hellinger = np.sqrt(0.5 * np.sum((np.sqrt(p) - np.sqrt(q)) ** 2))
    # Evidently's form, sqrt(1 - sum(sqrt(p q))), is the same distance; it cancels near 0.
    assert abs(hellinger - math.sqrt(max(0.0, 1 - min(1.0, np.sum(np.sqrt(p * q)))))) < 1e-7

    linf = np.max(np.abs(p - q))

    dof = len(ref) - 1
    if dof == 0:
        stat, pvalue = 0.0, 1.0  # scipy gives NaN; modeltap defines one bin as no evidence of drift
    else:
        with np.errstate(divide="ignore"):
            stat, pvalue = chisquare(cur, ref * (cur.sum() / ref.sum()))
    return {"psi": psi, "jensenshannon": js, "hellinger": hellinger, "linf": linf,
            "chisquare": {"statistic": stat, "dof": dof, "p_value": pvalue}}


def quantile_bins(reference, values, bins=20):
    qs = np.arange(1, bins) / bins
    edges = np.unique(np.quantile(reference, qs)) if len(reference) else np.array([])
    counts = np.bincount(np.searchsorted(edges, values, side="left"), minlength=len(edges) + 1)
    return edges, counts


def drift_cases(rng):
    cases = []

    def add(name, reference, current):
        cases.append({"name": name, "reference": [int(x) for x in reference],
                      "current": [int(x) for x in current]})

    base = rng.normal(0, 1, 5000)
    binned = lambda sample: quantile_bins(base, sample)[1]  # noqa: E731
    ref20 = binned(base)
    add("identical counts", ref20, ref20)
    add("same distribution, 20 quantile bins", ref20, binned(rng.normal(0, 1, 1000)))
    add("mean shifted by one std", ref20, binned(rng.normal(1, 1, 1000)))
    add("std scaled by 1.5", ref20, binned(rng.normal(0, 1.5, 1000)))
    add("current in a few bins, the rest empty", ref20, binned(rng.normal(2, 0.2, 400)))
    add("very unequal sizes (100000 vs 50)", binned(rng.normal(0, 1, 100000)), binned(rng.normal(0.3, 1, 50)))
    add("a category the reference never saw", [50, 30, 20, 0], [40, 30, 20, 10])
    add("single bin", [1000], [37])
    add("bins empty on both sides and in current", [10, 0, 20, 30, 0], [0, 0, 25, 35, 0])
    add("same proportions, different totals", [1, 2, 3, 4], [3, 6, 9, 12])
    add("two bins, small counts", [3, 7], [6, 4])
    add("tiny reference proportion (epsilon = min / 1e6)", [19999, 1, 0], [10, 0, 5])
    mix = np.array([0.4, 0.25, 0.15, 0.12, 0.08])
    add("categorical mix shift", rng.multinomial(2000, mix), rng.multinomial(800, mix[::-1]))
    probs = rng.dirichlet(np.ones(100))
    add("100 categories", rng.multinomial(20000, probs), rng.multinomial(3000, rng.dirichlet(np.ones(100))))
    add("empty current window", [5, 5], [0, 0])
    for case in cases:
        m = drift_metrics(case["reference"], case["current"])
        case["expected"] = {k: num(v) for k, v in m.items() if k != "chisquare"}
        case["expected"]["chisquare"] = {k: num(v) for k, v in m["chisquare"].items()}
    return cases


# ---- bin edges and counts ----


def bin_cases(rng):
    r6 = lambda a: np.round(a, 6)  # noqa: E731  (short JSON; the oracle uses the rounded values)
    cases = []

    def add(name, reference, current, bins=20):
        reference, current = np.asarray(reference, float), np.asarray(current, float)
        edges, counts = quantile_bins(reference, current, bins)
        cases.append({"name": name, "bins": bins, "reference": [float(x) for x in reference],
                      "current": [float(x) for x in current],
                      "expected": {"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]}})

    ref = r6(rng.normal(0, 1, 400))
    edges, _ = quantile_bins(ref, ref)
    add("normal, current shifted, some values on edges", ref,
        np.concatenate([r6(rng.normal(0.5, 1, 300)), edges[::3]]))
    add("integers with ties: deduplicated edges", rng.integers(0, 4, 300), rng.integers(-1, 6, 200))
    add("constant reference: one edge", [2.5] * 50, [1.0, 2.5, 2.5, 4.0])
    add("three reference values", [3.0, 1.0, 2.0], r6(rng.uniform(0, 4, 30)))
    add("empty reference: one bin", [], r6(rng.normal(0, 1, 20)))
    add("lognormal, 10 bins", r6(rng.lognormal(0, 1, 300)), r6(rng.lognormal(0.2, 1, 200)), bins=10)
    return cases


# ---- numeric summaries ----


def summary_cases(rng):
    r6 = lambda a: [float(x) for x in np.round(a, 6)]  # noqa: E731
    cases = []

    def add(name, values, splits):
        finite = np.array([v for v in values if isinstance(v, float) and math.isfinite(v)], dtype=float)
        n = len(finite)
        expected = {
            "count": n,
            "missing": sum(v is None for v in values),
            "mismatches": sum(not (v is None or isinstance(v, float)) for v in values),
            "mean": float(np.mean(finite)) if n else 0.0,
            "var_population": num(np.var(finite)) if n else "NaN",
            "var_sample": num(np.var(finite, ddof=1)) if n > 1 else "NaN",
            "min": float(np.min(finite)) if n else None,
            "max": float(np.max(finite)) if n else None,
        }
        cases.append({"name": name, "values": values, "splits": splits, "expected": expected})

    add("standard normal", r6(rng.normal(0, 1, 200)), [37, 100, 101])
    # a naive sum of squares loses about 1e-4 of this variance; Welford and Chan do not
    add("large offset (1e6 + normal)", r6(1e6 + rng.normal(0, 1, 150)), [1, 75, 149])
    add("lognormal, uneven chunks", r6(rng.lognormal(0, 1.5, 300)), [3, 10, 250, 299])
    add("integers with ties", [float(x) for x in rng.integers(-5, 5, 120)], [60])
    add("uniform, merged one value at a time", r6(rng.uniform(-1, 1, 50)), list(range(1, 50)))
    mixed = r6(rng.normal(10, 2, 40))
    mixed[3], mixed[7], mixed[20] = None, "12.5", None
    mixed[30], mixed[31] = True, {"x": 1}
    add("missing and mismatched values", mixed, [5, 21, 35])
    add("a single value", [4.25], [])
    add("nothing numeric", [None, "a"], [1])
    return cases


def main():
    rng = np.random.default_rng(20261128)
    fixture = {
        "generated_by": "tools/oracle/drift_fixtures.py",
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "drift": drift_cases(rng),
        "bins": bin_cases(rng),
        "summaries": summary_cases(rng),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(fixture, allow_nan=False, separators=(",", ":")) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()
