/** A regression output: a number, a one-element list, or an object with one numeric value. */
import type { Converter } from "../../core/plugins.js";
import { asNumber, describe, fail, isRecord } from "./shared.js";

const VALUE_KEYS = ["value", "prediction", "predict", "predictions", "output", "y"];

function value(raw: unknown, depth: number): number {
  if (depth > 4) fail(`regression: cannot find a value in ${describe(raw)}`);
  if (Array.isArray(raw) && raw.length === 1) return value(raw[0], depth + 1);
  if (typeof raw === "number" || typeof raw === "string") return asNumber(raw, "regression value");
  if (isRecord(raw)) {
    const key =
      VALUE_KEYS.find((k) => k in raw) ?? (Object.keys(raw).length === 1 ? Object.keys(raw)[0] : undefined);
    if (key !== undefined) return value(raw[key], depth + 1);
  }
  fail(`regression: expected a number, got ${describe(raw)}`);
}

export const regression: Converter = {
  name: "regression",
  description: "A number, [number] or {value|prediction|predict: number} → value",
  tasks: ["tabular_regression"],
  convert: (raw) => ({ kind: "regression", value: value(raw, 0) }),
};
