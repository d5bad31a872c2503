/**
 * Monitoring settings the configuration validates (src/config.ts) and the monitoring room uses:
 * window lengths and the default LLM refusal patterns. In the core root so the configuration does
 * not pull the monitoring room into every process.
 */

export const MINUTE_MS = 60_000;
export const MAX_WINDOW_MS = 31 * 24 * 3_600_000;
const UNIT_MS: Readonly<Record<string, number>> = { m: MINUTE_MS, h: 60 * MINUTE_MS, d: 24 * 60 * MINUTE_MS };

/** "5m", "1h", "1d" → milliseconds; undefined for anything else (whole minutes, up to 31 days). */
export function parseWindow(text: string): number | undefined {
  const m = /^([1-9]\d{0,5})([mhd])$/.exec(text.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * UNIT_MS[m[2]!]!;
  return ms <= MAX_WINDOW_MS ? ms : undefined;
}

/** The window name for milliseconds: the largest unit that divides it ("90m" stays "90m"). */
export function windowName(ms: number): string {
  for (const [unit, size] of [
    ["d", UNIT_MS.d!],
    ["h", UNIT_MS.h!],
    ["m", MINUTE_MS],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  throw new RangeError(`${ms} ms is not whole minutes`);
}

/** Milliseconds per unit letter (m, h, d). */
export function unitMs(unit: string): number | undefined {
  return Object.hasOwn(UNIT_MS, unit) ? UNIT_MS[unit] : undefined;
}

/**
 * Phrases that open a refusal, as regular expressions (case-insensitive; `['’]` takes either
 * apostrophe). Deliberately short: a pattern list for a given model belongs in its config. No
 * pattern has a comma, so each can be copied into MODELTAP_MONITOR_REFUSAL_PATTERNS (comma-separated).
 */
export const DEFAULT_REFUSAL_PATTERNS: readonly string[] = [
  "\\bI can(?:no|['’])?t (?:help|assist) with",
  "\\bI cannot (?:help|assist|provide|comply)",
  "\\bI['’]m sorry\\W+but I can",
  "\\bI['’]m (?:not able|unable) to (?:help|assist|provide|comply)",
  "\\bI won['’]t be able to (?:help|assist)",
  "\\bas an AI\\b",
];
