/**
 * The demo's drift story (tools/demo/drift-story.ts): the traffic it draws, the labels it sends
 * back, the minutes it picks and the metric lines it shows. The story itself runs against the
 * stack in `modeltap demo`.
 */
import { describe, expect, it } from "vitest";
import {
  draws,
  featureDriftedLines,
  groundTruthFor,
  IRIS_CLASSES,
  IRIS_FEATURES,
  irisRequest,
  irisRow,
  STORY_SHIFT_SD,
  storyStart,
} from "../../tools/demo/drift-story.js";

const PETAL = IRIS_FEATURES.findIndex((f) => f.name === "petal_length");

function rows(seed: number, shiftSd: number, n: number): number[][] {
  const { normal } = draws(seed);
  return Array.from({ length: n }, () => irisRow(normal, shiftSd));
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sd = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));

describe("the story's iris traffic", () => {
  it("draws each feature around the iris mean with the iris sd, reproducibly per seed", () => {
    const drawn = rows(13, 0, 4000);
    expect(rows(13, 0, 50)).toEqual(drawn.slice(0, 50));
    expect(rows(14, 0, 50)).not.toEqual(drawn.slice(0, 50));
    IRIS_FEATURES.forEach((f, i) => {
      const col = drawn.map((r) => r[i]!);
      expect(Math.abs(mean(col) - f.mean), f.name).toBeLessThan(0.1 * f.sd);
      // petal_length is clipped at 0.1 cm (2% of its draws), which narrows it a little.
      expect(Math.abs(sd(col) / f.sd - 1), f.name).toBeLessThan(0.08);
      expect(Math.min(...col)).toBeGreaterThanOrEqual(0.1);
      expect(col.every((x) => +x.toFixed(2) === x)).toBe(true);
    });
  });

  it("shifts petal_length, and only it, by 1.5 of its sd", () => {
    const normal = rows(15, 0, 2000);
    const shifted = rows(15, STORY_SHIFT_SD, 2000);
    const sdPetal = IRIS_FEATURES[PETAL]!.sd;
    shifted.forEach((r, j) => {
      IRIS_FEATURES.forEach((_, i) => {
        if (i !== PETAL) expect(r[i]).toBe(normal[j]![i]);
      });
      // Unclipped draws move by the shift exactly, up to rounding to 0.01.
      if (normal[j]![PETAL]! > 0.1)
        expect(Math.abs(r[PETAL]! - normal[j]![PETAL]! - 1.5 * sdPetal)).toBeLessThan(0.011);
    });
  });

  it("sends a KServe V2 request of the four features, as the iris route reads it", () => {
    expect(JSON.parse(irisRequest([5.1, 3.5, 1.4, 0.2]))).toEqual({
      inputs: [{ name: "features", datatype: "FP32", shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }],
    });
  });
});

describe("the story's labels", () => {
  it("agree with the prediction, or name another class", () => {
    for (const p of IRIS_CLASSES) {
      expect(groundTruthFor(p, true, 0.7)).toBe(p);
      const others = new Set([0, 0.3, 0.49, 0.5, 0.99].map((u) => groundTruthFor(p, false, u)));
      expect([...others].sort()).toEqual(IRIS_CLASSES.filter((c) => c !== p));
    }
  });
});

describe("the story's minutes", () => {
  it("start on the next whole minute at least 3 s away", () => {
    const at = (s: string) => Date.parse(`2026-11-28T10:${s}Z`);
    expect(storyStart(at("00:10.000"))).toBe(at("01:00.000"));
    expect(storyStart(at("00:56.999"))).toBe(at("01:00.000"));
    expect(storyStart(at("00:57.001"))).toBe(at("02:00.000"));
    expect(storyStart(at("01:00.000"))).toBe(at("02:00.000"));
  });
});

describe("the metric lines it shows", () => {
  it("are the model's feature_drifted series of the window, input features only", () => {
    const text = [
      "# HELP modeltap_monitor_feature_drifted 1 when the field drifted",
      'modeltap_monitor_feature_drifted{model="iris",version="1",window="1m",feature="feature.petal_length"} 1',
      'modeltap_monitor_feature_drifted{model="iris",version="1",window="1m",feature="feature.sepal_width"} 0',
      'modeltap_monitor_feature_drifted{model="iris",version="1",window="5m",feature="feature.petal_length"} 1',
      'modeltap_monitor_feature_drifted{model="iris",version="1",window="1m",feature="route.latency_ms"} 1',
      'modeltap_monitor_feature_drifted{model="iris-sklearn",version="1",window="1m",feature="feature.petal_length"} 1',
      'modeltap_monitor_feature_drift{model="iris",version="1",window="1m",feature="feature.petal_length",method="ks"} 0',
    ].join("\n");
    expect(featureDriftedLines(text, "iris", "1m")).toEqual([
      'modeltap_monitor_feature_drifted{model="iris",version="1",window="1m",feature="feature.petal_length"} 1',
      'modeltap_monitor_feature_drifted{model="iris",version="1",window="1m",feature="feature.sepal_width"} 0',
    ]);
  });
});
