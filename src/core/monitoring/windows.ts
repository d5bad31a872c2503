/**
 * Windows: tumbling, aligned to the epoch (a 5m window ends at :00, :05, …), made of whole minute
 * buckets. A window closes once its last minute is closed: `grace` after its end, so captures in
 * flight to the worker are folded first; a partial arriving later re-folds its bucket and the
 * window is evaluated again (a new revision).
 */
import { MINUTE_MS, unitMs } from "../monitor-settings.js";

export { MAX_WINDOW_MS, parseWindow, windowName } from "../monitor-settings.js";

/** The end of the last closed window of this length at `now`. */
export function lastClosedEnd(now: Date, windowMs: number, graceMs: number): Date {
  return new Date(Math.floor((now.getTime() - graceMs) / windowMs) * windowMs);
}

/** The end of the window of this length that holds the minute starting at `minute`. */
export function windowEndOf(minute: Date, windowMs: number): Date {
  return new Date(Math.floor(minute.getTime() / windowMs) * windowMs + windowMs);
}

/** Minutes before this are closed: the fold takes their partials. */
export function closedBefore(now: Date, graceMs: number): Date {
  return new Date(Math.floor((now.getTime() - graceMs) / MINUTE_MS) * MINUTE_MS);
}

/**
 * Monitoring rows that hold nothing after this are expired: `days` before `now`, down to a whole
 * UTC day, so a day's windows go together.
 */
export function expiryCutoff(now: Date, days: number): Date {
  const DAY = 86_400_000;
  return new Date(Math.floor((now.getTime() - days * DAY) / DAY) * DAY);
}

/** A time given on the command line: ISO 8601, or relative to now ("-1h", "now"). */
export function parseTime(text: string, now: Date): Date | undefined {
  if (text === "now") return now;
  const rel = /^-(\d+)([mhd])$/.exec(text);
  if (rel) return new Date(now.getTime() - Number(rel[1]) * unitMs(rel[2]!)!);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text)) return undefined;
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? undefined : d;
}
