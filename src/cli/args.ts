/** A small strict flag parser: unknown flags are errors. */
import { ConfigError } from "../core/errors.js";

export interface ParsedArgs {
  flags: Record<string, string | boolean>;
  positional: string[];
}

export function parseArgs(args: string[], spec: Record<string, "string" | "boolean">): ParsedArgs {
  const flags: Record<string, string | boolean> = {};
  const positional: string[] = [];
  const problems: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith("--")) {
      positional.push(a);
      continue;
    }
    const [key, inline] = a.slice(2).split("=", 2) as [string, string | undefined];
    const kind = spec[key];
    if (!kind)
      problems.push(
        `--${key}: unknown option (known: ${
          Object.keys(spec)
            .map((k) => `--${k}`)
            .join(", ") || "none"
        })`,
      );
    else if (kind === "boolean") flags[key] = true;
    else {
      const v = inline ?? args[++i];
      if (v === undefined) problems.push(`--${key}: needs a value`);
      else flags[key] = v;
    }
  }
  if (problems.length) throw new ConfigError(problems);
  return { flags, positional };
}

export function intFlag(
  flags: ParsedArgs["flags"],
  name: string,
  fallback: number,
  min = 1,
  max = 1_000_000,
): number {
  const v = flags[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== "string" || !/^\d+$/.test(v) || n < min || n > max) {
    throw new ConfigError([`--${name}: must be an integer from ${min} to ${max}`]);
  }
  return n;
}
