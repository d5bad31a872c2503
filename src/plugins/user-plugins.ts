/**
 * User plugins: ES modules named in MODELTAP_PLUGINS that export `parsers`, `converters` and/or
 * `scalers` arrays of plugin objects with the same shape as the built-ins (src/core/plugins.ts).
 * They join the same tables, so route metadata selects them by name like any other.
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import { ConfigError } from "../core/errors.js";
import type { PluginKind, PluginRegistry } from "./registry.js";

const REQUIRED: Record<PluginKind, string[]> = {
  parser: ["detect", "parse"],
  converter: ["convert"],
  scaler: ["toOriginal", "toModel"],
};
const EXPORTS: Record<string, PluginKind> = { parsers: "parser", converters: "converter", scalers: "scaler" };

export async function loadUserPlugins(
  registry: PluginRegistry,
  modules: readonly string[],
): Promise<string[]> {
  const problems: string[] = [];
  const loaded: string[] = [];
  for (const spec of modules) {
    const file = path.resolve(spec);
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
    } catch (err) {
      problems.push(`MODELTAP_PLUGINS: cannot load ${file}: ${(err as Error).message}`);
      continue;
    }
    const found = Object.keys(EXPORTS).filter((k) => Array.isArray(mod[k]));
    if (found.length === 0)
      problems.push(`MODELTAP_PLUGINS: ${file} exports none of parsers, converters, scalers`);
    for (const key of found) {
      const kind = EXPORTS[key]!;
      for (const [i, plugin] of (mod[key] as unknown[]).entries()) {
        const p = plugin as Record<string, unknown>;
        const missing = [
          "name",
          "description",
          ...REQUIRED[kind],
          ...(kind === "converter" ? ["tasks"] : []),
        ].filter((f) => p?.[f] === undefined);
        if (missing.length) {
          problems.push(`MODELTAP_PLUGINS: ${file} ${key}[${i}] lacks ${missing.join(", ")}`);
          continue;
        }
        try {
          registry.add(kind, plugin as never);
          loaded.push(`${kind} ${String(p.name)}`);
        } catch (err) {
          problems.push(`MODELTAP_PLUGINS: ${file} ${key}[${i}]: ${(err as Error).message}`);
        }
      }
    }
  }
  if (problems.length) throw new ConfigError(problems);
  return loaded;
}
