/** src/core/analysis/analyze.ts: analyzeExchange detects the protocol, parses and converts each instance. */
import { describe, expect, it } from "vitest";
import { analyzeExchange } from "../../src/core/analysis/analyze.js";
import { compileRouteConfig } from "../../src/core/route-config.js";
import { PluginRegistry } from "../../src/plugins/registry.js";
import { jsonView, parseContext } from "../support/parse-context.js";
import { validConfig } from "../support/routes.js";

const registry = new PluginRegistry();

const config = (meta: Record<string, unknown>) =>
  validConfig(compileRouteConfig(registry, { model: "m", ...meta }));

/** An exchange of two JSON bodies. */
const ctx = (request: unknown, response: unknown) => parseContext(jsonView(request), jsonView(response));

describe("analyzeExchange", () => {
  it("detects the protocol with protocol auto and converts each instance", () => {
    const c = config({ task: "text_classification" });
    const result = analyzeExchange(
      c.task,
      c.analysis,
      registry.detectionOrder(),
      ctx({ inputs: ["good", "bad"] }, [[{ label: "POS", score: 0.9 }], [{ label: "NEG", score: 0.8 }]]),
    );
    expect(result.parseError).toBe("");
    expect(result.analysis?.protocol).toBe("hf_pipeline");
    expect(result.analysis?.instances.map((i) => i.prediction)).toEqual([
      { kind: "classification", label: "POS", score: 0.9, classes: [{ label: "POS", score: 0.9 }] },
      { kind: "classification", label: "NEG", score: 0.8, classes: [{ label: "NEG", score: 0.8 }] },
    ]);
  });

  it("reports a converter failure per instance, keeping the rest", () => {
    const c = config({ task: "tabular_regression", protocol: "kserve_v1" });
    const result = analyzeExchange(
      c.task,
      c.analysis,
      registry.detectionOrder(),
      ctx(
        {
          instances: [
            [1, 2],
            [3, 4],
          ],
        },
        { predictions: [1.5, { a: 1, b: 2 }] },
      ),
    );
    expect(result.analysis?.instances.map((i) => i.prediction)).toEqual([
      { kind: "regression", value: 1.5 },
      null,
    ]);
    expect(result.parseError).toMatch(/^instance 1: regression: /);
  });

  it("drops detections under score_threshold", () => {
    const c = config({
      task: "object_detection",
      converter: "voc",
      score_threshold: 0.5,
      protocol: "kserve_v1",
    });
    const result = analyzeExchange(
      c.task,
      c.analysis,
      [],
      ctx(
        { instances: [{ x: 1 }] },
        {
          predictions: [
            [
              { box: [0, 0, 1, 1], label: "a", score: 0.9 },
              { box: [0, 0, 2, 2], label: "b", score: 0.1 },
            ],
          ],
        },
      ),
    );
    expect(result.analysis?.instances[0]?.prediction).toEqual({
      kind: "detection",
      boxes: [{ label: "a", score: 0.9, xyxy: [0, 0, 1, 1] }],
    });
  });

  it("does nothing for task unknown", () => {
    const c = config({});
    expect(analyzeExchange(c.task, c.analysis, registry.detectionOrder(), ctx({}, {}))).toEqual({
      analysis: undefined,
      parseError: "",
      inputs: [],
    });
  });
});
