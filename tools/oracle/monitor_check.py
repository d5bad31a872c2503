"""Recompute a monitored window from raw rows, for the monitoring acceptance test.

test/e2e/monitoring.test.ts reads the feature values of a baseline window and of a current window
straight from the captures table and pipes them here as JSON on stdin:

    {"numeric": {"feature.x1": {"reference": [...], "current": [...]}, ...},
     "categorical": {"feature.segment": {"reference": [...], "current": [...]}},
     "quantiles": [0.1, 0.5, 0.9], "bins": 20}

and compares what this prints (JSON on stdout) with what modeltap stored: per numeric field the
baseline's quantile edges (numpy's linear quantiles, deduplicated), both sides' counts on them
((-inf, e1], ..., (ek, +inf): searchsorted side="left"), the bin-based metrics of
drift_fixtures.py (PSI with Evidently's epsilon, Jensen-Shannon, Hellinger, L-infinity, chi-square),
scipy's two-sample KS and the Wasserstein distance over the reference's standard deviation, and
numpy's quantiles of the current values; per categorical field the same bin metrics over the
categories. Run with any Python that has numpy and scipy (the local stack's MLServer venv does).
"""

import json
import sys

import numpy as np
from scipy.stats import ks_2samp, wasserstein_distance

from drift_fixtures import drift_metrics, num, quantile_bins


def numeric(field, bins, quantiles):
    ref = np.asarray(field["reference"], dtype=float)
    cur = np.asarray(field["current"], dtype=float)
    edges, ref_counts = quantile_bins(ref, ref, bins)
    _, cur_counts = quantile_bins(ref, cur, bins)
    metrics = drift_metrics(ref_counts, cur_counts)
    ks = ks_2samp(ref, cur)
    return {
        "edges": [num(e) for e in edges],
        "reference_counts": ref_counts.tolist(),
        "current_counts": cur_counts.tolist(),
        "psi": num(metrics["psi"]),
        "jensenshannon": num(metrics["jensenshannon"]),
        "hellinger": num(metrics["hellinger"]),
        "linf": num(metrics["linf"]),
        "chisquare_p": num(metrics["chisquare"]["p_value"]),
        "ks_statistic": num(ks.statistic),
        "ks_p": num(ks.pvalue),
        "wasserstein_norm": num(wasserstein_distance(ref, cur) / np.std(ref)),
        "quantiles": [num(q) for q in np.quantile(cur, quantiles)],
        "reference_std": num(np.std(ref)),
        "current_mean": num(np.mean(cur)),
    }


def categorical(field):
    keys = sorted(set(field["reference"]) | set(field["current"]))
    ref = [field["reference"].count(k) for k in keys]
    cur = [field["current"].count(k) for k in keys]
    metrics = drift_metrics(ref, cur)
    return {
        "keys": keys,
        "reference_counts": ref,
        "current_counts": cur,
        "psi": num(metrics["psi"]),
        "jensenshannon": num(metrics["jensenshannon"]),
        "linf": num(metrics["linf"]),
        "chisquare_p": num(metrics["chisquare"]["p_value"]),
    }


def main():
    data = json.load(sys.stdin)
    bins = data.get("bins", 20)
    quantiles = data.get("quantiles", [0.5])
    out = {
        "numeric": {k: numeric(v, bins, quantiles) for k, v in data.get("numeric", {}).items()},
        "categorical": {k: categorical(v) for k, v in data.get("categorical", {}).items()},
    }
    json.dump(out, sys.stdout, allow_nan=False)


if __name__ == "__main__":
    main()
