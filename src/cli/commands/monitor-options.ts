/** Options and checks the monitoring commands share: model, window, times, the database. */
import { openDatabase, type Database } from "../../adapters/registry.js";
import type { Config } from "../../config.js";
import { ConfigError, ModeltapError } from "../../core/errors.js";
import { parseTime, parseWindow, windowName } from "../../core/monitoring/windows.js";

type Options = Record<string, string | boolean | undefined>;

export const MODEL_OPTION = {
  type: "string",
  value: "M",
  description: "the model (as in the route's metadata)",
} as const;
export const VERSION_OPTION = {
  type: "string",
  value: "V",
  description: "only this version of the model (default: every version together)",
} as const;
export const JSON_OPTION = { type: "boolean", description: "print JSON instead of a table" } as const;
export const AT_OPTION = {
  type: "string",
  value: "T",
  description: "the window ending at or before T (ISO 8601, or -1h, now; default now): the last whole window",
} as const;

export function text(options: Options, name: string): string | undefined {
  const v = options[name];
  return typeof v === "string" ? v : undefined;
}

export function required(options: Options, name: string): string {
  const v = text(options, name);
  if (v === undefined || v === "") throw new ConfigError([`--${name}: required`]);
  return v;
}

export function windowOption(options: Options, name = "window"): { ms: number; name: string } {
  const raw = required(options, name);
  const ms = parseWindow(raw);
  if (ms === undefined)
    throw new ConfigError([
      `--${name}: expected whole minutes, hours or days from 1m to 31d (5m, 1h, 1d), got ${JSON.stringify(raw)}`,
    ]);
  return { ms, name: windowName(ms) };
}

export function timeOption(options: Options, name: string, now: Date): Date | undefined {
  const raw = text(options, name);
  if (raw === undefined) return undefined;
  const t = parseTime(raw, now);
  if (!t)
    throw new ConfigError([
      `--${name}: expected an ISO 8601 time (2026-11-28T12:00:00Z), now, or -30m/-2h/-1d; got ${JSON.stringify(raw)}`,
    ]);
  return t;
}

/** [from, to) of the last whole window of this length ending at or before `at`. */
export function windowAt(at: Date, ms: number): { from: Date; to: Date } {
  const to = new Date(Math.floor(at.getTime() / ms) * ms);
  return { from: new Date(to.getTime() - ms), to };
}

/** "A..B": two times. */
export function rangeOption(raw: string, now: Date, name: string): { from: Date; to: Date } {
  const [a, b, ...rest] = raw.split("..");
  const from = a !== undefined ? parseTime(a, now) : undefined;
  const to = b !== undefined ? parseTime(b, now) : undefined;
  if (rest.length > 0 || !from || !to || !(from < to))
    throw new ConfigError([
      `--${name}: expected A..B, two times with A before B (2026-11-28T10:00Z..2026-11-28T11:00Z, -2h..-1h), got ${JSON.stringify(raw)}`,
    ]);
  return { from, to };
}

export async function openMonitorDb(config: Config): Promise<Database> {
  const db = openDatabase(config, 4);
  await db.assertMigrated();
  return db;
}

export async function assertKnownModel(db: Database, model: string): Promise<void> {
  if (!(await db.monitor.knownModel(model)))
    throw new ModeltapError(
      "UNKNOWN_MODEL",
      `no capture, profile or baseline names model ${JSON.stringify(model)}`,
    );
}

export function span(from: Date, to: Date): string {
  return `${from.toISOString()} .. ${to.toISOString()}`;
}
