/**
 * src/core/monitoring/partials.ts: the worker's partial profiles, one per (model, version, minute
 * of received_at) of the rows inserted, counted on the bin plan of the row's model, and never an
 * exception for a capture, however odd its stored analysis.
 */
import { describe, expect, it } from "vitest";
import type { Instance } from "../../src/core/canonical.js";
import { DEFAULT_REFUSAL_PATTERNS } from "../../src/core/monitoring/fields.js";
import { minuteOf, partialProfiles } from "../../src/core/monitoring/partials.js";
import { Profile, type BinPlan } from "../../src/core/monitoring/profile.js";
import type { CaptureRow } from "../../src/core/ports.js";
import { captureRow } from "../support/captures.js";

const OPTS = { refusalPatterns: DEFAULT_REFUSAL_PATTERNS.map((p) => new RegExp(p, "i")) };

function row(id: string, model: string, version: string, at: string, x: unknown, instances = 1): CaptureRow {
  const inst = { input: { features: { x } }, prediction: { kind: "regression", value: 1 } } as Instance;
  return captureRow(
    id,
    "tabular_regression",
    Array.from({ length: instances }, () => inst),
    {
      model,
      version,
      receivedAt: new Date(at),
    },
  );
}

const PLANS: Record<string, BinPlan> = {
  a: { id: "base-a", fields: { "feature.x": { kind: "numeric", edges: [0, 10] } } },
  b: { id: "base-b", fields: { "feature.x": { kind: "numeric", edges: [5] } } },
};
const planFor = (model: string) => PLANS[model] ?? null;

describe("partialProfiles", () => {
  it("groups by model, version and minute of receivedAt, and counts captures and instances", () => {
    const rows = [
      row("1", "a", "1", "2026-05-01T12:00:00.000Z", 1),
      row("2", "a", "1", "2026-05-01T12:00:59.999Z", 2, 3),
      row("3", "a", "1", "2026-05-01T12:01:00.000Z", 3),
      row("4", "a", "2", "2026-05-01T12:00:30.000Z", 4),
      row("5", "b", "1", "2026-05-01T12:00:30.000Z", 5),
      row("6", "a", "1", "2026-05-01T11:59:59.999Z", 6),
      row("7", "a", "1", "2026-05-01T12:00:10.000Z", 7),
    ];
    const { partials, errors } = partialProfiles(rows, planFor, OPTS);
    expect(errors).toBe(0);
    const seen = partials
      .map((p) => [p.model, p.version, p.minute.toISOString(), p.captures, p.profile.instances] as const)
      .sort((x, y) => (JSON.stringify(x) < JSON.stringify(y) ? -1 : 1));
    expect(seen).toEqual([
      ["a", "1", "2026-05-01T11:59:00.000Z", 1, 1],
      ["a", "1", "2026-05-01T12:00:00.000Z", 3, 5],
      ["a", "1", "2026-05-01T12:01:00.000Z", 1, 1],
      ["a", "2", "2026-05-01T12:00:00.000Z", 1, 1],
      ["b", "1", "2026-05-01T12:00:00.000Z", 1, 1],
    ]);
    const noon = partials.find(
      (p) => p.model === "a" && p.version === "1" && p.minute.getUTCMinutes() === 0,
    )!;
    expect(noon.profile.captures).toBe(3);
    // Three captures, five instances: x = 1, 2, 2, 2, 7
    expect(noon.profile.fields["feature.x"]!.summary).toMatchObject({ count: 5, min: 1, max: 7 });
  });

  it("counts each row on the bin plan of its model", () => {
    const rows = [
      row("1", "a", "1", "2026-05-01T12:00:00Z", 5),
      row("2", "a", "1", "2026-05-01T12:00:01Z", 10),
      row("3", "a", "1", "2026-05-01T12:00:02Z", 11),
      row("4", "b", "1", "2026-05-01T12:00:00Z", 5),
      row("5", "b", "1", "2026-05-01T12:00:00Z", 6),
      row("6", "c", "1", "2026-05-01T12:00:00Z", 6),
    ];
    const byModel = Object.fromEntries(
      partialProfiles(rows, planFor, OPTS).partials.map((p) => [p.model, p.profile]),
    );
    expect(byModel.a!.baseline).toBe("base-a");
    expect(byModel.a!.fields["feature.x"]!.bins).toEqual([0, 2, 1]);
    expect(byModel.b!.baseline).toBe("base-b");
    expect(byModel.b!.fields["feature.x"]!.bins).toEqual([1, 1]);
    expect(byModel.c!.baseline).toBeNull();
    expect(byModel.c!.fields["feature.x"]!.bins).toBeUndefined();
  });

  it("asks for the plan with the row's model and version", () => {
    const asked: string[] = [];
    partialProfiles(
      [row("1", "a", "7", "2026-05-01T12:00:00Z", 1), row("2", "b", "8", "2026-05-01T12:00:00Z", 1)],
      (model, version) => {
        asked.push(`${model}@${version}`);
        return null;
      },
      OPTS,
    );
    expect(asked.sort()).toEqual(["a@7", "b@8"]);
  });

  it("the partials of a batch merge to the profile of all its rows", () => {
    const rows = Array.from({ length: 200 }, (_, i) =>
      row(`r${i}`, "a", "1", new Date(Date.UTC(2026, 4, 1, 12, 0, i * 7)).toISOString(), i % 13),
    );
    const { partials } = partialProfiles(rows, planFor, OPTS);
    expect(partials.length).toBe(Math.ceil((199 * 7 + 1) / 60));
    expect(partials.reduce((s, p) => s + p.captures, 0)).toBe(200);
    const merged = Profile.mergeAll(partials.map((p) => Profile.fromJSON(p.profile)));
    const whole = new Profile(PLANS.a!);
    for (const r of rows) whole.addCapture(r, OPTS);
    expect(merged.toJSON().fields["feature.x"]!.bins).toEqual(whole.toJSON().fields["feature.x"]!.bins);
    expect(merged.captures).toBe(200);
  });

  it("never throws on garbage analysis, and still counts the capture", () => {
    const at = "2026-05-01T12:00:00Z";
    const garbage: unknown[] = [
      null,
      "analysis",
      42,
      { instances: "no" },
      { instances: [null, 5, "x", [], { input: 3, prediction: { kind: 7 } }] },
      {
        instances: [
          {
            input: { features: [1, 2], image: "x", text: 5 },
            prediction: { kind: "detection", boxes: [null, { xyxy: "a" }] },
          },
        ],
      },
      {
        instances: [
          { prediction: { kind: "segmentation", instances: [{ rle: { counts: ["a"] }, polygons: 3 }] } },
        ],
      },
      { instances: [{ prediction: { kind: "entities", entities: { length: 1e12 } } }] },
      { instances: [{ prediction: { kind: "generation", usage: null, message: { content: 5 } } }] },
    ];
    const rows = garbage.map((analysis, i) => {
      const r = row(`g${i}`, "a", "1", at, 1);
      return { ...r, analysis: analysis as CaptureRow["analysis"], statusCode: "x" as unknown as number };
    });
    const { partials, errors } = partialProfiles(rows, planFor, OPTS);
    expect(errors).toBe(0);
    expect(partials).toHaveLength(1);
    expect(partials[0]!.captures).toBe(garbage.length);
    expect(partials[0]!.profile.fields["route.status"]!.categories!.counts).toEqual({ 0: garbage.length });
  });

  it("a capture that cannot be read at all is an error, not an exception, and the batch goes on", () => {
    const bad = row("bad", "a", "1", "2026-05-01T12:00:00Z", 1);
    Object.defineProperty(bad, "analysis", {
      get() {
        throw new Error("unreadable");
      },
    });
    const good = row("good", "a", "1", "2026-05-01T12:00:00Z", 2);
    const { partials, errors } = partialProfiles([bad, good], planFor, OPTS);
    expect(errors).toBe(1);
    expect(partials).toHaveLength(1);
    expect(partials[0]!.profile.fields["feature.x"]!.summary.count).toBe(1);
  });

  it("an empty batch has no partials", () => {
    expect(partialProfiles([], planFor, OPTS)).toEqual({ partials: [], errors: 0 });
  });
});

describe("minuteOf", () => {
  it.each([
    ["2026-05-01T12:00:00.000Z", "2026-05-01T12:00:00.000Z"],
    ["2026-05-01T12:00:59.999Z", "2026-05-01T12:00:00.000Z"],
    ["2026-05-01T12:01:00.000Z", "2026-05-01T12:01:00.000Z"],
    ["1969-12-31T23:59:30.000Z", "1969-12-31T23:59:00.000Z"],
  ])("%s is in the minute of %s", (at, minute) => {
    expect(minuteOf(new Date(at)).toISOString()).toBe(minute);
  });
});
