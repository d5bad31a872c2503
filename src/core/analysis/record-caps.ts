/**
 * What an analysis may add to a capture record. The analysis JSON of a tabular batch is 10 to 30
 * times the size of its bodies, and a parse error listing every failed instance grows with the
 * batch; both are capped per route (max_analysis_bytes, max_parse_error_chars), and a capped record
 * says so: `over_budget: ["analysis_bytes"]` on the analysis, a closing marker on the parse error.
 */
import type { Analysis } from "../canonical.js";

/** Instance errors kept word for word per exchange; the rest are only counted. */
export const MAX_INSTANCE_ERRORS = 20;

/** The over_budget name of the max_analysis_bytes cap. */
export const ANALYSIS_BYTES_BUDGET = "analysis_bytes";

/** The errors of one exchange's instances: the first MAX_INSTANCE_ERRORS kept, the rest counted. */
export class InstanceErrors {
  private readonly kept: string[] = [];
  private unsaid = 0;

  push(message: string): void {
    if (this.kept.length < MAX_INSTANCE_ERRORS) this.kept.push(message);
    else this.unsaid++;
  }

  text(): string {
    const more = this.unsaid ? [`… and ${this.unsaid} more errors like these`] : [];
    return [...this.kept, ...more].join("; ");
  }
}

/** The parse error within maxChars, ending in a marker that says how much was cut. */
export function capParseError(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  let keep = maxChars;
  for (;;) {
    const marker = ` … [${text.length - keep} more characters cut at max_parse_error_chars]`;
    if (marker.length >= maxChars) return text.slice(0, maxChars);
    if (keep + marker.length <= maxChars) {
      // Never split a surrogate pair: the record carries the error as UTF-8.
      const code = text.charCodeAt(keep - 1);
      const head = code >= 0xd800 && code <= 0xdbff ? text.slice(0, keep - 1) : text.slice(0, keep);
      return head + marker;
    }
    keep = maxChars - marker.length;
  }
}

/**
 * The analysis as UTF-8 JSON of at most maxBytes: whole while it fits, else its first instances
 * that fit, flagged `over_budget: ["analysis_bytes"]`. Instances are serialised one at a time, so a
 * cut analysis never costs more than the budget plus one instance.
 */
export function encodeAnalysis(analysis: Analysis, maxBytes: number): { json: Uint8Array; cut: boolean } {
  const whole = { ...analysis, instances: [] };
  const flagged = { ...whole, over_budget: [...(analysis.over_budget ?? []), ANALYSIS_BYTES_BUDGET].sort() };
  // Room for the flag, whether or not it is needed, so a cut analysis still fits.
  let bytes = Buffer.byteLength(JSON.stringify(flagged));
  const parts: string[] = [];
  for (const instance of analysis.instances) {
    const s = JSON.stringify(instance);
    bytes += Buffer.byteLength(s) + (parts.length > 0 ? 1 : 0);
    if (bytes > maxBytes) break;
    parts.push(s);
  }
  const cut = parts.length < analysis.instances.length;
  const envelope = JSON.stringify(cut ? flagged : whole);
  // The first "instances":[] is the top-level key: it follows only numbers and escaped strings.
  const json = envelope.replace('"instances":[]', () => `"instances":[${parts.join(",")}]`);
  return { json: Buffer.from(json), cut };
}
