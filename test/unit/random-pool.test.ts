/** src/collector/random-pool.ts: fresh bytes per draw, across refills, never the same slice twice. */
import { expect, it } from "vitest";
import { randomPool } from "../../src/collector/random-pool.js";

it("gives distinct draws of the asked size, across refills of the pool", () => {
  const draw = randomPool(10, 4);
  const seen = new Set<string>();
  for (let i = 0; i < 40; i++) {
    const bytes = draw();
    expect(bytes.byteLength).toBe(10);
    seen.add(Buffer.from(bytes).toString("hex"));
  }
  // 40 draws of 80 random bits: a repeat would mean a slice was handed out twice.
  expect(seen.size).toBe(40);
});

it("refuses a size that is not a positive integer", () => {
  expect(() => randomPool(0)).toThrow(RangeError);
  expect(() => randomPool(1.5)).toThrow(RangeError);
});
