/**
 * src/core/monitoring/profile.ts: a profile built in one pass equals the merge of profiles over
 * any split of the same captures, in any order and through its JSON; profiles counted on different
 * baselines never mix their bins; every size is budgeted and any name is a plain key.
 */
import { describe, expect, it } from "vitest";
import type { Instance } from "../../src/core/canonical.js";
import { binPlanOf, buildBaseline, ValueCollector } from "../../src/core/monitoring/baseline.js";
import { countOnEdges } from "../../src/core/monitoring/bins.js";
import { DEFAULT_REFUSAL_PATTERNS } from "../../src/core/monitoring/fields.js";
import {
  categoryName,
  MAX_CATEGORY_CHARS,
  MAX_PROFILE_FIELDS,
  PROFILE_CATEGORY_BUDGET,
  Profile,
  storableText,
  type BinPlan,
  type ProfileJson,
} from "../../src/core/monitoring/profile.js";
import type { CaptureRow } from "../../src/core/ports.js";
import { captureRow } from "../support/captures.js";
import { int, mulberry32 } from "../support/random.js";

const OPTS = { refusalPatterns: DEFAULT_REFUSAL_PATTERNS.map((p) => new RegExp(p, "i")) };

/** Standard normal by Box-Muller from a seeded generator. */
function normal(rnd: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
}

/** A tabular capture with these features and a classification prediction. */
function tabular(id: string, features: Record<string, unknown>, label = "yes"): CaptureRow {
  const inst = { input: { features }, prediction: { kind: "classification", label, score: 0.9 } } as Instance;
  return captureRow(id, "tabular_classification", [inst]);
}

/** Captures with numeric, categorical, boolean, missing and mismatched feature values. */
function traffic(n: number, seed: number): { rows: CaptureRow[]; x: number[] } {
  const rnd = mulberry32(seed);
  const rows: CaptureRow[] = [];
  const x: number[] = [];
  for (let i = 0; i < n; i++) {
    const xi = normal(rnd) * 3 + 10;
    x.push(xi);
    const r = rnd();
    rows.push(
      tabular(
        `c${i}`,
        {
          x: xi,
          y: r < 0.05 ? null : r < 0.08 ? { not: "a number" } : r < 0.1 ? "oops" : int(rnd, 0, 100),
          colour: ["red", "green", "blue"][int(rnd, 0, 2)],
          flag: rnd() < 0.3,
        },
        rnd() < 0.7 ? "yes" : "no",
      ),
    );
  }
  return { rows, x };
}

/** The bin plan of a baseline over other traffic of the same kind. */
function planFrom(seed: number, id: string): BinPlan {
  const c = new ValueCollector();
  for (const row of traffic(500, seed).rows) {
    for (const inst of row.analysis!.instances) {
      for (const [k, v] of Object.entries(inst.input.features ?? {})) c.value(`feature.${k}`, v);
    }
  }
  return binPlanOf(
    buildBaseline(c, {
      id,
      model: "m",
      version: null,
      createdAt: new Date(0),
      source: { kind: "window", from: "x", to: "y" },
    }),
  );
}

function onePass(rows: readonly CaptureRow[], plan: BinPlan | null): Profile {
  const p = new Profile(plan);
  for (const r of rows) p.addCapture(r, OPTS);
  return p;
}

/** Random contiguous or scattered split of the rows into k parts. */
function split<T>(items: readonly T[], k: number, rnd: () => number): T[][] {
  const parts: T[][] = Array.from({ length: k }, () => []);
  for (const it of items) parts[int(rnd, 0, k - 1)]!.push(it);
  return parts;
}

function shuffle<T>(xs: T[], rnd: () => number): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = int(rnd, 0, i);
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

/** Field by field: summary to 1e-9, bins and categories exactly, sketch n/min/max exactly. */
function expectSameProfile(actual: Profile, expected: Profile): void {
  const a = actual.toJSON();
  const e = expected.toJSON();
  expect([a.captures, a.instances, a.baseline, a.dropped]).toEqual([
    e.captures,
    e.instances,
    e.baseline,
    e.dropped,
  ]);
  expect(Object.keys(a.fields)).toEqual(Object.keys(e.fields));
  for (const name of Object.keys(e.fields)) {
    const fa = a.fields[name]!;
    const fe = e.fields[name]!;
    const [sa, se] = [fa.summary, fe.summary];
    expect([sa.count, sa.missing, sa.mismatches, sa.min, sa.max], name).toEqual([
      se.count,
      se.missing,
      se.mismatches,
      se.min,
      se.max,
    ]);
    expect(close(sa.mean, se.mean) && close(sa.m2, se.m2), `${name} moments`).toBe(true);
    expect(fa.bins, `${name} bins`).toEqual(fe.bins);
    expect(fa.categories, `${name} categories`).toEqual(fe.categories);
    const ka = actual.get(name)!.sketch;
    const ke = expected.get(name)!.sketch;
    expect(ka === undefined, `${name} sketch`).toBe(ke === undefined);
    if (ka && ke) expect([ka.n, ka.min, ka.max]).toEqual([ke.n, ke.min, ke.max]);
  }
}

/** |true rank of the sketch's quantile − rank| is within the sketch's stated error. */
function expectQuantilesWithinError(p: Profile, field: string, values: readonly number[]): void {
  const sketch = p.get(field)!.sketch!;
  const sorted = [...values].sort((a, b) => a - b);
  const eps = sketch.normalizedRankError(false);
  for (const r of [0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99]) {
    const q = sketch.quantile(r);
    let below = 0;
    while (below < sorted.length && sorted[below]! <= q) below++;
    expect(Math.abs(below / sorted.length - r), `rank ${r}`).toBeLessThanOrEqual(eps + 1 / sorted.length);
  }
}

const roundTrip = (p: Profile) => Profile.fromJSON(JSON.parse(JSON.stringify(p.toJSON())) as ProfileJson);

describe("a profile merges exactly, whatever the split", () => {
  const plan = planFrom(7, "b1");
  const { rows, x } = traffic(3000, 11);
  const whole = onePass(rows, plan);

  it("counts what the captures hold", () => {
    const json = whole.toJSON();
    expect(json.captures).toBe(3000);
    expect(json.instances).toBe(3000);
    expect(json.baseline).toBe("b1");
    const xField = json.fields["feature.x"]!;
    expect(xField.summary.count).toBe(3000);
    expect(xField.bins).toEqual(countOnEdges(plan.fields["feature.x"]!.edges!, x));
    const y = json.fields["feature.y"]!.summary;
    expect(y.missing).toBeGreaterThan(100);
    expect(y.mismatches).toBeGreaterThan(50);
    const oops = json.fields["feature.y"]!.categories!.counts.oops!;
    expect(oops).toBeGreaterThan(20);
    expect(y.count + y.missing + y.mismatches + oops).toBe(3000);
    const colours = json.fields["feature.colour"]!.categories!;
    expect(Object.values(colours.counts).reduce((s, n) => s + n, 0)).toBe(3000);
    expect(Object.keys(json.fields["feature.flag"]!.categories!.counts).sort()).toEqual(["false", "true"]);
    expectQuantilesWithinError(whole, "feature.x", x);
  });

  it.each([1, 2, 3, 4, 5])("split %i: the merge of parts equals the one pass, also through JSON", (seed) => {
    const rnd = mulberry32(seed);
    const parts = split(rows, int(rnd, 2, 12), rnd).map((part) => onePass(part, plan));
    const merged = Profile.mergeAll(shuffle([...parts], rnd));
    expectSameProfile(merged, whole);
    expectQuantilesWithinError(merged, "feature.x", x);
    const viaJson = Profile.mergeAll(shuffle(parts.map(roundTrip), rnd));
    expectSameProfile(viaJson, whole);
    expectQuantilesWithinError(viaJson, "feature.x", x);
    // Merging in place, one after another, into a profile from JSON
    const folded = roundTrip(parts[0]!);
    for (const p of parts.slice(1)) folded.merge(roundTrip(p));
    expectSameProfile(folded, whole);
  });

  it("a JSON round trip keeps every field", () => {
    expectSameProfile(roundTrip(whole), whole);
    expect(roundTrip(whole).toJSON()).toEqual(JSON.parse(JSON.stringify(whole.toJSON())));
  });

  it("refuses JSON of another version", () => {
    expect(() => Profile.fromJSON({ ...whole.toJSON(), v: 2 })).toThrow(RangeError);
  });

  it("mergeAll of nothing is an empty profile", () => {
    expect(Profile.mergeAll([]).toJSON()).toMatchObject({
      captures: 0,
      instances: 0,
      baseline: null,
      fields: {},
    });
  });
});

describe("profiles counted on different baselines", () => {
  const { rows } = traffic(400, 3);
  const a = () => onePass(rows.slice(0, 200), planFrom(7, "b1"));
  const b = () => onePass(rows.slice(200), planFrom(8, "b2"));
  const none = () => onePass(rows.slice(200), null);

  it.each([
    ["b1 then b2", () => a().merge(b())],
    ["b2 then b1", () => b().merge(a())],
    ["b1 then none", () => a().merge(none())],
    ["none then b1", () => none().merge(a())],
    ["mergeAll", () => Profile.mergeAll([a(), b()])],
  ])("%s: bins are dropped and the baseline is null, the rest merges", (_name, merge) => {
    const merged = merge();
    expect(merged.baseline).toBeNull();
    expect(merged.plan).toBeNull();
    const json = merged.toJSON();
    for (const [name, f] of Object.entries(json.fields)) expect(f.bins, name).toBeUndefined();
    expectSameProfile(merged, onePass(rows, null));
  });

  it("the same baseline keeps its bins", () => {
    const merged = Profile.mergeAll([a(), onePass(rows.slice(200), planFrom(7, "b1"))]);
    expect(merged.baseline).toBe("b1");
    expectSameProfile(merged, onePass(rows, planFrom(7, "b1")));
    expect(merged.toJSON().fields["feature.x"]!.bins!.reduce((s, n) => s + n, 0)).toBe(400);
  });
});

describe("a bin plan's kinds", () => {
  it("counts a number of a field the baseline declares categorical as a category too", () => {
    const p = new Profile({ id: "b", fields: { "feature.n": { kind: "categorical" } } });
    p.value("feature.n", 3);
    p.value("feature.n", 3);
    p.value("feature.n", 4);
    p.value("feature.other", 3);
    expect(p.get("feature.n")!.categories!.counts).toEqual({ 3: 2, 4: 1 });
    expect(p.get("feature.other")!.categories).toBeUndefined();
  });
});

describe("budgets", () => {
  it(`holds at most ${MAX_PROFILE_FIELDS} fields; observations of further ones are counted as dropped`, () => {
    const p = new Profile();
    for (let i = 0; i < MAX_PROFILE_FIELDS + 3; i++) p.numeric(`f${i}`, i);
    p.numeric("f0", 1);
    expect(p.fieldNames()).toHaveLength(MAX_PROFILE_FIELDS);
    expect(p.toJSON().dropped).toBe(3);
    const q = new Profile();
    q.numeric("g", 1);
    q.numeric("g", null);
    q.category("h", "x");
    p.merge(q);
    expect(p.fieldNames()).toHaveLength(MAX_PROFILE_FIELDS);
    expect(p.toJSON().dropped).toBe(3 + 3);
  });

  it(`names at most ${PROFILE_CATEGORY_BUDGET} categories per field, counting the rest as other`, () => {
    const p = new Profile();
    for (let i = 0; i < PROFILE_CATEGORY_BUDGET + 50; i++) p.category("c", `v${i}`);
    const c = p.get("c")!.categories!;
    expect(Object.keys(c.counts)).toHaveLength(PROFILE_CATEGORY_BUDGET);
    expect(c.other).toBe(50);
    const merged = Profile.mergeAll([p, roundTrip(p)]).get("c")!.categories!;
    expect(Object.keys(merged.counts)).toHaveLength(PROFILE_CATEGORY_BUDGET);
    expect(Object.values(merged.counts).reduce((s, n) => s + n, merged.other)).toBe(
      2 * (PROFILE_CATEGORY_BUDGET + 50),
    );
  });

  it(`cuts category values longer than ${MAX_CATEGORY_CHARS} characters`, () => {
    const p = new Profile();
    p.category("c", "a".repeat(MAX_CATEGORY_CHARS * 10));
    p.category("c", "a".repeat(MAX_CATEGORY_CHARS + 1));
    p.category("c", "b".repeat(MAX_CATEGORY_CHARS));
    expect(p.get("c")!.categories!.counts).toEqual({
      [`${"a".repeat(MAX_CATEGORY_CHARS)}…`]: 2,
      ["b".repeat(MAX_CATEGORY_CHARS)]: 1,
    });
  });

  it("__proto__ and constructor are plain field and category names, also through JSON", () => {
    const p = new Profile();
    p.category("__proto__", "__proto__");
    p.category("__proto__", "constructor");
    p.category("constructor", "toString");
    p.numeric("hasOwnProperty", 5);
    for (const q of [p, roundTrip(p), Profile.mergeAll([p, roundTrip(p)])]) {
      expect(q.fieldNames()).toEqual(["__proto__", "constructor", "hasOwnProperty"]);
      const n = q.get("hasOwnProperty")!.summary.count;
      const proto = q.get("__proto__")!.categories!.counts;
      expect(Object.hasOwn(proto, "__proto__")).toBe(true);
      expect(proto.__proto__).toBe(n);
      expect(proto.constructor).toBe(n);
      expect(q.get("constructor")!.categories!.counts.toString).toBe(n);
      expect(Object.getPrototypeOf(q.toJSON().fields)).toBeNull();
      expect(Object.keys(q.toJSON().fields)).toContain("__proto__");
    }
  });
});

describe("DDSketch for latencies, token counts and lengths", () => {
  it("keeps route.latency_ms quantiles within 1% of their value, through merge and JSON", () => {
    const values = Array.from({ length: 5000 }, (_, i) => 1 + ((i * 7919) % 5000) * 0.37);
    const parts = [new Profile(), new Profile(), new Profile()];
    values.forEach((v, i) => parts[i % 3]!.numeric("route.latency_ms", v));
    const merged = Profile.fromJSON(
      Profile.mergeAll(parts.map((p) => Profile.fromJSON(p.toJSON()))).toJSON(),
    );
    const dd = merged.get("route.latency_ms")!.dd!;
    expect(dd.count).toBe(values.length);
    const sorted = [...values].sort((a, b) => a - b);
    for (const q of [0.5, 0.9, 0.99]) {
      const truth = sorted[Math.floor(q * (sorted.length - 1))]!;
      expect(Math.abs(dd.getValueAtQuantile(q) - truth) / truth).toBeLessThanOrEqual(0.0101);
    }
    expect(merged.toJSON().fields["route.latency_ms"]!.dd).toMatch(/^[A-Za-z0-9+/]+=*$/);
  });

  it("is kept only for the fields that need it", () => {
    const p = new Profile();
    p.numeric("feature.x", 1);
    p.numeric("llm.ttft_ms", 12);
    expect(p.get("feature.x")!.dd).toBeUndefined();
    expect(p.get("llm.ttft_ms")!.dd!.count).toBe(1);
  });
});

describe("text a jsonb column can hold", () => {
  // eslint-disable-next-line no-control-regex
  const lone = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]|\u0000/;

  it("never leaves half an emoji where a long category is cut, nor a NUL", () => {
    const p = new Profile();
    p.category("feature.s", `${"a".repeat(199)}😀tail`);
    p.category("feature.s", "x\u0000y");
    p.category("feature\u0000.t", "ok");
    const text = JSON.stringify(p.toJSON());
    expect(text).not.toMatch(/\\ud83d(?!\\ude00)/i);
    const json = p.toJSON();
    for (const [name, f] of Object.entries(json.fields)) {
      expect(lone.test(name), name).toBe(false);
      for (const c of Object.keys(f.categories?.counts ?? {})) expect(lone.test(c), c).toBe(false);
    }
    expect(Object.keys(json.fields["feature.s"]!.categories!.counts)).toEqual([
      `${"a".repeat(199)}\uFFFD…`,
      "x\uFFFDy",
    ]);
  });

  it("keeps well-formed text as it is", () => {
    expect(storableText("Zürich 😀 東京")).toBe("Zürich 😀 東京");
    expect(categoryName("b".repeat(201))).toBe(`${"b".repeat(200)}…`);
  });
});
