/** Small helpers shared by converters: reading loosely-typed model output safely. */
import { ParseError, type ConvertContext } from "../../core/plugins.js";

export function fail(message: string): never {
  throw new ParseError(message);
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function asArray(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) fail(`${what}: expected a list, got ${describe(v)}`);
  return v;
}

export function asNumber(v: unknown, what: string): number {
  const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
  if (typeof n !== "number" || !Number.isFinite(n)) fail(`${what}: expected a number, got ${describe(v)}`);
  return n;
}

export function optionalNumber(v: unknown, what: string): number | null {
  return v === undefined || v === null ? null : asNumber(v, what);
}

/** A label from an id or a name, mapped through the route's labels when it is an id. */
export function labelOf(v: unknown, ctx: ConvertContext): string {
  if (typeof v === "number" || (typeof v === "string" && /^\d+$/.test(v))) {
    return ctx.labels.get(String(v)) ?? String(v);
  }
  if (typeof v === "string") return v;
  fail(`label: expected a name or an id, got ${describe(v)}`);
}

/** The value of the first of keys present (and not null) in o. */
export function pick(o: Record<string, unknown>, keys: readonly string[]): unknown {
  const key = keys.find((k) => o[k] !== undefined && o[k] !== null);
  return key === undefined ? undefined : o[key];
}

/** What a value is, never what it says: parse errors and notes must not carry body text. */
export function describe(v: unknown): string {
  if (v === null) return "null";
  if (v === undefined) return "nothing";
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (typeof v === "string") return `a string of ${v.length} characters`;
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/** A shape list for an error message: its first dims only, however many the body claims. */
export function shapeOf(shape: readonly number[]): string {
  const shown = shape.slice(0, 6).join(", ");
  return shape.length > 6 ? `[${shown}, … ${shape.length} dims]` : `[${shown}]`;
}

/** Round geometry to 1/100 px: enough for pixels, stable in fixtures. */
export function round2(n: number): number {
  return Math.round(n * 100) / 100;
}
