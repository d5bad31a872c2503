/**
 * src/core/monitoring/{bins,drift}.ts against numpy and scipy on the same inputs
 * (test/fixtures/monitoring/drift.json from tools/oracle/drift_fixtures.py), to 1e-9; and bin
 * and category counts merge by adding.
 */
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import {
  addCategory,
  alignCategories,
  binIndex,
  countOnEdges,
  emptyCategoryCounts,
  mergeBinCounts,
  mergeCategoryCounts,
  quantileEdges,
} from "../../src/core/monitoring/bins.js";
import {
  DRIFT_METHODS,
  autoDriftMethod,
  chiSquare,
  hellinger,
  isDrifted,
  jensenShannon,
  lInfinity,
  psi,
} from "../../src/core/monitoring/drift.js";
import { PACKAGE_ROOT } from "../../src/config.js";
import { chunks, monitoringFixture, num, within, withinRelative } from "../support/monitoring-fixture.js";
import { int, mulberry32 } from "../support/random.js";

const { drift, bins } = monitoringFixture;

describe("drift metrics match scipy on the same counts", () => {
  it("has the oracle's cases", () => {
    expect(drift.length).toBeGreaterThanOrEqual(12);
  });

  it.each(drift.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const e = c.expected;
    const got = {
      psi: psi(c.reference, c.current),
      jensenshannon: jensenShannon(c.reference, c.current),
      hellinger: hellinger(c.reference, c.current),
      linf: lInfinity(c.reference, c.current),
    };
    for (const [metric, value] of Object.entries(got)) {
      const want = num(e[metric as keyof typeof got]);
      expect(within(value, want), `${metric}: ${value}, scipy ${want}`).toBe(true);
    }
    const chi = chiSquare(c.reference, c.current);
    expect(within(chi.statistic, num(e.chisquare.statistic)), `χ² ${chi.statistic}`).toBe(true);
    expect(within(chi.dof, num(e.chisquare.dof))).toBe(true);
    expect(
      withinRelative(chi.pValue, num(e.chisquare.p_value)),
      `p ${chi.pValue}, scipy ${e.chisquare.p_value}`,
    ).toBe(true);
  });

  it("refuses count vectors of different lengths or negative counts", () => {
    expect(() => psi([1, 2], [1])).toThrow(RangeError);
    expect(() => chiSquare([1, -1], [1, 1])).toThrow(RangeError);
  });
});

describe("bin edges and counts match numpy", () => {
  it.each(bins.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const edges = quantileEdges(c.reference, c.bins);
    expect(edges.length).toBe(c.expected.edges.length);
    edges.forEach((edge, i) => expect(within(edge, c.expected.edges[i]!, 1e-12), `edge ${i}`).toBe(true));
    expect(countOnEdges(c.expected.edges, c.current)).toEqual(c.expected.counts);
  });

  it("closes each bin on the right: (−∞, e1], (e1, e2], …, (ek, +∞)", () => {
    const edges = [1, 2, 3];
    expect([0.5, 1, 1.5, 2, 3, 3.5].map((x) => binIndex(edges, x))).toEqual([0, 0, 1, 1, 2, 3]);
    expect(countOnEdges(edges, [-Infinity, Infinity, Number.NaN, "2", null])).toEqual([1, 0, 0, 1]);
  });

  it("counts of concatenated samples are the sums of the counts", () => {
    const rnd = mulberry32(13);
    for (const c of bins) {
      const edges = c.expected.edges;
      const splits = [int(rnd, 0, c.current.length), int(rnd, 0, c.current.length)].sort((a, b) => a - b);
      const parts = chunks(c.current, splits).map((part) => countOnEdges(edges, part));
      const merged = parts.reduce(mergeBinCounts);
      expect(merged).toEqual(countOnEdges(edges, c.current));
      expect(parts.reduceRight(mergeBinCounts)).toEqual(merged);
    }
  });
});

describe("category counts", () => {
  const values = (rnd: () => number, n: number, k: number) =>
    Array.from({ length: n }, () => `c${Math.floor(rnd() * rnd() * k)}`);
  const count = (xs: readonly string[], budget?: number) =>
    xs.reduce((c, x) => addCategory(c, x), emptyCategoryCounts(budget));

  it("merge exactly and in any order within the budget", () => {
    const xs = values(mulberry32(7), 2000, 40);
    const whole = count(xs);
    const [a, b, c] = chunks(xs, [500, 1300]).map((part) => count(part));
    const ab = mergeCategoryCounts(mergeCategoryCounts(a!, b!), c!);
    const ba = mergeCategoryCounts(c!, mergeCategoryCounts(b!, a!));
    expect({ ...ab.counts }).toEqual({ ...whole.counts });
    expect({ ...ba.counts }).toEqual({ ...whole.counts });
    expect(ab.other).toBe(0);
  });

  it("count every value past the budget, the excess in `other`", () => {
    const xs = values(mulberry32(8), 3000, 200);
    const whole = count(xs, 10);
    const total = (c: ReturnType<typeof count>) =>
      Object.values(c.counts).reduce((s, n) => s + n, 0) + c.other;
    expect(Object.keys(whole.counts)).toHaveLength(10);
    expect(total(whole)).toBe(3000);
    const merged = chunks(xs, [1000, 2000])
      .map((part) => count(part, 10))
      .reduce(mergeCategoryCounts);
    expect(Object.keys(merged.counts)).toHaveLength(10);
    expect(total(merged)).toBe(3000);
  });

  it("keep any string as a plain key, and survive JSON", () => {
    const c = count(["__proto__", "constructor", "other", "__proto__"]);
    const back = JSON.parse(JSON.stringify(c)) as typeof c;
    addCategory(back, "__proto__");
    addCategory(back, "toString");
    const expected = Object.fromEntries([
      ["__proto__", 3],
      ["constructor", 1],
      ["other", 1],
      ["toString", 1],
    ]);
    expect({ ...back.counts }).toEqual(expected);
    expect(back.other).toBe(0);
  });

  it("align two sides over the union of categories, `other` last", () => {
    const ref = count(["a", "b", "b"], 2);
    const cur = count(["c", "b", "d", "e"], 2);
    expect(alignCategories(ref, cur)).toEqual({
      keys: ["a", "b", "c"],
      reference: [1, 2, 0, 0],
      current: [0, 1, 1, 2],
    });
  });
});

describe("the drift methods", () => {
  it("follow Evidently's auto choice", () => {
    expect(autoDriftMethod("numeric", 1000, 500)).toBe("ks");
    expect(autoDriftMethod("numeric", 1001, 500)).toBe("wasserstein");
    expect(autoDriftMethod("categorical", 200, 30)).toBe("chisquare");
    expect(autoDriftMethod("categorical", 5000, 30)).toBe("jensenshannon");
    expect(autoDriftMethod("numeric", 200, 4)).toBe("chisquare");
    expect(autoDriftMethod("numeric", 5000, 5)).toBe("jensenshannon");
  });

  it("read a score in the method's direction; NaN never drifts", () => {
    expect(isDrifted(DRIFT_METHODS.jensenshannon, 0.1)).toBe(true);
    expect(isDrifted(DRIFT_METHODS.jensenshannon, 0.0999)).toBe(false);
    expect(isDrifted(DRIFT_METHODS.chisquare, 0.049)).toBe(true);
    expect(isDrifted(DRIFT_METHODS.chisquare, 0.05)).toBe(false);
    expect(isDrifted(DRIFT_METHODS.psi, 0.15, 0.2)).toBe(false);
    expect(isDrifted(DRIFT_METHODS.psi, Number.NaN)).toBe(false);
  });

  it("are all in docs/monitoring.md's table, with their defaults", () => {
    const doc = fs.readFileSync(`${PACKAGE_ROOT}/docs/monitoring.md`, "utf8");
    const rows = new Map(
      [...doc.matchAll(/^\| `([a-z]+)` \|[^|]*\|[^|]*\| (?:p < |≥ )([0-9.]+) \|/gm)].map((m) => [
        m[1]!,
        Number(m[2]),
      ]),
    );
    expect([...rows.keys()].sort()).toEqual(Object.keys(DRIFT_METHODS).sort());
    for (const m of Object.values(DRIFT_METHODS)) expect(rows.get(m.name), m.name).toBe(m.threshold);
  });
});
