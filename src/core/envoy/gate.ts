/**
 * The sampling gate: Envoy decides which exchanges reach the collector, before any ext_proc stream
 * opens (docs/envoy.md, "The sampling gate").
 *
 * The modeltap ext_proc filter is wrapped in an ExtensionWithMatcher whose own matcher skips the
 * filter on every route (on_no_match: SkipFilter). Each captured route carries an
 * ExtensionWithMatcherPerRoute under the filter's name: it hashes x-request-id with Envoy's
 * consistent_hashing input matcher (XXH64(id, seed) % modulo >= threshold) and skips the filter
 * for the ids outside the sample. The collector's sampler is the same function with the same seed
 * (src/core/sampler.ts), so both sides take the same decision for every id.
 *
 * The route's `filter_metadata.modeltap.sample_rate` stays the one source of the rate: planGate
 * writes or refreshes every gate from it, checkGate reports every route where they disagree. Both
 * work on a parsed YAML document (the `yaml` library keeps comments and anchors), touch only the
 * modeltap filter and its per-route configs, and leave everything else as it was.
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type Node, type YAMLMap } from "yaml";
import { routeSampleRate } from "../route-config.js";
import { GATE_MARKER, SAMPLING_MODULO, samplingThreshold } from "../sampler.js";

const TYPE = "@type";
const API = "type.googleapis.com/envoy.";
export const GATE_TYPES = {
  extProc: `${API}extensions.filters.http.ext_proc.v3.ExternalProcessor`,
  extProcPerRoute: `${API}extensions.filters.http.ext_proc.v3.ExtProcPerRoute`,
  withMatcher: `${API}extensions.common.matching.v3.ExtensionWithMatcher`,
  withMatcherPerRoute: `${API}extensions.common.matching.v3.ExtensionWithMatcherPerRoute`,
  skip: `${API}extensions.filters.common.matcher.action.v3.SkipFilter`,
  headerInput: `${API}type.matcher.v3.HttpRequestHeaderMatchInput`,
  consistentHashing: `${API}extensions.matching.input_matchers.consistent_hashing.v3.ConsistentHashing`,
} as const;

export const DEFAULT_FILTER_NAME = "modeltap";

/** How a gated document is printed: no folding of long lines (Envoy configs have many). */
export const YAML_OUTPUT = { lineWidth: 0 } as const;

export interface GateOptions {
  /** The sampling seed, the collector's MODELTAP_SAMPLING_SEED. */
  readonly seed: bigint;
  /** The name of the modeltap ext_proc filter in http_filters (and of its per-route configs). */
  readonly filterName?: string;
}

/** One captured route's gate, as it should be or as it is. */
export interface RouteGate {
  readonly route: string;
  readonly sampleRate: number;
  readonly threshold: number;
}

export interface GatePlan {
  /** True when the document was changed. */
  readonly changed: boolean;
  /** What was done, one line each ("route iris: gate written (threshold 250000 of 1000000)"). */
  readonly changes: readonly string[];
  /** Captured routes and their gates, in document order. */
  readonly routes: readonly RouteGate[];
  /** What could not be done; when any, the document is left unchanged. */
  readonly problems: readonly string[];
}

type Obj = YAMLMap<unknown, unknown>;

function deref(doc: Document, node: unknown): unknown {
  return isAlias(node) ? node.resolve(doc) : node;
}

function get(doc: Document, map: unknown, key: string): unknown {
  const m = deref(doc, map);
  return isMap(m) ? deref(doc, m.get(key, true)) : undefined;
}

function str(doc: Document, map: unknown, key: string): string | undefined {
  const v = get(doc, map, key);
  if (isScalar(v) && (typeof v.value === "string" || typeof v.value === "number")) return String(v.value);
  return undefined;
}

function path(doc: Document, map: unknown, ...keys: (string | number)[]): unknown {
  let cur = deref(doc, map);
  for (const k of keys) {
    if (typeof k === "number") cur = isSeq(cur) ? deref(doc, cur.items[k]) : undefined;
    else cur = get(doc, cur, k);
    if (cur === undefined) return undefined;
  }
  return cur;
}

function toJs(doc: Document, node: unknown): unknown {
  const n = deref(doc, node);
  return n && typeof n === "object" && "toJS" in n ? (n as Node).toJS(doc) : n;
}

/** Every map in the document, once each, in document order (aliases followed once). */
function maps(doc: Document): Obj[] {
  const out: Obj[] = [];
  const seen = new Set<unknown>();
  const visit = (node: unknown): void => {
    const n = deref(doc, node);
    if (n === null || typeof n !== "object" || seen.has(n)) return;
    seen.add(n);
    if (isMap(n)) {
      out.push(n);
      for (const pair of n.items) visit(pair.value);
    } else if (isSeq(n)) for (const item of n.items) visit(item);
  };
  visit(doc.contents);
  return out;
}

/** The http_filters entries named `name`, each with its enclosing list. */
function filterEntries(
  doc: Document,
  name: string,
): { entries: Obj[]; extProcNames: string[]; chains: number } {
  const entries: Obj[] = [];
  const extProcNames: string[] = [];
  let chains = 0;
  const seen = new Set<unknown>();
  for (const m of maps(doc)) {
    const filters = get(doc, m, "http_filters");
    if (!isSeq(filters)) continue;
    chains++;
    // Two connection managers may share one list through an alias: its filters count once.
    if (seen.has(filters)) continue;
    seen.add(filters);
    for (const item of filters.items) {
      const f = deref(doc, item);
      if (!isMap(f)) continue;
      const fname = str(doc, f, "name");
      if (fname === name) entries.push(f);
      else if (str(doc, get(doc, f, "typed_config"), TYPE) === GATE_TYPES.extProc && fname)
        extProcNames.push(fname);
    }
  }
  return { entries, extProcNames, chains };
}

function routeName(doc: Document, route: unknown, vhost: string, index: number): string {
  return str(doc, route, "name") ?? `${vhost}[${index}]`;
}

interface RouteSite {
  readonly name: string;
  readonly route: Obj;
  readonly vhost: Obj;
  /** The route's modeltap metadata, when it has any. */
  readonly metadata: Record<string, unknown> | undefined;
}

/** Every route of every virtual host in the document (inline route_config or RouteConfiguration). */
function routes(doc: Document): RouteSite[] {
  const out: RouteSite[] = [];
  for (const m of maps(doc)) {
    const vhosts = get(doc, m, "virtual_hosts");
    if (!isSeq(vhosts)) continue;
    for (const v of vhosts.items) {
      const vhost = deref(doc, v);
      if (!isMap(vhost)) continue;
      const list = get(doc, vhost, "routes");
      if (!isSeq(list)) continue;
      list.items.forEach((r, i) => {
        const route = deref(doc, r);
        if (!isMap(route)) return;
        const meta = toJs(doc, path(doc, route, "metadata", "filter_metadata", "modeltap"));
        out.push({
          name: routeName(doc, route, str(doc, vhost, "name") ?? "virtual_host", i),
          route,
          vhost,
          metadata: meta && typeof meta === "object" ? (meta as Record<string, unknown>) : undefined,
        });
      });
    }
  }
  return out;
}

/** The per-route gate for a threshold: skip the filter when XXH64(x-request-id, seed) % modulo >= threshold. */
export function perRouteGate(threshold: number, seed: bigint): Record<string, unknown> {
  return {
    [TYPE]: GATE_TYPES.withMatcherPerRoute,
    xds_matcher: {
      matcher_list: {
        matchers: [
          {
            predicate: {
              single_predicate: {
                input: {
                  name: "x-request-id",
                  typed_config: { [TYPE]: GATE_TYPES.headerInput, header_name: "x-request-id" },
                },
                custom_match: {
                  name: "modeltap-sample",
                  typed_config: {
                    [TYPE]: GATE_TYPES.consistentHashing,
                    threshold,
                    modulo: SAMPLING_MODULO,
                    // A string: proto3 JSON takes uint64 as one, and YAML numbers past 2^53 lose digits.
                    seed: seed.toString(),
                  },
                },
              },
            },
            on_match: { action: { name: "skip", typed_config: { [TYPE]: GATE_TYPES.skip } } },
          },
        ],
      },
    },
  };
}

/** The filter-level matcher: no route matches it, so routes without a gate skip the filter. */
function filterMatcher(): Record<string, unknown> {
  return { on_no_match: { action: { name: "skip", typed_config: { [TYPE]: GATE_TYPES.skip } } } };
}

/** A gate as read back from a config: its threshold, modulo and seed, or why it is not a modeltap gate. */
export type ReadGate = { threshold: number; modulo: number; seed: string } | { foreign: string };

export function readGate(doc: Document, node: unknown): ReadGate {
  if (str(doc, node, TYPE) !== GATE_TYPES.withMatcherPerRoute) {
    return { foreign: `a ${str(doc, node, TYPE) ?? "config without @type"}` };
  }
  const matchers = path(doc, node, "xds_matcher", "matcher_list", "matchers");
  const only = isSeq(matchers) && matchers.items.length === 1 ? matchers.items[0] : undefined;
  const single = path(doc, only, "predicate", "single_predicate");
  const hashing = path(doc, single, "custom_match", "typed_config");
  const ok =
    str(doc, path(doc, single, "input", "typed_config"), TYPE) === GATE_TYPES.headerInput &&
    str(doc, path(doc, single, "input", "typed_config"), "header_name")?.toLowerCase() === "x-request-id" &&
    str(doc, hashing, TYPE) === GATE_TYPES.consistentHashing &&
    str(doc, path(doc, only, "on_match", "action", "typed_config"), TYPE) === GATE_TYPES.skip &&
    path(doc, node, "xds_matcher", "on_no_match") === undefined;
  if (!ok) return { foreign: "an ExtensionWithMatcherPerRoute that is not a modeltap gate" };
  return {
    threshold: Number(str(doc, hashing, "threshold") ?? 0),
    modulo: Number(str(doc, hashing, "modulo") ?? 0),
    seed: str(doc, hashing, "seed") ?? "0",
  };
}

/** True when the route's typed_per_filter_config is an alias, or anchored (so aliases elsewhere share it). */
function sharedPerFilter(route: Obj): boolean {
  const raw = route.get("typed_per_filter_config", true);
  return isAlias(raw) || (isMap(raw) && raw.anchor !== undefined);
}

function perFilter(doc: Document, owner: unknown, filterName: string): unknown {
  return path(doc, owner, "typed_per_filter_config", filterName);
}

function setPerFilter(doc: Document, owner: Obj, filterName: string, value: unknown): void {
  const configs = get(doc, owner, "typed_per_filter_config");
  if (value === undefined) {
    if (!isMap(configs)) return;
    configs.delete(filterName);
    if (configs.items.length === 0) owner.delete("typed_per_filter_config");
  } else {
    const node = compact(doc.createNode(value), doc);
    if (isMap(configs)) configs.set(filterName, node);
    else owner.set("typed_per_filter_config", doc.createNode({ [filterName]: node }));
  }
}

/** Writes a gate's leaves (input, custom_match, on_match) as one flow map each, ten lines a route. */
function compact(node: Node, doc: Document): Node {
  const matchers = path(doc, node, "xds_matcher", "matcher_list", "matchers");
  if (!isSeq(matchers)) return node;
  for (const m of matchers.items) {
    const single = path(doc, m, "predicate", "single_predicate");
    for (const leaf of [
      get(doc, single, "input"),
      get(doc, single, "custom_match"),
      get(doc, m, "on_match"),
    ]) {
      if (isMap(leaf)) leaf.flow = true;
    }
  }
  return node;
}

function sameJs(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Writes or refreshes the gate in `doc`, in place: wraps the modeltap ext_proc filter (or refreshes
 * its wrapper), and gives every route with modeltap metadata a gate at its sample_rate. A route
 * whose own ExtProcPerRoute holds `overrides` has it moved to its virtual host (Envoy allows one
 * per-route config per filter name and level) when every captured route there has the same one;
 * one with `disabled: true`, or a typed_per_filter_config shared through an anchor, is refused.
 * Idempotent: a gated document is left unchanged. When there are problems, nothing is changed.
 */
export function planGate(doc: Document, options: GateOptions): GatePlan {
  const name = options.filterName ?? DEFAULT_FILTER_NAME;
  const problems: string[] = [];
  const changes: string[] = [];
  const edits: (() => void)[] = [];
  const { entries, extProcNames, chains } = filterEntries(doc, name);
  if (entries.length === 0 && chains === 0) {
    changes.push(
      `no http_filters in this file: routes gated only (wrap the ${name} filter where it is defined, with modeltap envoy gate on that file)`,
    );
  } else if (entries.length === 0) {
    problems.push(
      extProcNames.length > 0
        ? `no http filter is named ${JSON.stringify(name)}; the ext_proc filters are named ${extProcNames.map((n) => JSON.stringify(n)).join(", ")} (pass --filter-name)`
        : `no http filter is named ${JSON.stringify(name)}: add the modeltap ext_proc filter first (docs/envoy.md)`,
    );
  }
  for (const entry of entries) planFilter(doc, entry, name, problems, changes, edits);

  const sites = routes(doc);
  const gates: RouteGate[] = [];
  const wanted = new Map<Obj, unknown>();
  for (const site of sites) {
    const current = perFilter(doc, site.route, name);
    if (!site.metadata) {
      const read = current === undefined ? undefined : readGate(doc, current);
      if (read && !("foreign" in read)) {
        changes.push(`route ${site.name}: gate removed (the route has no modeltap metadata)`);
        edits.push(() => setPerFilter(doc, site.route, name, undefined));
      }
      continue;
    }
    const rate = routeSampleRate(site.metadata);
    if (rate === undefined) {
      problems.push(
        `route ${site.name}: modeltap.sample_rate must be a number from 0 to 1, got ${JSON.stringify(site.metadata.sample_rate)}`,
      );
      continue;
    }
    const threshold = samplingThreshold(rate);
    gates.push({ route: site.name, sampleRate: rate, threshold });
    if (sharedPerFilter(site.route)) {
      problems.push(
        `route ${site.name}: its typed_per_filter_config is shared with other places through a YAML anchor; each route's gate is its own, so give the route a typed_per_filter_config of its own`,
      );
      continue;
    }
    const gate = perRouteGate(threshold, options.seed);
    if (current !== undefined && str(doc, current, TYPE) === GATE_TYPES.extProcPerRoute) {
      const own = toJs(doc, current) as Record<string, unknown>;
      if (own.disabled === true) {
        problems.push(
          `route ${site.name}: its ExtProcPerRoute says disabled: true but its modeltap metadata says sample_rate ${rate}; the metadata is the one source of the rate, so set sample_rate: 0 there (the gate then skips every exchange) or remove the metadata, and remove the ExtProcPerRoute`,
        );
        continue;
      }
      const moved = wanted.get(site.vhost);
      if (moved !== undefined && !sameJs(moved, own)) {
        problems.push(
          `route ${site.name}: its ExtProcPerRoute differs from another route's in the same virtual host; Envoy allows one per-route config per filter name and level, so give these routes virtual hosts of their own or merge the overrides by hand`,
        );
        continue;
      }
      wanted.set(site.vhost, own);
    } else if (current !== undefined) {
      const read = readGate(doc, current);
      if ("foreign" in read) {
        problems.push(
          `route ${site.name}: typed_per_filter_config.${name} holds ${read.foreign}; remove it or move it to the virtual host`,
        );
        continue;
      }
      if (sameJs(toJs(doc, current), gate)) continue;
    }
    changes.push(
      `route ${site.name}: gate ${current === undefined ? "written" : "refreshed"} (sample_rate ${rate}: threshold ${threshold} of ${SAMPLING_MODULO})`,
    );
    edits.push(() => setPerFilter(doc, site.route, name, gate));
  }
  planMoves(doc, sites, wanted, name, problems, changes, edits);
  if (problems.length > 0) return { changed: false, changes: [], routes: gates, problems };
  for (const edit of edits) edit();
  return { changed: edits.length > 0, changes, routes: gates, problems };
}

/** Wraps the ext_proc filter, or refreshes the wrapper's matcher and the gate marker. */
function planFilter(
  doc: Document,
  entry: Obj,
  name: string,
  problems: string[],
  changes: string[],
  edits: (() => void)[],
): void {
  const typed = get(doc, entry, "typed_config");
  const type = str(doc, typed, TYPE);
  let inner: unknown;
  if (type === GATE_TYPES.extProc) {
    inner = typed;
    changes.push(`filter ${name}: wrapped in an ExtensionWithMatcher that skips routes without a gate`);
    edits.push(() => {
      const wrapper = doc.createNode({ [TYPE]: GATE_TYPES.withMatcher }) as Obj;
      const ext = doc.createNode({ name }) as Obj;
      ext.set("typed_config", typed);
      wrapper.set("extension_config", ext);
      wrapper.set("xds_matcher", doc.createNode(filterMatcher()));
      entry.set("typed_config", wrapper);
    });
  } else if (type === GATE_TYPES.withMatcher) {
    inner = path(doc, typed, "extension_config", "typed_config");
    if (str(doc, inner, TYPE) !== GATE_TYPES.extProc) {
      problems.push(`filter ${name}: its ExtensionWithMatcher does not wrap an ext_proc ExternalProcessor`);
      return;
    }
    if (!sameJs(toJs(doc, get(doc, typed, "xds_matcher")), filterMatcher())) {
      changes.push(`filter ${name}: matcher reset to skip routes without a gate`);
      edits.push(() => (typed as Obj).set("xds_matcher", doc.createNode(filterMatcher())));
    }
  } else {
    problems.push(
      `filter ${name}: expected an ext_proc ExternalProcessor, found ${type ?? "no typed_config"}`,
    );
    return;
  }
  const service = get(doc, inner, "grpc_service");
  if (!isMap(service)) {
    problems.push(`filter ${name}: the ext_proc filter has no grpc_service`);
    return;
  }
  const metadata = get(doc, service, "initial_metadata");
  const marked =
    isSeq(metadata) &&
    metadata.items.some(
      (m) => str(doc, m, "key") === GATE_MARKER.key && str(doc, m, "value") === GATE_MARKER.value,
    );
  if (marked) return;
  changes.push(`filter ${name}: tells the collector its streams are gated (grpc_service.initial_metadata)`);
  edits.push(() => {
    if (isSeq(metadata)) metadata.add(doc.createNode({ ...GATE_MARKER }));
    else service.set("initial_metadata", doc.createNode([{ ...GATE_MARKER }]));
  });
}

/** Moves captured routes' ExtProcPerRoute overrides to their virtual hosts (see planGate). */
function planMoves(
  doc: Document,
  sites: readonly RouteSite[],
  wanted: ReadonlyMap<Obj, unknown>,
  name: string,
  problems: string[],
  changes: string[],
  edits: (() => void)[],
): void {
  for (const [vhost, config] of wanted) {
    const vname = str(doc, vhost, "name") ?? "virtual_host";
    const captured = sites.filter((s) => s.vhost === vhost && s.metadata);
    const without = captured.filter(
      (s) => str(doc, perFilter(doc, s.route, name), TYPE) !== GATE_TYPES.extProcPerRoute,
    );
    if (without.length > 0) {
      problems.push(
        `virtual host ${vname}: routes ${captured
          .filter((s) => !without.includes(s))
          .map((s) => s.name)
          .join(
            ", ",
          )} carry an ExtProcPerRoute that would apply to ${without.map((s) => s.name).join(", ")} too once moved to the virtual host; Envoy allows one per-route config per filter name and level, so give them virtual hosts of their own`,
      );
      continue;
    }
    const existing = perFilter(doc, vhost, name);
    if (existing !== undefined && !sameJs(toJs(doc, existing), config)) {
      problems.push(
        `virtual host ${vname}: already has a different typed_per_filter_config.${name}; merge its routes' ExtProcPerRoute into it by hand`,
      );
      continue;
    }
    changes.push(`virtual host ${vname}: holds the ExtProcPerRoute its captured routes carried`);
    if (existing === undefined) edits.unshift(() => setPerFilter(doc, vhost, name, config));
  }
}

/** The distinct seeds the document's modeltap gates hash with (as written, decimal). */
export function gateSeeds(doc: Document, filterName: string = DEFAULT_FILTER_NAME): string[] {
  const seeds = new Set<string>();
  for (const site of routes(doc)) {
    const current = perFilter(doc, site.route, filterName);
    const read = current === undefined ? undefined : readGate(doc, current);
    if (read && !("foreign" in read)) seeds.add(read.seed);
  }
  return [...seeds];
}

export interface GateCheck {
  readonly routes: readonly RouteGate[];
  /** Every disagreement, one line each; empty when the config is gated as its metadata says. */
  readonly problems: readonly string[];
}

/**
 * Reports every place where the gate and the metadata disagree: the filter not wrapped, a captured
 * route without its gate or with another threshold, a gate left on a route without metadata, and,
 * when `seed` is given, a gate hashing with another seed than the collector's.
 */
export function checkGate(doc: Document, options: { seed?: bigint; filterName?: string }): GateCheck {
  const name = options.filterName ?? DEFAULT_FILTER_NAME;
  const problems: string[] = [];
  const { entries, extProcNames, chains } = filterEntries(doc, name);
  if (entries.length === 0 && chains > 0) {
    problems.push(
      `no http filter is named ${JSON.stringify(name)}${extProcNames.length ? ` (ext_proc filters: ${extProcNames.join(", ")}; pass --filter-name)` : ""}`,
    );
  }
  for (const entry of entries) {
    const typed = get(doc, entry, "typed_config");
    if (str(doc, typed, TYPE) !== GATE_TYPES.withMatcher) {
      problems.push(
        `filter ${name}: not gated (not wrapped in an ExtensionWithMatcher); run modeltap envoy gate`,
      );
    } else if (!sameJs(toJs(doc, get(doc, typed, "xds_matcher")), filterMatcher())) {
      problems.push(`filter ${name}: its matcher does not skip routes without a gate`);
    }
  }
  const gates: RouteGate[] = [];
  for (const site of routes(doc)) {
    const current = perFilter(doc, site.route, name);
    const read = current === undefined ? undefined : readGate(doc, current);
    if (!site.metadata) {
      if (read && !("foreign" in read))
        problems.push(`route ${site.name}: has a gate but no modeltap metadata`);
      continue;
    }
    const rate = routeSampleRate(site.metadata);
    if (rate === undefined) {
      problems.push(`route ${site.name}: modeltap.sample_rate is not a number from 0 to 1`);
      continue;
    }
    const threshold = samplingThreshold(rate);
    gates.push({ route: site.name, sampleRate: rate, threshold });
    if (!read) problems.push(`route ${site.name}: no gate (sample_rate ${rate}); it is never captured`);
    else if ("foreign" in read) problems.push(`route ${site.name}: holds ${read.foreign} instead of a gate`);
    else if (read.modulo !== SAMPLING_MODULO || read.threshold !== threshold) {
      problems.push(
        `route ${site.name}: the gate samples ${read.threshold} of ${read.modulo}, the metadata says sample_rate ${rate} (${threshold} of ${SAMPLING_MODULO})`,
      );
    } else if (options.seed !== undefined && read.seed !== options.seed.toString()) {
      problems.push(`route ${site.name}: the gate's seed is not the collector's MODELTAP_SAMPLING_SEED`);
    }
  }
  return { routes: gates, problems };
}
