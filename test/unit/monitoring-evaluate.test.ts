/**
 * src/core/monitoring/evaluate.ts, reference.ts and window-result.ts: drift of a window's profile
 * against a baseline (or a window made a reference), per field, for the dataset and for the
 * prediction; exact bins when the window was counted on the reference's edges, estimated from the
 * sketch (and marked approximate) otherwise; and the stored window result.
 */
import { describe, expect, it } from "vitest";
import {
  binPlanOf,
  buildBaseline,
  ValueCollector,
  type Baseline,
} from "../../src/core/monitoring/baseline.js";
import { countOnEdges } from "../../src/core/monitoring/bins.js";
import { jensenShannon, psi } from "../../src/core/monitoring/drift.js";
import {
  estimateBins,
  evaluateDrift,
  isInputField,
  type DriftResult,
} from "../../src/core/monitoring/evaluate.js";
import { Profile, type BinPlan } from "../../src/core/monitoring/profile.js";
import { emptyQuality, addLabeled } from "../../src/core/monitoring/quality-aggregate.js";
import { referenceFromProfile } from "../../src/core/monitoring/reference.js";
import { describeFields, windowResult } from "../../src/core/monitoring/window-result.js";
import { mulberry32 } from "../support/random.js";

function normals(n: number, seed: number, shift = 0): number[] {
  const rnd = mulberry32(seed);
  return Array.from(
    { length: n },
    () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd()) + shift,
  );
}
const COLOURS = ["red", "green", "blue"];

/** The reference: standard normal a, b and latency; three colours; mostly "yes" predictions. */
function baseline(n = 5000, id = "base"): Baseline {
  const c = new ValueCollector();
  const [a, b, lat] = [normals(n, 1), normals(n, 2), normals(n, 3)];
  for (let i = 0; i < n; i++) {
    c.value("feature.a", a[i]);
    c.value("feature.b", b[i]);
    c.value("feature.c", COLOURS[i % 3]);
    c.numeric("route.latency_ms", lat[i]!);
    c.category("prediction.label", i % 4 === 0 ? "no" : "yes");
  }
  return buildBaseline(c, {
    id,
    model: "m",
    version: null,
    createdAt: new Date(0),
    source: { kind: "window", from: "a", to: "b" },
  });
}

interface Window {
  n?: number;
  shiftA?: number;
  shiftB?: number;
  shiftLatency?: number;
  colours?: string[];
  labels?: string[];
  seed?: number;
}

/** A window's profile (on `plan`, or none) and its raw values of feature.a. */
function window(plan: BinPlan | null, w: Window = {}): { profile: Profile; a: number[] } {
  const n = w.n ?? 1000;
  const seed = w.seed ?? 100;
  const p = new Profile(plan);
  const a = normals(n, seed, w.shiftA ?? 0);
  const [b, lat] = [normals(n, seed + 1, w.shiftB ?? 0), normals(n, seed + 2, w.shiftLatency ?? 0)];
  const colours = w.colours ?? COLOURS;
  const labels = w.labels ?? ["no", "yes", "yes", "yes"];
  for (let i = 0; i < n; i++) {
    p.value("feature.a", a[i]);
    p.value("feature.b", b[i]);
    p.value("feature.c", colours[i % colours.length]);
    p.numeric("route.latency_ms", lat[i]);
    p.category("prediction.label", labels[i % labels.length]);
  }
  p.captures = n;
  return { profile: p, a };
}

/** scipy.stats.wasserstein_distance of two raw samples: ∫ |F − G|. */
function wasserstein(x: readonly number[], y: readonly number[]): number {
  const all = [...x, ...y].sort((p, q) => p - q);
  const xs = [...x].sort((p, q) => p - q);
  const ys = [...y].sort((p, q) => p - q);
  let [i, j, d] = [0, 0, 0];
  for (let k = 0; k < all.length - 1; k++) {
    while (i < xs.length && xs[i]! <= all[k]!) i++;
    while (j < ys.length && ys[j]! <= all[k]!) j++;
    d += Math.abs(i / xs.length - j / ys.length) * (all[k + 1]! - all[k]!);
  }
  return d;
}

const field = (r: DriftResult, name: string) => r.fields.find((f) => f.field === name)!;

/** The baseline with one field's method and threshold replaced. */
function withMethod(
  b: Baseline,
  name: string,
  method: Baseline["fields"][string]["method"],
  threshold: number,
): Baseline {
  return { ...b, fields: { ...b.fields, [name]: { ...b.fields[name]!, method, threshold } } };
}

describe("evaluateDrift", () => {
  const base = baseline();
  const plan = binPlanOf(base);

  it("uses Evidently's auto methods on a large reference", () => {
    expect(Object.fromEntries(Object.entries(base.fields).map(([k, f]) => [k, f.method]))).toEqual({
      "feature.a": "wasserstein",
      "feature.b": "wasserstein",
      "feature.c": "jensenshannon",
      "prediction.label": "jensenshannon",
      "route.latency_ms": "wasserstein",
    });
  });

  it("marks a feature shifted by one sd drifted by Wasserstein (≈ 1 sd), and only it", () => {
    const { profile, a } = window(plan, { shiftA: 1 });
    const r = evaluateDrift(base, profile);
    const fa = field(r, "feature.a");
    expect(fa).toMatchObject({
      method: "wasserstein",
      drifted: true,
      enough: true,
      approximate: true,
      current: 1000,
      reference: 5000,
    });
    expect(Math.abs(fa.score! - 1)).toBeLessThan(0.15);
    const sd = Math.sqrt(base.fields["feature.a"]!.summary!.m2 / 5000);
    const exact = wasserstein(normals(5000, 1), a) / sd;
    expect(fa.error!).toBeGreaterThan(0);
    expect(Math.abs(fa.score! - exact)).toBeLessThanOrEqual(fa.error!);
    expect(r.fields.filter((f) => f.drifted).map((f) => f.field)).toEqual(["feature.a"]);
    expect(field(r, "feature.b").score!).toBeLessThan(0.1);
    expect(r).toMatchObject({
      baseline: "base",
      captures: 1000,
      min_count: 200,
      input_fields: 3,
      drifted_inputs: 1,
      dataset_drift: false,
    });
    expect(r.drift_share).toBeCloseTo(1 / 3, 12);
  });

  it("marks the shifted feature drifted by KS (p tiny), and not the unshifted one", () => {
    const ks = withMethod(withMethod(base, "feature.a", "ks", 0.05), "feature.b", "ks", 0.05);
    // seed 101: b's sample against the reference's has scipy's exact KS p ≈ 0.39 on the raw values
    const r = evaluateDrift(ks, window(plan, { shiftA: 1, seed: 101 }).profile);
    expect(field(r, "feature.a")).toMatchObject({ method: "ks", drifted: true, approximate: true });
    expect(field(r, "feature.a").score!).toBeLessThan(1e-20);
    expect(field(r, "feature.b").score!).toBeGreaterThan(0.05);
    expect(field(r, "feature.b").drifted).toBe(false);
    expect(field(r, "feature.a").error!).toBeGreaterThan(0);
  });

  it("marks a categorical field drifted by Jensen-Shannon when a category disappears", () => {
    const r = evaluateDrift(base, window(plan, { colours: ["red", "green"] }).profile);
    const c = field(r, "feature.c");
    // Aligned in key order: blue, green, red
    expect(c.score).toBeCloseTo(jensenShannon([1666, 1667, 1667], [0, 500, 500]), 12);
    expect(c.score!).toBeGreaterThan(0.3);
    expect(c).toMatchObject({ drifted: true, approximate: false, current: 1000 });
    expect(field(evaluateDrift(base, window(plan).profile), "feature.c").drifted).toBe(false);
  });

  it("marks nothing drifted below min_count, and leaves those fields out of the dataset share", () => {
    const r = evaluateDrift(base, window(plan, { n: 199, shiftA: 3, colours: ["red"] }).profile);
    expect(field(r, "feature.a").score!).toBeGreaterThan(1);
    for (const f of r.fields) expect([f.field, f.enough, f.drifted]).toEqual([f.field, false, false]);
    expect(r).toMatchObject({ input_fields: 0, drifted_inputs: 0, drift_share: null, dataset_drift: false });
    expect(
      field(
        evaluateDrift({ ...base, min_count: 199 }, window(plan, { n: 199, shiftA: 3 }).profile),
        "feature.a",
      ).drifted,
    ).toBe(true);
  });

  it("counts dataset drift over feature and input fields only", () => {
    const latency = evaluateDrift(base, window(plan, { shiftA: 1, shiftLatency: 2 }).profile);
    expect(field(latency, "route.latency_ms").drifted).toBe(true);
    expect(latency).toMatchObject({ input_fields: 3, drifted_inputs: 1, dataset_drift: false });
    const two = evaluateDrift(base, window(plan, { shiftA: 1, shiftB: 1 }).profile);
    expect(two).toMatchObject({ drifted_inputs: 2, dataset_drift: true, dataset_drift_threshold: 0.5 });
    expect(two.drift_share).toBeCloseTo(2 / 3, 12);
    expect(
      evaluateDrift({ ...base, dataset_drift_share: 0.7 }, window(plan, { shiftA: 1, shiftB: 1 }).profile)
        .dataset_drift,
    ).toBe(false);
  });

  it("reports the prediction field's drift", () => {
    const r = evaluateDrift(base, window(plan, { labels: ["no"] }).profile);
    expect(r.prediction).toMatchObject({ field: "prediction.label", drifted: true });
    expect(evaluateDrift(base, window(plan).profile).prediction).toMatchObject({
      field: "prediction.label",
      drifted: false,
    });
    expect(evaluateDrift({ ...base, prediction_field: null }, window(plan).profile).prediction).toBeNull();
  });

  it("uses exact bins when the window was counted on the baseline's edges, else estimates them from the sketch", () => {
    const psiBase = withMethod(base, "feature.a", "psi", 0.1);
    const edges = psiBase.fields["feature.a"]!.edges!;
    const refBins = psiBase.fields["feature.a"]!.bins!;
    const onEdges = window(plan, { shiftA: 0.5 });
    const exact = field(evaluateDrift(psiBase, onEdges.profile), "feature.a");
    expect(exact).toMatchObject({ approximate: false, drifted: true });
    expect(exact.score).toBe(psi(refBins, countOnEdges(edges, onEdges.a)));

    const exactCounts = countOnEdges(edges, onEdges.a);
    for (const other of [
      window(null, { shiftA: 0.5 }).profile,
      window({ ...plan, id: "other" }, { shiftA: 0.5 }).profile,
    ]) {
      const sketch = other.get("feature.a")!.sketch!;
      expect(sketch.isEstimationMode).toBe(true);
      const estimated = estimateBins(sketch, edges);
      expect(estimated.reduce((s, n) => s + n, 0)).toBe(1000);
      const bound = 2 * sketch.normalizedRankError(false) * 1000 + 1;
      estimated.forEach((n, i) =>
        expect(Math.abs(n - exactCounts[i]!), `bin ${i}`).toBeLessThanOrEqual(bound),
      );
      expect(estimated).not.toEqual(exactCounts);
      const approx = field(evaluateDrift(psiBase, other), "feature.a");
      expect(approx).toMatchObject({ approximate: true, drifted: true });
      expect(approx.score).toBe(psi(refBins, estimated));
    }
  });

  it("χ² with a category the reference never saw: p 0, drifted", () => {
    const chi = withMethod(baseline(600), "feature.c", "chisquare", 0.05);
    const f = field(
      evaluateDrift(chi, window(binPlanOf(chi), { colours: [...COLOURS, "purple"] }).profile),
      "feature.c",
    );
    expect(f).toMatchObject({ score: 0, drifted: true });
  });

  it("a score that cannot be computed is null and never drifted", () => {
    const flat = structuredClone(base);
    flat.fields["feature.a"]!.summary!.m2 = 0;
    const f = field(evaluateDrift(flat, window(plan, { shiftA: 5 }).profile), "feature.a");
    expect(f).toMatchObject({ score: null, drifted: false, enough: true });
    const r = evaluateDrift(base, new Profile(plan));
    expect(r.fields.every((x) => x.score === null && !x.drifted && x.current === 0)).toBe(true);
  });

  it("counts numbers of a categorical field as mismatches unless the window knew the field's kind", () => {
    const unknown = new Profile(null);
    const known = new Profile(plan);
    for (const p of [unknown, known]) {
      p.value("feature.c", 5);
      p.value("feature.c", "red");
      p.value("feature.a", "text");
    }
    expect(field(evaluateDrift(base, unknown), "feature.c")).toMatchObject({ current: 1, mismatches: 1 });
    expect(field(evaluateDrift(base, known), "feature.c")).toMatchObject({ current: 2, mismatches: 0 });
    expect(field(evaluateDrift(base, known), "feature.a")).toMatchObject({ current: 0, mismatches: 1 });
  });
});

describe("isInputField", () => {
  it.each([
    ["feature.x", true],
    ["input.text_length", true],
    ["input.image.width", true],
    ["llm.prompt_tokens", true],
    ["prediction.label", false],
    ["route.latency_ms", false],
    ["llm.ttft_ms", false],
    ["features.x", false],
  ])("%s: %s", (name, input) => expect(isInputField(name)).toBe(input));
});

describe("referenceFromProfile", () => {
  const active = baseline(5000, "active");
  const plan = binPlanOf(active);
  const span = { from: new Date("2026-05-01T11:00:00Z"), to: new Date("2026-05-01T12:00:00Z"), model: "m" };

  it("with the active baseline the window counted on: the same id, its edges and methods, exact bins", () => {
    const { profile, a } = window(plan, { shiftA: 1 });
    const ref = referenceFromProfile(profile, span, active);
    expect(ref.id).toBe("active");
    expect(ref.source).toEqual({
      kind: "profile",
      from: "2026-05-01T11:00:00.000Z",
      to: "2026-05-01T12:00:00.000Z",
    });
    const fa = ref.fields["feature.a"]!;
    expect(fa.edges).toEqual(active.fields["feature.a"]!.edges);
    expect(fa.bins).toEqual(countOnEdges(fa.edges!, a));
    expect([fa.method, fa.count]).toEqual(["wasserstein", 1000]);
    expect(ref.fields["feature.c"]!.categories).toEqual({ red: 334, green: 333, blue: 333 });
    expect(ref.prediction_field).toBe("prediction.label");
    // The next window, shifted the same way, has not drifted against this one; exact bins on psi
    const next = window(plan, { shiftA: 1, seed: 200 }).profile;
    const r = evaluateDrift(withMethod(ref, "feature.a", "psi", 0.1), next);
    expect(field(r, "feature.a")).toMatchObject({ approximate: false, drifted: false });
    expect(evaluateDrift(ref, next).drifted_inputs).toBe(0);
  });

  it("without one: edges at the sketch's quantiles, estimated bins, a window id, auto methods", () => {
    const { profile } = window(null, { n: 1000 });
    const ref = referenceFromProfile(profile, span, undefined);
    expect(ref.id).toBe("window:2026-05-01T11:00:00.000Z..2026-05-01T12:00:00.000Z");
    const fa = ref.fields["feature.a"]!;
    const sketch = profile.get("feature.a")!.sketch!;
    expect(fa.edges).toEqual(Array.from({ length: 19 }, (_, i) => sketch.quantile((i + 1) / 20)));
    expect(fa.bins).toEqual(estimateBins(sketch, fa.edges!));
    expect(fa.method).toBe("ks");
    expect(ref.fields["feature.c"]!.method).toBe("chisquare");
    expect(ref).toMatchObject({
      min_count: 200,
      dataset_drift_share: 0.5,
      prediction_field: "prediction.label",
      quality: null,
    });
    const shifted = evaluateDrift(ref, window(null, { shiftA: 1, seed: 300 }).profile);
    expect(shifted.fields.filter((f) => f.drifted).map((f) => f.field)).toEqual(["feature.a"]);
  });

  it("an active baseline the window did not count on: its edges, but a window id and estimated bins", () => {
    const { profile } = window(null);
    const ref = referenceFromProfile(profile, span, active);
    expect(ref.id.startsWith("window:")).toBe(true);
    const fa = ref.fields["feature.a"]!;
    expect(fa.edges).toEqual(active.fields["feature.a"]!.edges);
    expect(fa.bins).toEqual(estimateBins(profile.get("feature.a")!.sketch!, fa.edges!));
  });

  it("drops duplicate edges of a field with few values", () => {
    const p = new Profile();
    for (let i = 0; i < 300; i++) p.value("feature.few", i % 3);
    const f = referenceFromProfile(p, span, undefined).fields["feature.few"]!;
    expect(f.edges).toEqual([0, 1, 2]);
    expect(f.bins).toEqual(estimateBins(p.get("feature.few")!.sketch!, [0, 1, 2]));
    expect(f.bins!.reduce((s, n) => s + n, 0)).toBe(300);
    expect(f.bins![3]).toBe(0);
    expect(f.method).toBe("chisquare");
  });
});

describe("windowResult", () => {
  const base = baseline(2000);
  const { profile } = window(binPlanOf(base), { shiftA: 1 });
  const quality = addLabeled(
    emptyQuality(),
    { kind: "classification", label: "a", score: 1 },
    { kind: "classification", label: "a", score: null },
  );
  const args = {
    window: "5m",
    from: new Date("2026-05-01T12:00:00Z"),
    to: new Date("2026-05-01T12:05:00Z"),
    profile,
    quality,
  };

  it("holds the drift, quality, rate and field descriptions", () => {
    const r = windowResult({
      ...args,
      baseline: { ...base, quality: { labeled: 10, metrics: { accuracy: 0.9 } } },
    });
    expect(r).toMatchObject({
      window: "5m",
      from: "2026-05-01T12:00:00.000Z",
      captures: 1000,
      drift_skipped: null,
      labeled: 1,
    });
    expect(r.rate).toBeCloseTo(1000 / 300, 12);
    expect(r.drift!.drifted_inputs).toBe(1);
    expect(r.quality).toEqual({ accuracy: 1, macro_f1: 1 });
    expect(r.quality_baseline).toEqual({ accuracy: 0.9 });
    expect(r.fields.map((f) => f.field)).toEqual(profile.fieldNames());
  });

  it("without a baseline: no drift, and why", () => {
    expect(windowResult({ ...args, baseline: undefined })).toMatchObject({
      drift: null,
      drift_skipped: "no active baseline",
      quality_baseline: null,
    });
  });

  it("describes each field: moments, sketch quantiles, the top categories", () => {
    const p = new Profile();
    for (let i = 1; i <= 100; i++) p.numeric("n", i);
    p.numeric("n", null);
    for (let i = 0; i < 12; i++) for (let k = 0; k <= i; k++) p.category("c", `k${i}`);
    const [c, n] = describeFields(p);
    expect(n).toMatchObject({
      field: "n",
      count: 100,
      missing: 1,
      mean: 50.5,
      min: 1,
      max: 100,
      p50: 50,
      p90: 90,
      p99: 99,
    });
    expect(n!.std).toBeCloseTo(Math.sqrt((100 * 100 - 1) / 12), 9);
    expect(c!.count).toBe(78);
    expect(c!.top).toEqual(Array.from({ length: 10 }, (_, i) => [`k${11 - i}`, 12 - i]));
    expect([c!.mean, c!.p50]).toEqual([null, null]);
  });
});
