/** src/core/sampler.ts: isSampled / hashRequestId: deterministic per id, exact at the extremes, close to the rate, monotonic in the rate, even over sequential ids. */
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { hashRequestId, isSampled } from "../../src/core/sampler.js";

const ids = Array.from({ length: 20_000 }, () => randomUUID());

describe("isSampled", () => {
  it("gives the same hash and the same answer for the same id, every time", () => {
    for (const id of ids.slice(0, 500)) expect(hashRequestId(id)).toBe(hashRequestId(id));
    const first = ids.slice(0, 1000).map((id) => isSampled(id, 0.5));
    const again = ids.slice(0, 1000).map((id) => isSampled(id, 0.5));
    expect(again).toEqual(first);
    // A copy of the string (not the same object) decides the same way.
    for (const id of ids.slice(0, 1000)) expect(isSampled(`${id}`.slice(0), 0.5)).toBe(isSampled(id, 0.5));
    // And both answers occur, so the comparison above is not trivially all-false or all-true.
    expect(first).toContain(true);
    expect(first).toContain(false);
  });

  it("never samples at rate 0 (or below) and always samples at rate 1 (or above)", () => {
    expect(ids.filter((id) => isSampled(id, 0))).toHaveLength(0);
    expect(ids.filter((id) => isSampled(id, -0.5))).toHaveLength(0);
    expect(ids.filter((id) => isSampled(id, 1))).toHaveLength(ids.length);
    expect(ids.filter((id) => isSampled(id, 2))).toHaveLength(ids.length);
    expect(isSampled("", 0)).toBe(false);
    expect(isSampled("", 1)).toBe(true);
  });

  it.each([0.01, 0.1, 0.25, 0.5, 0.9])("samples within 4 standard deviations of rate %f", (rate) => {
    const n = ids.length;
    const sampled = ids.filter((id) => isSampled(id, rate)).length;
    const sd = Math.sqrt(n * rate * (1 - rate));
    expect(Math.abs(sampled - n * rate)).toBeLessThan(4 * sd);
  });

  it("is monotonic: the set sampled at 0.1 is a subset of the set sampled at 0.25", () => {
    const at10 = new Set(ids.filter((id) => isSampled(id, 0.1)));
    const at25 = new Set(ids.filter((id) => isSampled(id, 0.25)));
    expect(at10.size).toBeGreaterThan(0);
    expect(at25.size).toBeGreaterThan(at10.size);
    const missing = [...at10].filter((id) => !at25.has(id));
    expect(missing).toEqual([]);
  });

  it("spreads sequential ids evenly", () => {
    const seq = Array.from({ length: 10_000 }, (_, i) => `req-${i}`);
    const n = seq.filter((id) => isSampled(id, 0.5)).length;
    expect(Math.abs(n - 5000)).toBeLessThan(4 * 50);
  });
});
