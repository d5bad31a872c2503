/** src/core/capture/route-resolver.ts: RouteResolver caches by metadata text, reports firstSeen, unparsable text, dynamic overrides. */
import { describe, expect, it } from "vitest";
import { RouteResolver } from "../../src/core/capture/route-resolver.js";
import { emptyCatalog, routeMetadataText, validConfig } from "../support/routes.js";

const catalog = emptyCatalog();

const IRIS = routeMetadataText({ model: "iris", version: "1", sample_rate: "0.25" });

describe("RouteResolver", () => {
  it("compiles route metadata and reports firstSeen only the first time per distinct text", () => {
    const r = new RouteResolver(catalog);
    const first = r.resolve(IRIS, undefined);
    expect(first.firstSeen).toBe(true);
    expect(validConfig(first.result)).toMatchObject({ model: "iris", version: "1", sampleRate: 0.25 });

    const second = r.resolve(IRIS, undefined);
    expect(second.firstSeen).toBe(false);
    expect(second.result).toBe(first.result); // cached, not recompiled

    const other = routeMetadataText({ model: "resnet" });
    expect(r.resolve(other, undefined).firstSeen).toBe(true);
    expect(r.resolve(other, undefined).firstSeen).toBe(false);
    expect(r.resolve(IRIS, undefined).firstSeen).toBe(false);
    // An empty dynamic object is the same as none.
    expect(r.resolve(IRIS, {}).firstSeen).toBe(false);
  });

  it("keeps firstSeen per resolver instance", () => {
    expect(new RouteResolver(catalog).resolve(IRIS, undefined).firstSeen).toBe(true);
    expect(new RouteResolver(catalog).resolve(IRIS, undefined).firstSeen).toBe(true);
  });

  it("returns no result for a route without modeltap metadata", () => {
    const r = new RouteResolver(catalog);
    expect(r.resolve(undefined, undefined).result).toBeUndefined();
    expect(r.resolve("", undefined).result).toBeUndefined();
    expect(r.resolve(routeMetadataText({ canary: "true" }, "envoy.lb"), undefined).result).toBeUndefined();
  });

  it("turns unparsable text into ok false with one problem, first seen once", () => {
    const r = new RouteResolver(catalog);
    const bad = 'filter_metadata { key: "modeltap" value { ';
    const first = r.resolve(bad, undefined);
    expect(first.firstSeen).toBe(true);
    expect(first.result?.ok).toBe(false);
    if (first.result && !first.result.ok) {
      expect(first.result.problems).toHaveLength(1);
      expect(first.result.problems[0]).toMatch(/^xds\.route_metadata: text format: /);
    }
    expect(r.resolve(bad, undefined).firstSeen).toBe(false);
  });

  it("reports invalid route metadata as problems", () => {
    const result = new RouteResolver(catalog).resolve(
      routeMetadataText({ sample_rate: "2" }),
      undefined,
    ).result;
    expect(result?.ok).toBe(false);
    if (result && !result.ok) {
      expect(result.problems.some((p) => p.startsWith("modeltap.model:"))).toBe(true);
      expect(result.problems.some((p) => p.startsWith("modeltap.sample_rate:"))).toBe(true);
    }
  });

  it("applies dynamic overrides on top of the route, without touching the cached result", () => {
    const r = new RouteResolver(catalog);
    const base = validConfig(r.resolve(IRIS, undefined).result);
    const over = r.resolve(IRIS, { sample_rate: 1, version: "canary" });
    expect(over.firstSeen).toBe(false);
    expect(validConfig(over.result)).toMatchObject({ model: "iris", version: "canary", sampleRate: 1 });
    // The next request without overrides gets the route's own settings again.
    expect(validConfig(r.resolve(IRIS, undefined).result)).toBe(base);
    expect(base.sampleRate).toBe(0.25);
  });

  it("caches a route with overrides by its text and the overrides: a canary's version header compiles once", () => {
    const r = new RouteResolver(catalog);
    const first = r.resolve(IRIS, { version: "canary" }).result;
    expect(r.resolve(IRIS, { version: "canary" }).result).toBe(first);
    const other = r.resolve(IRIS, { version: "canary-2" }).result;
    expect(other).not.toBe(first);
    expect(validConfig(other).version).toBe("canary-2");
    expect(validConfig(r.resolve(IRIS, { version: "canary" }).result).version).toBe("canary");
  });

  it("does not cache overrides past 1 KB of JSON, so a client's headers cannot fill the cache", () => {
    const r = new RouteResolver(catalog);
    const big = { version: "v".repeat(2000) };
    const first = r.resolve(IRIS, big);
    expect(validConfig(first.result).version).toBe(big.version);
    expect(r.resolve(IRIS, big).result).not.toBe(first.result);
    expect(validConfig(first.route).sampleRate).toBe(0.25);
  });

  it("keeps unreadable route metadata an error when overrides are present", () => {
    const result = new RouteResolver(catalog).resolve('filter_metadata { key: "modeltap" value { ', {
      sample_rate: 1,
    }).result;
    expect(result?.ok).toBe(false);
    if (result && !result.ok) expect(result.problems[0]).toMatch(/^xds\.route_metadata: /);
  });

  it("validates overrides too", () => {
    const r = new RouteResolver(catalog);
    const result = r.resolve(IRIS, { sample_rate: "lots" }).result;
    expect(result?.ok).toBe(false);
    if (result && !result.ok) expect(result.problems[0]).toMatch(/^modeltap\.sample_rate:/);
  });

  it("evicts the oldest entry once 1024 distinct texts are cached", () => {
    const r = new RouteResolver(catalog);
    const first = routeMetadataText({ model: "m-0" });
    r.resolve(first, undefined);
    for (let i = 1; i < 1024; i++) r.resolve(routeMetadataText({ model: `m-${i}` }), undefined);
    expect(r.resolve(first, undefined).firstSeen).toBe(false); // 1024 entries: still cached
    r.resolve(routeMetadataText({ model: "m-1024" }), undefined); // first in, first out: m-0 goes
    expect(r.resolve(first, undefined).firstSeen).toBe(true);
  });
});
