/**
 * Turns what Envoy sends about a route (the printed xds.route_metadata attribute) plus the
 * per-request dynamic metadata into a compiled RouteConfig. Route metadata is the same string for
 * every request on a route, so compiled results are cached by it, and by it plus the overrides.
 */
import { errorMessage } from "../errors.js";
import { compileRouteConfig, type PluginCatalog, type RouteConfigResult } from "../route-config.js";
import { readMetadata } from "./text-format.js";

export const NAMESPACE = "modeltap";
const CACHE_MAX = 1024;

export interface Resolution {
  /** undefined: the route carries no modeltap metadata and is not captured. */
  result: RouteConfigResult | undefined;
  /** True the first time this route metadata is seen (so an invalid one is logged once). */
  firstSeen: boolean;
  /** The route's own config, without the per-request overrides (the one Envoy's gate was written from). */
  route: RouteConfigResult | undefined;
}

/** Overrides longer than this (JSON) are compiled every time, not cached: a client's headers cannot fill the cache. */
const CACHED_OVERRIDES_MAX = 1024;

export class RouteResolver {
  private readonly cache = new Map<string, RouteConfigResult | undefined>();
  private readonly overridden = new Map<string, RouteConfigResult | undefined>();

  constructor(private readonly catalog: PluginCatalog) {}

  resolve(routeMetadataText: string | undefined, dynamic: Record<string, unknown> | undefined): Resolution {
    const text = routeMetadataText ?? "";
    let firstSeen = false;
    let base: RouteConfigResult | undefined;
    if (this.cache.has(text)) base = this.cache.get(text);
    else {
      firstSeen = true;
      base = this.compileRoute(text);
      if (this.cache.size >= CACHE_MAX) this.cache.delete(this.cache.keys().next().value!);
      this.cache.set(text, base);
    }
    if (!dynamic || Object.keys(dynamic).length === 0) return { result: base, firstSeen, route: base };
    // A version header on every request of a canary makes overrides as common as routes: they
    // are cached too, by the route's text and the overrides (bounded in count and in key size).
    const overrides = JSON.stringify(dynamic);
    if (overrides.length > CACHED_OVERRIDES_MAX) {
      return { result: this.compileOverridden(text, dynamic), firstSeen, route: base };
    }
    const key = `${text}\u0000${overrides}`;
    if (this.overridden.has(key)) return { result: this.overridden.get(key), firstSeen, route: base };
    const result = this.compileOverridden(text, dynamic);
    if (this.overridden.size >= CACHE_MAX) this.overridden.delete(this.overridden.keys().next().value!);
    this.overridden.set(key, result);
    return { result, firstSeen, route: base };
  }

  /** An unreadable route stays an error: overrides cannot repair it. */
  private compileOverridden(text: string, dynamic: Record<string, unknown>): RouteConfigResult | undefined {
    const route = text ? safeRead(text) : undefined;
    if (route && !route.ok) return { ok: false, problems: [route.problem] };
    return compileRouteConfig(this.catalog, route?.value, dynamic);
  }

  private compileRoute(text: string): RouteConfigResult | undefined {
    if (!text) return undefined;
    const route = safeRead(text);
    if (!route.ok) return { ok: false, problems: [route.problem] };
    return compileRouteConfig(this.catalog, route.value, undefined);
  }
}

function safeRead(
  text: string,
): { ok: true; value: Record<string, unknown> | undefined } | { ok: false; problem: string } {
  try {
    return { ok: true, value: readMetadata(text)[NAMESPACE] };
  } catch (err) {
    return { ok: false, problem: `xds.route_metadata: ${errorMessage(err)}` };
  }
}
