"""Oracle fixtures for the two-sample KS p-value (src/core/monitoring/ks-pvalue.ts, kstwo.ts and
smirnov.ts; test/unit/monitoring-ks.test.ts reads the result).

scipy.stats.ks_2samp(reference, current) with its defaults (alternative="two-sided",
method="auto"), as Evidently's `ks` drift test calls it, computes what the TypeScript must
reproduce:

- samples: seeded normal samples for a grid of sizes (tiny 1..10, equal and unequal, coprime and
  not, 90 vs 120, 200 vs 1000, 1000 vs 5000, 10000 vs 9999 at the edge of the exact path, and past
  it where scipy switches to kstwo) and shifts from none (identical samples: D = 0) to complete
  separation (D = 1), and kll.json's exact-mode pairs; each with n, m, scipy's D and p-value, and
  the values themselves when both sides fit an exact-mode KLL sketch (at most 200 values);
- kstwo: scipy.stats.kstwo.sf(x, n) on a grid reaching every branch scipy picks between (the
  Ruben-Gambino ends, Durbin's matrix, Pomeranz, Pelz-Good, and 2 * scipy.special.smirnov).

Every number is the same on every run with the same numpy and scipy. To regenerate
test/fixtures/monitoring/ks.json (run from the repository root; the venv lives outside it):

    python3 -m venv /tmp/oracle-venv && /tmp/oracle-venv/bin/pip install numpy scipy
    /tmp/oracle-venv/bin/python tools/oracle/ks_fixtures.py

The unit tests need only the JSON, never Python.
"""

import json
import warnings
from importlib.metadata import version
from pathlib import Path

import numpy as np
from scipy.stats import ks_2samp, kstwo

FIXTURES = Path(__file__).resolve().parents[2] / "test" / "fixtures" / "monitoring"
OUT = FIXTURES / "ks.json"
KLL = FIXTURES / "kll.json"

SIZES = [
    (1, 1), (1, 2), (2, 1), (2, 2), (2, 3), (3, 3), (3, 5), (4, 6), (5, 7), (6, 9), (7, 7),
    (8, 10), (9, 10), (10, 10), (10, 3), (30, 45), (50, 50), (90, 120), (120, 90), (150, 200),
    (199, 200), (200, 1000), (997, 1000), (1000, 5000), (2500, 2500), (3000, 4500),
    (10000, 9999), (10000, 10000),
    (10001, 10000), (10001, 50), (10001, 141), (20000, 300), (12000, 30000), (50000, 100000),
    (250000, 250000),
]
SHIFTS = [0.0, 0.05, 0.2, 0.5, 1.0, 2.0, 100.0]
SKETCHABLE = 200


def r6(values):
    """Rounded so the JSON holds the exact doubles scipy saw."""
    return [round(float(x), 6) for x in values]


def sample_cases(rng):
    cases = []
    for n, m in SIZES:
        shifts = SHIFTS if max(n, m) <= 10000 else [0.0, 0.02, 0.1, 0.5]
        for shift in shifts:
            ref = np.array(r6(rng.normal(size=n)))
            cur = np.array(r6(rng.normal(loc=shift, size=m)))
            case = {"name": f"{n} vs {m}, shift {shift}", "n": n, "m": m}
            add(cases, case, ref, cur, n, m)
        if n <= SKETCHABLE and m <= SKETCHABLE:
            # Identical values on both sides (where the sizes allow): D = 0.
            common = np.array(r6(rng.normal(size=min(n, m))))
            if n == m:
                add(cases, {"name": f"{n} vs {m}, identical", "n": n, "m": m}, common, common, n, m)
    # kll.json's exact-mode pairs, where kstwobign's p-value and scipy's differ most (0.063 against
    # 0.056 for its 120 vs 90 pair).
    kll = json.loads(KLL.read_text())
    for pair in kll["pairs"]:
        if pair["exact"]:
            ref, cur = np.array(pair["reference"]), np.array(pair["current"])
            add(cases, {"name": f"kll.json: {pair['name']}", "n": len(ref), "m": len(cur)}, ref, cur, len(ref), len(cur))
    return cases


def add(cases, case, ref, cur, n, m):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = ks_2samp(ref, cur)
    case["d"] = float(res.statistic)
    case["p_value"] = float(res.pvalue)
    if n <= SKETCHABLE and m <= SKETCHABLE:
        case["reference"] = [float(x) for x in ref]
        case["current"] = [float(x) for x in cur]
    cases.append(case)


def kstwo_cases():
    ns = [1, 2, 3, 5, 10, 50, 100, 140, 141, 200, 1000, 5000, 10000, 100000, 100001, 1000000, 2000000]
    cs = [0.3, 0.5, 0.8, 0.87, 1.0, 1.2, 1.5, 1.9, 2.1, 2.5, 3.0, 5.0, 10.0, 19.2]
    cases = []
    for n in ns:
        xs = {c / np.sqrt(n) for c in cs}
        xs |= {0.4 / n, 0.7 / n, 1.0 / n, 1.5 / n, 2.5 / n, 0.3, 0.5, 0.7, 1 - 1.5 / n, 1 - 0.5 / n, 0.999}
        for x in sorted(xs):
            if 0 < x < 1:
                cases.append({"x": float(x), "n": n, "sf": float(kstwo.sf(x, n))})
    return cases


def main():
    rng = np.random.default_rng(20260713)
    fixture = {
        "generator": "tools/oracle/ks_fixtures.py",
        "versions": {"numpy": version("numpy"), "scipy": version("scipy")},
        "samples": sample_cases(rng),
        "kstwo": kstwo_cases(),
    }
    OUT.write_text(json.dumps(fixture, indent=1) + "\n")
    print(f"wrote {OUT} ({len(fixture['samples'])} samples, {len(fixture['kstwo'])} kstwo points)")


if __name__ == "__main__":
    main()
