/**
 * Geometry budgets: how many pixels an input image may claim and still be trusted for geometry, how
 * many pixels one mask and all masks of a record may have when drawn, and how many instances a
 * record may analyse. An image header of a few bytes can claim any size, so each size is checked
 * against these before it costs memory or time. A capture over budget is kept (its raw bytes are
 * the source of truth) and says why: `over_budget` on the analysis, a note on the instance.
 */
import type { Analysis, AnalysisBudget } from "./canonical.js";
import { MAX_MASK_PIXELS } from "./rle.js";

export interface GeometryBudget {
  /** Pixels an input image may claim and still be used for geometry (scalers, masks). */
  readonly imagePixels: number;
  /** Pixels one mask may have when materialised: scaled, rasterised or rendered as a PNG. */
  readonly maskPixels: number;
  /** Pixels all masks of one record may have together. */
  readonly recordMaskPixels: number;
  /** Instances analysed per record, and masks drawn per record. */
  readonly instances: number;
}

export type BudgetName = "image_pixels" | "mask_pixels" | "record_mask_pixels" | "instances";

export const DEFAULT_GEOMETRY_BUDGET: GeometryBudget = Object.freeze({
  imagePixels: 50_000_000,
  maskPixels: 16_000_000,
  recordMaskPixels: 256_000_000,
  instances: 10_000,
});

/** Ceilings no route may raise a budget past (a mask is bounded by what rle.ts will decode). */
export const GEOMETRY_BUDGET_LIMITS: GeometryBudget = Object.freeze({
  imagePixels: 2 ** 31,
  maskPixels: MAX_MASK_PIXELS,
  recordMaskPixels: 2 ** 32,
  instances: 1_000_000,
});

/** The budget as written into an analysis, for the worker to draw masks within. */
export function analysisBudget(b: GeometryBudget): AnalysisBudget {
  return {
    image_pixels: b.imagePixels,
    mask_pixels: b.maskPixels,
    record_mask_pixels: b.recordMaskPixels,
    instances: b.instances,
  };
}

/**
 * The budget an analysis was captured under, each value held to its ceiling (the analysis comes
 * off the wire); the default for analyses written before budgets travelled with them.
 */
export function budgetOf(analysis: Analysis): GeometryBudget {
  const b = analysis.budget;
  const pick = (v: unknown, fallback: number, max: number) =>
    typeof v === "number" && Number.isInteger(v) && v >= 1 ? Math.min(v, max) : fallback;
  const d = DEFAULT_GEOMETRY_BUDGET;
  const l = GEOMETRY_BUDGET_LIMITS;
  return {
    imagePixels: pick(b?.image_pixels, d.imagePixels, l.imagePixels),
    maskPixels: pick(b?.mask_pixels, d.maskPixels, l.maskPixels),
    recordMaskPixels: pick(b?.record_mask_pixels, d.recordMaskPixels, l.recordMaskPixels),
    instances: pick(b?.instances, d.instances, l.instances),
  };
}

/** Adds a budget to the analysis's `over_budget` list, once. */
export function flagOverBudget(analysis: Analysis, name: BudgetName): void {
  const list = analysis.over_budget ?? [];
  if (!list.includes(name)) analysis.over_budget = [...list, name].sort();
}

/** An image's claimed size, when over the budget: the reason, for the instance's notes. */
export function imageOverBudget(width: number, height: number, b: GeometryBudget): string | undefined {
  const pixels = width * height;
  if (pixels <= b.imagePixels) return undefined;
  return `image claims ${width}×${height} pixels, more than the image budget of ${b.imagePixels}: not used for geometry`;
}

/**
 * The masks of one record, counted as they are materialised: each must fit the per-mask budget,
 * and together they must fit the record's pixel and count budgets.
 */
export class MaskAllowance {
  private pixels = 0;
  private masks = 0;

  constructor(private readonly budget: GeometryBudget) {}

  /** undefined when an h×w mask fits (it is then counted), else the budget it would go over. */
  take(height: number, width: number): BudgetName | undefined {
    const pixels = height * width;
    if (!(pixels <= this.budget.maskPixels)) return "mask_pixels";
    if (this.masks >= this.budget.instances) return "instances";
    if (this.pixels + pixels > this.budget.recordMaskPixels) return "record_mask_pixels";
    this.pixels += pixels;
    this.masks++;
    return undefined;
  }

  /** A refused mask, said in an instance note. */
  describe(name: BudgetName, height: number, width: number): string {
    const b = this.budget;
    if (name === "mask_pixels")
      return `${height}×${width} pixels is more than the mask budget of ${b.maskPixels}`;
    if (name === "instances") return `the record already has the ${b.instances} masks its budget allows`;
    return `${height}×${width} more pixels would take the record's masks past their budget of ${b.recordMaskPixels}`;
  }
}
