/**
 * The worker's side of monitoring: the partial profiles of the captures one transaction inserted,
 * one per (model, version, minute of received_at). Never throws for a capture: one that cannot be
 * profiled is counted in `errors` (its observations up to the fault stay), so a profile can never
 * fail a batch.
 */
import type { CaptureRow } from "../ports.js";
import type { ObserveOptions } from "./fields.js";
import { Profile, type BinPlan } from "./profile.js";
import type { PartialProfile } from "./store.js";

export { MINUTE_MS } from "../monitor-settings.js";
import { MINUTE_MS } from "../monitor-settings.js";

export function minuteOf(d: Date): Date {
  return new Date(Math.floor(d.getTime() / MINUTE_MS) * MINUTE_MS);
}

export function partialProfiles(
  rows: readonly CaptureRow[],
  planFor: (model: string, version: string) => BinPlan | null,
  opts: ObserveOptions,
): { partials: PartialProfile[]; errors: number } {
  const groups = new Map<string, { model: string; version: string; minute: Date; profile: Profile }>();
  let errors = 0;
  for (const row of rows) {
    const minute = minuteOf(row.receivedAt);
    const key = JSON.stringify([row.model, row.version, minute.getTime()]);
    let g = groups.get(key);
    if (!g) {
      g = {
        model: row.model,
        version: row.version,
        minute,
        profile: new Profile(planFor(row.model, row.version)),
      };
      groups.set(key, g);
    }
    try {
      g.profile.addCapture(row, opts);
    } catch {
      // observeCapture does not throw on odd input (fields.ts); this is the last resort.
      errors += 1;
    }
  }
  const partials = [...groups.values()]
    .filter((g) => g.profile.captures > 0)
    .map((g) => ({
      model: g.model,
      version: g.version,
      minute: g.minute,
      captures: g.profile.captures,
      profile: g.profile.toJSON(),
    }));
  return { partials, errors };
}
