/** src/core/envoy/gate.ts: planGate writes and refreshes the sampling gate from route metadata; checkGate finds every disagreement. */
import fs from "node:fs";
import path from "node:path";
import { parse, parseDocument } from "yaml";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/config.js";
import { checkGate, GATE_TYPES, gateSeeds, planGate, YAML_OUTPUT } from "../../src/core/envoy/gate.js";
import { GATE_MARKER, SAMPLING_MODULO } from "../../src/core/sampler.js";

const SHIPPED = fs.readFileSync(path.join(PACKAGE_ROOT, "envoy", "envoy.yaml"), "utf8");
const SEED = 0x5eedn;

/** A user's config: other filters with per-route configs of their own, an RDS-style layout, comments. */
const USER = `# production edge
static_resources:
  listeners:
    - name: edge
      address: { socket_address: { address: 0.0.0.0, port_value: 8080 } }
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: edge
                route_config:
                  name: main
                  virtual_hosts:
                    - name: models
                      domains: ["models.example.com"]
                      routes:
                        # the fraud model, sampled at 30 %
                        - name: fraud
                          match: { prefix: "/v2/models/fraud/" }
                          route: { cluster: models }
                          metadata:
                            filter_metadata:
                              modeltap: { model: fraud, task: tabular_classification, sample_rate: "0.3" }
                          typed_per_filter_config:
                            envoy.filters.http.cors:
                              "@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy
                              allow_origin_string_match: [{ exact: "https://app.example.com" }]
                        - name: health
                          match: { path: "/healthz" }
                          direct_response: { status: 200 }
                          typed_per_filter_config:
                            envoy.filters.http.ext_authz:
                              "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute
                              disabled: true
                        - name: ranker
                          match: { prefix: "/v1/models/ranker" }
                          route: { cluster: models }
                          metadata: { filter_metadata: { modeltap: { model: ranker } } }
                http_filters:
                  - name: envoy.filters.http.cors
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors
                  - name: envoy.filters.http.ext_authz
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz
                      grpc_service: { envoy_grpc: { cluster_name: authz } }
                  - name: modeltap
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor
                      grpc_service: { envoy_grpc: { cluster_name: modeltap_collector } } # the collector
                      observability_mode: true
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
`;

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function gated(text: string, seed = SEED): { text: string; changes: readonly string[] } {
  const doc = parseDocument(text);
  const plan = planGate(doc, { seed });
  expect(plan.problems).toEqual([]);
  return { text: doc.toString(YAML_OUTPUT), changes: plan.changes };
}

function problems(text: string, seed?: bigint): readonly string[] {
  return checkGate(parseDocument(text), seed === undefined ? {} : { seed }).problems;
}

function routesOf(text: string): Json[] {
  return (parse(text) as Json).static_resources.listeners[0].filter_chains[0].filters[0].typed_config
    .route_config.virtual_hosts[0].routes as Json[];
}

function hashingOf(route: Json): Json {
  return route.typed_per_filter_config.modeltap.xds_matcher.matcher_list.matchers[0].predicate
    .single_predicate.custom_match.typed_config as Json;
}

describe("planGate", () => {
  it("leaves the shipped envoy/envoy.yaml as it is: every captured route gated at its sample_rate with seed 0", () => {
    const doc = parseDocument(SHIPPED);
    const plan = planGate(doc, { seed: 0n });
    expect(plan.problems).toEqual([]);
    expect(plan.changed).toBe(false);
    expect(plan.routes.find((r) => r.route === "sentiment")).toEqual({
      route: "sentiment",
      sampleRate: 0.25,
      threshold: 250_000,
    });
    expect(plan.routes.find((r) => r.route === "bench-s0")!.threshold).toBe(0);
    expect(checkGate(parseDocument(SHIPPED), { seed: 0n }).problems).toEqual([]);
  });

  it("wraps the filter and gates each captured route of a user's config, keeping other filters, their per-route configs and comments", () => {
    const { text, changes } = gated(USER);
    expect(changes).toContain("route fraud: gate written (sample_rate 0.3: threshold 300000 of 1000000)");
    const [fraud, health, ranker] = routesOf(text);
    expect(hashingOf(fraud!)).toEqual({
      "@type": GATE_TYPES.consistentHashing,
      threshold: 300_000,
      modulo: SAMPLING_MODULO,
      seed: SEED.toString(),
    });
    expect(hashingOf(ranker!).threshold).toBe(SAMPLING_MODULO); // no sample_rate: the default, 1
    expect(fraud!.typed_per_filter_config["envoy.filters.http.cors"]).toBeDefined();
    expect(health!.typed_per_filter_config).toEqual((routesOf(USER)[1] as Json).typed_per_filter_config);
    const filters = (parse(text) as Json).static_resources.listeners[0].filter_chains[0].filters[0]
      .typed_config.http_filters as Json[];
    expect(filters.map((f) => f.name)).toEqual([
      "envoy.filters.http.cors",
      "envoy.filters.http.ext_authz",
      "modeltap",
      "envoy.filters.http.router",
    ]);
    const wrapper = filters[2]!.typed_config as Json;
    expect(wrapper["@type"]).toBe(GATE_TYPES.withMatcher);
    expect(wrapper.extension_config.typed_config.observability_mode).toBe(true);
    expect(wrapper.extension_config.typed_config.grpc_service.initial_metadata).toEqual([{ ...GATE_MARKER }]);
    expect(wrapper.xds_matcher.on_no_match.action.typed_config["@type"]).toBe(GATE_TYPES.skip);
    expect(filters[1]).toEqual(
      (parse(USER) as Json).static_resources.listeners[0].filter_chains[0].filters[0].typed_config
        .http_filters[1],
    );
    for (const comment of ["# production edge", "# the fraud model, sampled at 30 %", "# the collector"]) {
      expect(text).toContain(comment);
    }
    expect(problems(text, SEED)).toEqual([]);
  });

  it("is idempotent: a gated config is unchanged, byte for byte", () => {
    const once = gated(USER).text;
    const doc = parseDocument(once);
    const plan = planGate(doc, { seed: SEED });
    expect(plan.changed).toBe(false);
    expect(plan.changes).toEqual([]);
    expect(doc.toString(YAML_OUTPUT)).toBe(once);
  });

  it("refreshes a stale gate after sample_rate changes, and a new seed", () => {
    const stale = gated(USER).text.replace('sample_rate: "0.3"', 'sample_rate: "0.05"');
    expect(problems(stale, SEED)).toEqual([
      "route fraud: the gate samples 300000 of 1000000, the metadata says sample_rate 0.05 (50000 of 1000000)",
    ]);
    const fresh = gated(stale, 42n);
    expect(fresh.changes).toEqual([
      "route fraud: gate refreshed (sample_rate 0.05: threshold 50000 of 1000000)",
      "route ranker: gate refreshed (sample_rate 1: threshold 1000000 of 1000000)",
    ]);
    expect(hashingOf(routesOf(fresh.text)[0]!)).toMatchObject({ threshold: 50_000, seed: "42" });
    expect(problems(fresh.text, 42n)).toEqual([]);
    expect(problems(fresh.text, SEED)).toEqual([
      "route fraud: the gate's seed is not the collector's MODELTAP_SAMPLING_SEED",
      "route ranker: the gate's seed is not the collector's MODELTAP_SAMPLING_SEED",
    ]);
    expect(problems(fresh.text)).toEqual([]); // no seed given: the seed is not checked
  });

  it("removes the gate of a route whose metadata is gone", () => {
    const text = gated(USER).text.replace(
      "metadata: { filter_metadata: { modeltap: { model: ranker } } }",
      "metadata: { filter_metadata: { other: { x: 1 } } }",
    );
    expect(problems(text)).toEqual(["route ranker: has a gate but no modeltap metadata"]);
    const fresh = gated(text);
    expect(fresh.changes).toEqual(["route ranker: gate removed (the route has no modeltap metadata)"]);
    expect(routesOf(fresh.text)[2]!.typed_per_filter_config).toBeUndefined();
  });

  it("moves a captured route's ExtProcPerRoute to its virtual host when every captured route there has the same one", () => {
    const override =
      '{ "@type": type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute, overrides: { failure_mode_allow: true } }';
    const both = USER.replace(
      "metadata: { filter_metadata: { modeltap: { model: ranker } } }",
      `metadata: { filter_metadata: { modeltap: { model: ranker } } }\n                          typed_per_filter_config: { modeltap: ${override} }`,
    ).replace(
      "                            envoy.filters.http.cors:\n",
      `                            modeltap: ${override}\n                            envoy.filters.http.cors:\n`,
    );
    const { text, changes } = gated(both);
    expect(changes).toContain("virtual host models: holds the ExtProcPerRoute its captured routes carried");
    const vhost = (parse(text) as Json).static_resources.listeners[0].filter_chains[0].filters[0].typed_config
      .route_config.virtual_hosts[0] as Json;
    expect(vhost.typed_per_filter_config.modeltap).toEqual({
      "@type": GATE_TYPES.extProcPerRoute,
      overrides: { failure_mode_allow: true },
    });
    expect(routesOf(text)[0]!.typed_per_filter_config.modeltap["@type"]).toBe(GATE_TYPES.withMatcherPerRoute);
    expect(problems(text)).toEqual([]);

    // Only one captured route carries it: moving it would change the other's.
    const one = USER.replace(
      "metadata: { filter_metadata: { modeltap: { model: ranker } } }",
      `metadata: { filter_metadata: { modeltap: { model: ranker } } }\n                          typed_per_filter_config: { modeltap: ${override} }`,
    );
    const doc = parseDocument(one);
    const plan = planGate(doc, { seed: SEED });
    expect(plan.problems).toEqual([
      "virtual host models: routes ranker carry an ExtProcPerRoute that would apply to fraud too once moved to the virtual host; Envoy allows one per-route config per filter name and level, so give them virtual hosts of their own",
    ]);
    expect(plan.changed).toBe(false);
    expect(doc.toString(YAML_OUTPUT)).toBe(parseDocument(one).toString(YAML_OUTPUT));
  });

  it("refuses a route whose ExtProcPerRoute says disabled: true while its metadata samples: the metadata is the one source", () => {
    const text = USER.replace(
      "metadata: { filter_metadata: { modeltap: { model: ranker } } }",
      'metadata: { filter_metadata: { modeltap: { model: ranker } } }\n                          typed_per_filter_config: { modeltap: { "@type": type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExtProcPerRoute, disabled: true } }',
    );
    const plan = planGate(parseDocument(text), { seed: SEED });
    expect(plan.changed).toBe(false);
    expect(plan.problems).toEqual([
      "route ranker: its ExtProcPerRoute says disabled: true but its modeltap metadata says sample_rate 1; the metadata is the one source of the rate, so set sample_rate: 0 there (the gate then skips every exchange) or remove the metadata, and remove the ExtProcPerRoute",
    ]);
  });

  it("refuses a typed_per_filter_config shared through a YAML anchor, which would give every sharer one route's gate", () => {
    const shared = USER.replace(
      "                          typed_per_filter_config:\n                            envoy.filters.http.cors:",
      "                          typed_per_filter_config: &common\n                            envoy.filters.http.cors:",
    ).replace(
      "metadata: { filter_metadata: { modeltap: { model: ranker } } }",
      "metadata: { filter_metadata: { modeltap: { model: ranker } } }\n                          typed_per_filter_config: *common",
    );
    const doc = parseDocument(shared);
    expect(doc.errors).toEqual([]);
    const plan = planGate(doc, { seed: SEED });
    expect(plan.problems).toEqual([
      "route fraud: its typed_per_filter_config is shared with other places through a YAML anchor; each route's gate is its own, so give the route a typed_per_filter_config of its own",
      "route ranker: its typed_per_filter_config is shared with other places through a YAML anchor; each route's gate is its own, so give the route a typed_per_filter_config of its own",
    ]);
    expect(plan.changed).toBe(false);
  });

  it("wraps a filter list shared by two connection managers once, and reads the gates' seeds back", () => {
    const two = USER.replace(
      "                http_filters:\n",
      "                http_filters: &filters\n",
    ).replace(
      "static_resources:\n  listeners:\n",
      `static_resources:\n  listeners:\n    - name: second\n      filter_chains:\n        - filters:\n            - name: envoy.filters.network.http_connection_manager\n              typed_config:\n                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager\n                stat_prefix: second\n                rds: { route_config_name: main }\n                http_filters: *filters\n`,
    );
    // The alias comes first in the document: move the anchored listener before it.
    const doc = parseDocument(
      two.replace(/( {4}- name: second[\s\S]*?http_filters: \*filters\n)([\s\S]*)/, "$2$1"),
    );
    expect(doc.errors).toEqual([]);
    const plan = planGate(doc, { seed: SEED });
    expect(plan.problems).toEqual([]);
    expect(plan.changes.filter((c) => c.startsWith("filter modeltap: wrapped"))).toHaveLength(1);
    const out = doc.toString(YAML_OUTPUT);
    expect(out.match(/x-modeltap-gate/g)).toHaveLength(1);
    const listeners = (parse(out) as Json).static_resources.listeners as Json[];
    expect(listeners.map((l) => l.name)).toEqual(["edge", "second"]);
    for (const l of listeners) {
      const filters = l.filter_chains[0].filters[0].typed_config.http_filters as Json[];
      expect(filters.find((f) => f.name === "modeltap")!.typed_config["@type"]).toBe(GATE_TYPES.withMatcher);
    }
    expect(gateSeeds(parseDocument(out))).toEqual([SEED.toString()]);
    expect(gateSeeds(parseDocument(USER))).toEqual([]);
  });

  it("refuses, changing nothing, a bad sample_rate, a foreign per-route config, or no filter of that name", () => {
    const bad = USER.replace('sample_rate: "0.3"', 'sample_rate: "lots"');
    expect(planGate(parseDocument(bad), { seed: SEED }).problems).toEqual([
      'route fraud: modeltap.sample_rate must be a number from 0 to 1, got "lots"',
    ]);
    const renamed = USER.replace("- name: modeltap\n", "- name: capture\n");
    expect(planGate(parseDocument(renamed), { seed: SEED }).problems).toEqual([
      'no http filter is named "modeltap"; the ext_proc filters are named "capture" (pass --filter-name)',
    ]);
    expect(planGate(parseDocument(renamed), { seed: SEED, filterName: "capture" }).problems).toEqual([]);
    const foreign = USER.replace(
      "                            envoy.filters.http.cors:\n",
      '                            modeltap: { "@type": type.googleapis.com/envoy.extensions.filters.http.lua.v3.LuaPerRoute, disabled: true }\n                            envoy.filters.http.cors:\n',
    );
    expect(planGate(parseDocument(foreign), { seed: SEED }).problems).toEqual([
      "route fraud: typed_per_filter_config.modeltap holds a type.googleapis.com/envoy.extensions.filters.http.lua.v3.LuaPerRoute; remove it or move it to the virtual host",
    ]);
  });

  it("gates a routes-only file (RDS) and says the filter is wrapped elsewhere", () => {
    const rds = `virtual_hosts:\n  - name: models\n    domains: ["*"]\n    routes:\n      - match: { prefix: "/" }\n        route: { cluster: models }\n        metadata: { filter_metadata: { modeltap: { model: m, sample_rate: 0.5 } } }\n`;
    const out = gated(rds);
    expect(out.changes[0]).toMatch(/^no http_filters in this file: routes gated only/);
    expect(out.changes[1]).toBe(
      "route models[0]: gate written (sample_rate 0.5: threshold 500000 of 1000000)",
    );
    expect(problems(out.text)).toEqual([]);
  });
});

describe("checkGate", () => {
  it("reports an ungated config: the filter not wrapped, and each captured route never captured", () => {
    expect(problems(USER)).toEqual([
      "filter modeltap: not gated (not wrapped in an ExtensionWithMatcher); run modeltap envoy gate",
      "route fraud: no gate (sample_rate 0.3); it is never captured",
      "route ranker: no gate (sample_rate 1); it is never captured",
    ]);
  });

  it("reports a filter matcher that would run routes without a gate", () => {
    const text = gated(USER).text.replace(/on_no_match:\n(\s+)action:/, (m) =>
      m.replace("on_no_match", "on_no_match_removed"),
    );
    expect(text).toContain("on_no_match_removed");
    expect(problems(text)).toEqual(["filter modeltap: its matcher does not skip routes without a gate"]);
  });
});
