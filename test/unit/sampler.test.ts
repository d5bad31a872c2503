import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { hashRequestId, isSampled } from "../../src/core/sampler.js";

describe("sampler", () => {
  const ids = Array.from({ length: 20_000 }, () => randomUUID());

  it("is deterministic: the same id always gets the same decision", () => {
    for (const id of ids.slice(0, 500)) {
      expect(hashRequestId(id)).toBe(hashRequestId(id));
      expect(isSampled(id, 0.3)).toBe(isSampled(id, 0.3));
    }
  });

  it("never samples at 0 and always at 1", () => {
    expect(ids.some((id) => isSampled(id, 0))).toBe(false);
    expect(ids.every((id) => isSampled(id, 1))).toBe(true);
  });

  it.each([0.01, 0.1, 0.25, 0.5, 0.9])("samples close to the rate %f", (rate) => {
    const n = ids.filter((id) => isSampled(id, rate)).length;
    const sd = Math.sqrt(ids.length * rate * (1 - rate));
    expect(Math.abs(n - ids.length * rate)).toBeLessThan(4 * sd);
  });

  it("is monotonic: what 0.1 samples, 0.25 samples too", () => {
    for (const id of ids) if (isSampled(id, 0.1)) expect(isSampled(id, 0.25)).toBe(true);
  });

  it("spreads sequential ids evenly", () => {
    const seq = Array.from({ length: 10_000 }, (_, i) => `req-${i}`);
    const n = seq.filter((id) => isSampled(id, 0.5)).length;
    expect(Math.abs(n - 5000)).toBeLessThan(4 * 50);
  });
});
