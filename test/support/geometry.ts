/** Random image sizes and boxes for the geometry property tests, and comparing coordinates within a tolerance. */
import { expect } from "vitest";
import type { Xyxy } from "../../src/core/canonical.js";
import type { Scaler, Size } from "../../src/core/plugins.js";
import { int, mulberry32 } from "./random.js";

/** A model input or original image from 32 to 2000 pixels a side. */
const randomSize = (rnd: () => number): Size => ({
  width: int(rnd, 32, 2000),
  height: int(rnd, 32, 2000),
});

/** A box anywhere inside an image of size s, corners ordered. */
function randomBox(rnd: () => number, s: Size): Xyxy {
  const xs = [rnd() * s.width, rnd() * s.width].sort((a, b) => a - b) as [number, number];
  const ys = [rnd() * s.height, rnd() * s.height].sort((a, b) => a - b) as [number, number];
  return [xs[0], ys[0], xs[1], ys[1]];
}

/** Each coordinate within tol pixels of the expected one (half a pixel by default). */
export function expectClose(actual: readonly number[], expected: readonly number[], tol = 0.5): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((v, i) =>
    expect(Math.abs(v - expected[i]!), `index ${i}: ${v} vs ${expected[i]}`).toBeLessThanOrEqual(tol),
  );
}

export interface Scene {
  /** The model's input size. */
  model: Size;
  /** The original image's size. */
  original: Size;
  /** A box in the original image. */
  box: Xyxy;
}

/** n seeded random scenes: the same seed gives the same scenes, so a failure replays. */
export function randomScenes(seed: number, n: number): Scene[] {
  const rnd = mulberry32(seed);
  return Array.from({ length: n }, () => {
    const model = randomSize(rnd);
    const original = randomSize(rnd);
    return { model, original, box: randomBox(rnd, original) };
  });
}

/** A box's two corners mapped one way by a scaler (toModel or toOriginal), as a box again. */
export function mapCorners(
  map: Scaler["toModel"],
  box: readonly number[],
  model: Size,
  original: Size,
): Xyxy {
  return [...map(box[0]!, box[1]!, model, original), ...map(box[2]!, box[3]!, model, original)];
}
