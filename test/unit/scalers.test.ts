/**
 * src/plugins/scalers/ (stretch, letterbox, center-crop): the three scalers share one interface and
 * are tested as one table: known values worked by hand, then seeded round trips.
 */
import { describe, expect, it } from "vitest";
import { BUILTIN_SCALERS } from "../../src/plugins/registry.js";
import { centerCrop } from "../../src/plugins/scalers/center-crop.js";
import { letterbox } from "../../src/plugins/scalers/letterbox.js";
import { stretch } from "../../src/plugins/scalers/stretch.js";
import { expectClose, mapCorners, randomScenes } from "../support/geometry.js";

const SCALERS = BUILTIN_SCALERS.map((s) => [s.name, s] as const);

describe("scalers", () => {
  const model = { width: 640, height: 640 };
  it("stretch scales each axis on its own", () => {
    expect(stretch.toOriginal(320, 160, model, { width: 1280, height: 960 })).toEqual([640, 240]);
    expect(stretch.toModel(640, 240, model, { width: 1280, height: 960 })).toEqual([320, 160]);
  });

  it("letterbox removes the padding, then the scale", () => {
    // 1280×720 → r = 0.5, the image is 640×360 with 140 px bars above and below.
    const original = { width: 1280, height: 720 };
    expect(letterbox.toOriginal(0, 140, model, original)).toEqual([0, 0]);
    expect(letterbox.toOriginal(640, 500, model, original)).toEqual([1280, 720]);
    expect(letterbox.toModel(1280, 720, model, original)).toEqual([640, 500]);
  });

  it("center_crop adds back the cropped margin", () => {
    // 480×640 → r = 640/480 (width covers), 640×853.3 cropped by 106.67 top and bottom.
    const original = { width: 480, height: 640 };
    const [x, y] = centerCrop.toOriginal(0, 0, model, original);
    expect(x).toBeCloseTo(0, 9);
    expect(y).toBeCloseTo(80, 9);
    const [mx, my] = centerCrop.toModel(240, 320, model, original);
    expect(mx).toBeCloseTo(320, 9);
    expect(my).toBeCloseTo(320, 9);
  });
});

describe.each(SCALERS)("%s round trips", (_, scaler) => {
  it("original → toModel → toOriginal returns the box (500 random sizes)", () => {
    for (const { model, original, box } of randomScenes(42, 500)) {
      const inModel = mapCorners(scaler.toModel, box, model, original);
      expectClose(mapCorners(scaler.toOriginal, inModel, model, original), box);
    }
  });
});
