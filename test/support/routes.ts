/** Route configuration for tests: a catalog with no plugins, metadata as Envoy prints it, compiled configs. */
import type { PluginCatalog, RouteConfig, RouteConfigResult } from "../../src/core/route-config.js";

/** A plugin catalog with nothing in it, for tests of what needs no parser, converter or scaler. */
export function emptyCatalog(): PluginCatalog {
  return { parsers: new Map(), converters: new Map(), scalers: new Map(), defaultConverter: () => undefined };
}

/** Route metadata of string fields, printed the way Envoy prints xds.route_metadata. */
export function routeMetadataText(fields: Record<string, string>, namespace = "modeltap"): string {
  const f = Object.entries(fields)
    .map(([k, v]) => `fields { key: ${JSON.stringify(k)} value { string_value: ${JSON.stringify(v)} } }`)
    .join(" ");
  return `filter_metadata { key: ${JSON.stringify(namespace)} value { ${f} } } `;
}

/** The config a compile produced; throws (failing the test) when there was none or it had problems. */
export function validConfig(result: RouteConfigResult | undefined): RouteConfig {
  if (!result?.ok) throw new Error(`expected a valid config, got ${JSON.stringify(result)}`);
  return result.config;
}
