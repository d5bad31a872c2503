/**
 * Retention policy: how long captures are kept, per model, as cutoffs. Pure; config reads it, and
 * the sweep that applies it is src/worker/retention.ts (docs/retention.md). Which objects belong to
 * a capture is storage/retention.ts.
 */
import type { Cutoff, RetentionCutoffs } from "./ports.js";

/** Days to keep; 0 keeps forever. */
export const MAX_RETENTION_DAYS = 36_500;
const DAY_MS = 86_400_000;

export interface RetentionPolicy {
  /** For every model without an override (MODELTAP_RETENTION_DAYS). */
  defaultDays: number;
  /** Per model (MODELTAP_RETENTION_MODELS). */
  models: ReadonlyMap<string, number>;
}

function days(value: string, where: string, problems: string[]): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > MAX_RETENTION_DAYS) {
    problems.push(
      `${where}: days must be an integer from 0 to ${MAX_RETENTION_DAYS}, got ${JSON.stringify(value)}`,
    );
    return 0;
  }
  return n;
}

/**
 * MODELTAP_RETENTION_MODELS: `model=days` entries, comma-separated (`iris=30,bert=7`). A model
 * name is everything before an entry's last `=`, trimmed; it cannot hold a comma.
 */
export function parseRetentionModels(
  value: string,
  problems: string[],
  name = "MODELTAP_RETENTION_MODELS",
): Map<string, number> {
  const out = new Map<string, number>();
  for (const raw of value.split(",")) {
    const entry = raw.trim();
    if (entry === "") continue;
    const eq = entry.lastIndexOf("=");
    const model = eq < 0 ? "" : entry.slice(0, eq).trim();
    if (eq < 0 || model === "") {
      problems.push(`${name}: expected model=days, got ${JSON.stringify(entry)}`);
      continue;
    }
    if (out.has(model)) {
      problems.push(`${name}: model ${JSON.stringify(model)} is given twice`);
      continue;
    }
    out.set(model, days(entry.slice(eq + 1).trim(), `${name} (${model})`, problems));
  }
  return out;
}

/** Days as a cutoff at `now`: captures received before it have aged out. */
export function cutoffAt(now: Date, keepDays: number): Cutoff {
  return keepDays === 0 ? null : new Date(now.getTime() - keepDays * DAY_MS);
}

export function retentionCutoffs(policy: RetentionPolicy, now: Date): RetentionCutoffs {
  return {
    defaultCutoff: cutoffAt(now, policy.defaultDays),
    overrides: [...policy.models].map(([model, d]) => ({ model, cutoff: cutoffAt(now, d) })),
  };
}

/** Whether a capture of this model received at this time has aged out (the sweep's rule, in SQL). */
export function agedOut(c: RetentionCutoffs, model: string, receivedAt: Date): boolean {
  const o = c.overrides.find((x) => x.model === model);
  const cutoff = o ? o.cutoff : c.defaultCutoff;
  return cutoff !== null && receivedAt.getTime() < cutoff.getTime();
}

/**
 * Ground truth with no capture is kept as long as any capture could still arrive for it: the
 * longest retention in force. null when some model is kept forever.
 */
export function orphanLabelCutoff(policy: RetentionPolicy, now: Date): Cutoff {
  const all = [policy.defaultDays, ...policy.models.values()];
  return all.includes(0) ? null : cutoffAt(now, Math.max(...all));
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS };

/** `--every`: a whole number with a unit, s, m, h or d (`90s`, `15m`, `1h`, `1d`); at least 1 s, at most 7 d. */
export function parseInterval(value: string): number | undefined {
  const m = /^(\d{1,6})([smhd])$/.exec(value.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * UNITS[m[2]!]!;
  return ms >= 1000 && ms <= 7 * DAY_MS ? ms : undefined;
}
