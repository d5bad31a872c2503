/**
 * src/core/monitoring/baseline.ts and baseline-check.ts, with schema/baseline-v1.schema.json: a
 * baseline's edges are numpy's quantile edges of the values, its methods Evidently's `auto`, its
 * raw values bounded by a deterministic reservoir; every baseline it builds is valid by the
 * schema, and checkBaseline and the schema refuse the same broken documents.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- broken documents are untyped JSON */
import fs from "node:fs";
import path from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/config.js";
import { ModeltapError } from "../../src/core/errors.js";
import {
  BASELINE_CATEGORY_BUDGET,
  BASELINE_FORMAT,
  binPlanOf,
  buildBaseline,
  DEFAULT_MIN_COUNT,
  fieldKind,
  predictionFieldOf,
  ValueCollector,
  type Baseline,
  type BaselineMeta,
} from "../../src/core/monitoring/baseline.js";
import { checkBaseline } from "../../src/core/monitoring/baseline-check.js";
import { countOnEdges, quantileEdges } from "../../src/core/monitoring/bins.js";
import { KllSketch } from "../../src/core/monitoring/kll.js";
import { thrown } from "../support/errors.js";
import { mulberry32 } from "../support/random.js";

const SCHEMA = JSON.parse(
  fs.readFileSync(path.join(PACKAGE_ROOT, "schema", "baseline-v1.schema.json"), "utf8"),
);
const ajv = new Ajv2020({ allErrors: true });
// RFC 3339 date-time, as ajv-formats checks it (ajv itself knows no formats).
ajv.addFormat("date-time", /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i);
const validBaseline = ajv.compile(SCHEMA);

const META: BaselineMeta = {
  id: "b-1",
  model: "m",
  version: "1",
  createdAt: new Date("2026-05-01T12:00:00Z"),
  source: { kind: "window", from: "2026-05-01T11:00:00.000Z", to: "2026-05-01T12:00:00.000Z" },
};

function normal(rnd: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
}

/** A collector fed `n` values of a few kinds of field. */
function collect(n: number, seed = 1, maxValues?: number): ValueCollector {
  const rnd = mulberry32(seed);
  const c = new ValueCollector(maxValues);
  for (let i = 0; i < n; i++) {
    c.value("feature.x", normal(rnd));
    c.value("feature.few", [1, 2, 3][i % 3]);
    c.value("feature.colour", ["red", "green", "blue"][i % 3]);
    c.numeric("route.latency_ms", i % 50 === 0 ? null : 10 + rnd() * 90);
    c.category("prediction.label", rnd() < 0.8 ? "yes" : "no");
  }
  c.captures = n;
  c.instances = n;
  return c;
}

const json = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

describe("buildBaseline", () => {
  const values = (c: ValueCollector, f: string) =>
    c.fields.get(f)!.values.filter((v): v is number => typeof v === "number");

  it("takes numpy's quantile edges of the values and counts them exactly", () => {
    const c = collect(3000);
    const b = buildBaseline(c, META);
    for (const name of ["feature.x", "route.latency_ms"]) {
      const f = b.fields[name]!;
      expect(f.kind).toBe("numeric");
      expect(f.edges).toEqual(quantileEdges(values(c, name), 20));
      expect(f.edges).toHaveLength(19);
      expect(f.bins).toEqual(countOnEdges(f.edges!, values(c, name)));
      expect(f.bins!.reduce((s, n) => s + n, 0)).toBe(f.count);
      const sketch = KllSketch.deserialize(Buffer.from(f.sketch!, "base64"));
      expect(sketch.n).toBe(f.count);
    }
    expect(b.fields["route.latency_ms"]).toMatchObject({ count: 2940, missing: 60, mismatches: 0 });
    expect(buildBaseline(c, { ...META, bins: 4 }).fields["feature.x"]!.edges).toEqual(
      quantileEdges(values(c, "feature.x"), 4),
    );
  });

  it("keeps the meta, counts and defaults", () => {
    const b = buildBaseline(collect(10), {
      ...META,
      minCount: 50,
      quality: { labeled: 5, metrics: { accuracy: 0.8 } },
    });
    expect(b).toMatchObject({
      format: BASELINE_FORMAT,
      id: "b-1",
      model: "m",
      version: "1",
      created_at: "2026-05-01T12:00:00.000Z",
      captures: 10,
      instances: 10,
      dataset_drift_share: 0.5,
      min_count: 50,
      quality: { labeled: 5, metrics: { accuracy: 0.8 } },
    });
    expect(buildBaseline(collect(10), META)).toMatchObject({ min_count: DEFAULT_MIN_COUNT, quality: null });
  });

  it.each([
    [500, "feature.x", "ks", 0.05],
    [1000, "feature.x", "ks", 0.05],
    [1001, "feature.x", "wasserstein", 0.1],
    [5000, "feature.x", "wasserstein", 0.1],
    [500, "feature.few", "chisquare", 0.05],
    [5000, "feature.few", "jensenshannon", 0.1],
    [500, "feature.colour", "chisquare", 0.05],
    [5000, "feature.colour", "jensenshannon", 0.1],
  ])("%i values of %s: Evidently's auto picks %s (threshold %f)", (n, field, method, threshold) => {
    const f = buildBaseline(collect(n), META).fields[field]!;
    expect([f.method, f.threshold]).toEqual([method, threshold]);
  });

  it("a numeric field with 5 distinct values is tested as categorical, with 6 as numeric", () => {
    const c = new ValueCollector();
    for (let i = 0; i < 600; i++) {
      c.value("feature.five", i % 5);
      c.value("feature.six", i % 6);
    }
    const b = buildBaseline(c, META);
    expect([b.fields["feature.five"]!.kind, b.fields["feature.five"]!.method]).toEqual([
      "numeric",
      "chisquare",
    ]);
    expect([b.fields["feature.six"]!.kind, b.fields["feature.six"]!.method]).toEqual(["numeric", "ks"]);
  });

  it("counts categories, missing values and mismatches of a categorical field", () => {
    const c = new ValueCollector();
    for (const v of ["a", "a", "b", null, undefined, true, 3, { x: 1 }]) c.category("feature.c", v as string);
    for (let i = 0; i < BASELINE_CATEGORY_BUDGET + 10; i++) c.category("feature.many", `v${i}`);
    c.category("feature.many", "v5");
    const b = buildBaseline(c, META);
    expect(b.fields["feature.c"]).toMatchObject({
      kind: "categorical",
      count: 5,
      missing: 2,
      mismatches: 1,
      other: 0,
    });
    expect(b.fields["feature.c"]!.categories).toEqual({ a: 2, b: 1, true: 1, 3: 1 });
    const many = b.fields["feature.many"]!;
    expect(Object.keys(many.categories!)).toHaveLength(BASELINE_CATEGORY_BUDGET);
    expect(many.categories!.v5).toBe(2);
    expect(many.other).toBe(10);
    expect(many.count).toBe(BASELINE_CATEGORY_BUDGET + 11);
  });

  it("leaves out a field with no values", () => {
    const c = new ValueCollector();
    c.numeric("feature.empty", null);
    c.category("feature.none", null);
    expect(Object.keys(buildBaseline(c, META).fields)).toEqual([]);
  });
});

describe("fieldKind", () => {
  it.each([
    ["numeric", [], "numeric"],
    ["categorical", [1, 2], "categorical"],
    ["data", [1, 2, "a"], "numeric"],
    ["data", [1, "a"], "numeric"],
    ["data", [1, "a", "b"], "categorical"],
    ["data", [null, null, true], "categorical"],
    ["data", [null, undefined], "categorical"],
  ] as const)("declared %s with %j is %s", (declared, values, kind) => {
    expect(fieldKind({ declared, values: [...values] })).toBe(kind);
  });
});

describe("predictionFieldOf", () => {
  it.each([
    [["prediction.value", "prediction.label", "feature.x"], "prediction.label"],
    [["prediction.score", "prediction.class"], "prediction.class"],
    [["prediction.entity_type", "prediction.value"], "prediction.entity_type"],
    [["prediction.value"], "prediction.value"],
    [["llm.finish_reason", "llm.ttft_ms"], "llm.finish_reason"],
    [["feature.x", "prediction.score"], null],
  ])("%j → %s", (names, expected) => {
    expect(predictionFieldOf(Object.fromEntries(names.map((n) => [n, {}])))).toBe(expected);
  });

  it("a built baseline names its prediction field", () => {
    expect(buildBaseline(collect(10), META).prediction_field).toBe("prediction.label");
  });
});

describe("ValueCollector's reservoir", () => {
  it("keeps at most maxValues per field, an even sample of all of them, the same every time", () => {
    const feed = () => {
      const c = new ValueCollector(1000);
      for (let i = 0; i < 100_000; i++) c.numeric("f", i);
      return c;
    };
    const a = feed().fields.get("f")!;
    expect(a.values).toHaveLength(1000);
    expect(a.seen).toBe(100_000);
    expect(feed().fields.get("f")!.values).toEqual(a.values);
    const kept = a.values as number[];
    // A uniform sample of 0 … 99 999: its mean is 50 000 ± 914 (one sd)
    expect(Math.abs(kept.reduce((s, v) => s + v, 0) / kept.length - 49_999.5)).toBeLessThan(4000);
    expect(kept.filter((v) => v >= 90_000).length).toBeGreaterThan(50);
    expect(new Set(kept).size).toBe(1000);
  });

  it("a baseline over the reservoir counts the kept values", () => {
    const b = buildBaseline(collect(5000, 1, 200), META);
    expect(b.fields["feature.x"]!.count).toBe(200);
    expect(b.fields["feature.x"]!.bins!.reduce((s, n) => s + n, 0)).toBe(200);
    expect(json(buildBaseline(collect(5000, 1, 200), META))).toEqual(json(b));
  });

  it("keeps at most 512 fields", () => {
    const c = new ValueCollector();
    for (let i = 0; i < 600; i++) c.numeric(`f${i}`, i);
    expect(c.fields.size).toBe(512);
  });
});

describe("binPlanOf", () => {
  it("holds each field's kind and numeric edges under the baseline's id", () => {
    const b = buildBaseline(collect(100), META);
    const plan = binPlanOf(b);
    expect(plan.id).toBe("b-1");
    expect(plan.fields["feature.x"]).toEqual({ kind: "numeric", edges: b.fields["feature.x"]!.edges });
    expect(plan.fields["feature.colour"]).toEqual({ kind: "categorical" });
    expect(Object.keys(plan.fields).sort()).toEqual(Object.keys(b.fields).sort());
  });
});

describe("the schema and checkBaseline", () => {
  const built: Array<[string, Baseline]> = [
    ["a window baseline", buildBaseline(collect(3000), META)],
    [
      "a small one",
      buildBaseline(collect(20), {
        ...META,
        version: null,
        quality: { labeled: 3, metrics: { accuracy: 1 } },
      }),
    ],
    [
      "a file baseline",
      buildBaseline(collect(50), {
        ...META,
        source: { kind: "file", file: "train.csv", format: "csv", sha256: "a".repeat(64), target: "label" },
      }),
    ],
  ];

  it.each(built)("%s that buildBaseline makes is valid by both", (_name, b) => {
    const doc = json(b);
    expect(validBaseline(doc), JSON.stringify(validBaseline.errors)).toBe(true);
    expect(checkBaseline(doc)).toEqual(doc);
  });

  const base = () => json(built[0]![1]) as unknown as Record<string, any>;
  const broken: Array<[string, string, (d: Record<string, any>) => unknown]> = [
    ["not an object", "baseline", () => [1]],
    ["another format", "format", (d) => ({ ...d, format: "modeltap.baseline/v2" })],
    ["an id with a space", "id", (d) => ({ ...d, id: "my id" })],
    ["an empty model", "model", (d) => ({ ...d, model: "" })],
    ["a long version", "version", (d) => ({ ...d, version: "v".repeat(300) })],
    ["created_at not a time", "created_at", (d) => ({ ...d, created_at: "yesterday" })],
    ["created_at not ISO 8601", "created_at", (d) => ({ ...d, created_at: "May 1, 2026" })],
    ["an unknown source", "source.kind", (d) => ({ ...d, source: { kind: "guess" } })],
    ["a window source without its times", "source.from", (d) => ({ ...d, source: { kind: "window" } })],
    [
      "a file source without its hash",
      "source.sha256",
      (d) => ({ ...d, source: { kind: "file", file: "a.csv", format: "csv", target: null } }),
    ],
    [
      "a profile source ending at no time",
      "source.to",
      (d) => ({ ...d, source: { kind: "profile", from: d.source.from, to: "soon" } }),
    ],
    [
      "a file source of another format",
      "source.format",
      (d) => ({
        ...d,
        source: { kind: "file", file: "a.xlsx", format: "xlsx", sha256: "0".repeat(64), target: null },
      }),
    ],
    ["negative captures", "captures", (d) => ({ ...d, captures: -1 })],
    ["fractional instances", "instances", (d) => ({ ...d, instances: 1.5 })],
    ["fields not an object", "fields", (d) => ({ ...d, fields: [] })],
    [
      "too many fields",
      "fields",
      (d) => ({
        ...d,
        fields: Object.fromEntries(
          Array.from({ length: 513 }, (_, i) => [`f${i}`, d.fields["feature.colour"]]),
        ),
      }),
    ],
    [
      "a field of another kind",
      "fields.feature.x.kind",
      (d) => set(d, ["fields", "feature.x", "kind"], "text"),
    ],
    ["a negative count", "fields.feature.x.count", (d) => set(d, ["fields", "feature.x", "count"], -3)],
    [
      "an unknown method",
      "fields.feature.x.method",
      (d) => set(d, ["fields", "feature.x", "method"], "magic"),
    ],
    [
      "a threshold not a number",
      "fields.feature.x.threshold",
      (d) => set(d, ["fields", "feature.x", "threshold"], "0.1"),
    ],
    [
      "a numeric field without edges",
      "fields.feature.x.edges",
      (d) => set(d, ["fields", "feature.x", "edges"], undefined),
    ],
    [
      "a numeric field without summary",
      "fields.feature.x.summary",
      (d) => set(d, ["fields", "feature.x", "summary"], undefined),
    ],
    [
      "an edge not a number",
      "fields.feature.x.edges[3]",
      (d) => set(d, ["fields", "feature.x", "edges", 3], "1"),
    ],
    [
      "a bin count negative",
      "fields.feature.x.bins[0]",
      (d) => set(d, ["fields", "feature.x", "bins", 0], -1),
    ],
    [
      "a categorical field without categories",
      "fields.feature.colour.categories",
      (d) => set(d, ["fields", "feature.colour", "categories"], undefined),
    ],
    [
      "a category count fractional",
      "fields.feature.colour.categories.red",
      (d) => set(d, ["fields", "feature.colour", "categories", "red"], 0.5),
    ],
    [
      "other negative",
      "fields.feature.colour.other",
      (d) => set(d, ["fields", "feature.colour", "other"], -1),
    ],
    ["quality without metrics", "quality", (d) => ({ ...d, quality: { labeled: 3 } })],
    [
      "a quality metric not a number",
      "quality.metrics.accuracy",
      (d) => ({ ...d, quality: { labeled: 3, metrics: { accuracy: "high" } } }),
    ],
    ["a drift share of 0", "dataset_drift_share", (d) => ({ ...d, dataset_drift_share: 0 })],
    ["a drift share above 1", "dataset_drift_share", (d) => ({ ...d, dataset_drift_share: 1.5 })],
    ["min_count negative", "min_count", (d) => ({ ...d, min_count: -1 })],
    ["min_count missing", "min_count", (d) => ({ ...d, min_count: undefined })],
  ];

  it.each(broken)("%s is refused by both, naming %s", (_name, where, breakIt) => {
    const doc = json(breakIt(base()));
    expect(validBaseline(doc), "the schema accepts it").toBe(false);
    const err = thrown(ModeltapError, () => checkBaseline(doc));
    expect(err.code).toBe("BASELINE_INVALID");
    expect(err.message.startsWith(`${where}:`), err.message).toBe(true);
  });

  // What a schema cannot say: checkBaseline alone refuses these.
  it.each([
    [
      "edges not ascending",
      "fields.feature.x.edges",
      (d: any) => set(d, ["fields", "feature.x", "edges", 1], d.fields["feature.x"].edges[0]),
    ],
    [
      "one bin too few",
      "fields.feature.x.bins",
      (d: any) => set(d, ["fields", "feature.x", "bins"], d.fields["feature.x"].bins.slice(1)),
    ],
    [
      "wasserstein on a categorical field",
      "fields.feature.colour.method",
      (d: any) => set(d, ["fields", "feature.colour", "method"], "wasserstein"),
    ],
    [
      "a p-value threshold of 1",
      "fields.feature.x.threshold",
      (d: any) =>
        set(set(d, ["fields", "feature.x", "method"], "ks"), ["fields", "feature.x", "threshold"], 1),
    ],
    [
      "a sketch that does not decode",
      "fields.feature.x.sketch",
      (d: any) => set(d, ["fields", "feature.x", "sketch"], "AAAA"),
    ],
    [
      "wasserstein without its sketch",
      "fields.feature.x.sketch",
      (d: any) => set(d, ["fields", "feature.x", "sketch"], undefined),
    ],
    [
      "a prediction field it does not hold",
      "prediction_field",
      (d: any) => ({ ...d, prediction_field: "prediction.value" }),
    ],
  ])("%s is refused by checkBaseline, naming %s", (_name, where, breakIt) => {
    const err = thrown(ModeltapError, () => checkBaseline(json(breakIt(base()))));
    expect(err.message.startsWith(`${where}:`), err.message).toBe(true);
  });
});

/** A copy of `d` with the value at `keys` replaced (undefined: removed). */
function set<T>(d: T, keys: Array<string | number>, value: unknown): T {
  const out = structuredClone(d) as Record<string | number, unknown>;
  let at = out;
  for (const k of keys.slice(0, -1)) at = at[k] as Record<string | number, unknown>;
  at[keys[keys.length - 1]!] = value;
  return out as T;
}
