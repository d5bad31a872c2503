import { describe, expect, it } from "vitest";
import { ModeltapError } from "../../src/core/errors.js";
import { ROUTE_DEFAULTS, compileRouteConfig } from "../../src/core/route-config.js";
import { RouteResolver } from "../../src/core/route-resolver.js";
import { readMetadata } from "../../src/core/text-format.js";

/** Exactly what the real Envoy 1.40 sent as xds.route_metadata for a test route. */
const ENVOY_ROUTE_METADATA =
  'filter_metadata { key: "modeltap" value { fields { key: "labels" value { list_value { values { string_value: "a" } values { string_value: "b" } } } } fields { key: "model" value { string_value: "iris" } } fields { key: "nested" value { struct_value { fields { key: "x" value { bool_value: true } } } } } fields { key: "sample_rate" value { string_value: "0.25" } } fields { key: "task" value { string_value: "tabular_classification" } } fields { key: "version" value { string_value: "1" } } } } ';

const meta = (fields: string) => `filter_metadata { key: "modeltap" value { ${fields} } }`;
const str = (k: string, v: string) => `fields { key: "${k}" value { string_value: "${v}" } }`;

describe("text format (Envoy's printed Metadata)", () => {
  it("reads what the real Envoy sent", () => {
    expect(readMetadata(ENVOY_ROUTE_METADATA)).toEqual({
      modeltap: {
        labels: ["a", "b"],
        model: "iris",
        nested: { x: true },
        sample_rate: "0.25",
        task: "tabular_classification",
        version: "1",
      },
    });
  });

  it("reads the multi-line form, numbers, nulls, escapes and several namespaces", () => {
    const text = `filter_metadata {
  key: "a"
  value {
    fields { key: "n" value { number_value: 0.5 } }
    fields { key: "z" value { null_value: NULL_VALUE } }
    fields { key: "s" value { string_value: "q\\"uote\\\\ \\303\\251\\n" } }
  }
}
filter_metadata { key: "b" value { } }`;
    expect(readMetadata(text)).toEqual({ a: { n: 0.5, z: null, s: 'q"uote\\ é\n' }, b: {} });
    expect(readMetadata("")).toEqual({});
  });

  it.each(['filter_metadata { key: "a" value {', 'filter_metadata { key: "a', "filter_metadata ] "])(
    "rejects malformed input %j with a typed error",
    (text) => {
      expect(() => readMetadata(text)).toThrow(ModeltapError);
      try {
        readMetadata(text);
      } catch (err) {
        expect((err as ModeltapError).code).toBe("ROUTE_METADATA_UNPARSABLE");
      }
    },
  );
});

describe("compileRouteConfig", () => {
  it("is undefined without metadata, and applies defaults", () => {
    expect(compileRouteConfig(undefined)).toBeUndefined();
    expect(compileRouteConfig({ model: "m" })).toEqual({
      ok: true,
      config: {
        model: "m",
        version: ROUTE_DEFAULTS.version,
        task: "unknown",
        sampleRate: 1,
        maxBodyBytes: ROUTE_DEFAULTS.maxBodyBytes,
        maxDecodedBytes: ROUTE_DEFAULTS.maxDecodedBytes,
      },
    });
  });

  it("coerces Envoy's stringly numbers and numeric versions; overrides win key by key", () => {
    const r = compileRouteConfig(
      { model: "m", version: 2, sample_rate: "0.25", max_body_bytes: "4096" },
      { version: "canary" },
    );
    expect(r).toMatchObject({
      ok: true,
      config: { version: "canary", sampleRate: 0.25, maxBodyBytes: 4096 },
    });
  });

  it("reports every problem at once, naming each key", () => {
    const r = compileRouteConfig({ sample_rate: 1.5, colour: "red", task: "astrology", max_body_bytes: 0 });
    expect(r?.ok).toBe(false);
    const problems = r && !r.ok ? r.problems : [];
    expect(problems).toHaveLength(5);
    for (const key of ["model", "sample_rate", "colour", "task", "max_body_bytes"]) {
      expect(problems.some((p) => p.startsWith(`modeltap.${key}:`))).toBe(true);
    }
    expect(problems.find((p) => p.startsWith("modeltap.task"))).toContain("known: tabular_classification");
  });

  it("bounds max_body_bytes", () => {
    expect(compileRouteConfig({ model: "m", max_body_bytes: 64 * 1024 * 1024 })?.ok).toBe(true);
    expect(compileRouteConfig({ model: "m", max_body_bytes: 64 * 1024 * 1024 + 1 })?.ok).toBe(false);
  });
});

describe("RouteResolver", () => {
  it("compiles each distinct route metadata once and flags the first sighting", () => {
    const r = new RouteResolver();
    const text = meta(str("model", "iris") + str("sample_rate", "0.5"));
    const first = r.resolve(text, undefined);
    const second = r.resolve(text, undefined);
    expect(first.firstSeen).toBe(true);
    expect(second.firstSeen).toBe(false);
    expect(second.result).toBe(first.result);
    expect(first.result).toMatchObject({ ok: true, config: { model: "iris", sampleRate: 0.5 } });
  });

  it("returns undefined for routes without metadata and a problem for unparsable metadata", () => {
    const r = new RouteResolver();
    expect(r.resolve(undefined, undefined).result).toBeUndefined();
    expect(r.resolve('filter_metadata { key: "other" value { } }', undefined).result).toBeUndefined();
    const bad = r.resolve("filter_metadata {", undefined).result;
    expect(bad?.ok).toBe(false);
    expect(bad && !bad.ok && bad.problems[0]).toMatch(/^xds\.route_metadata: text format/);
  });

  it("applies dynamic overrides on top of the route", () => {
    const r = new RouteResolver();
    const res = r.resolve(meta(str("model", "iris") + str("version", "1")), { version: "7" }).result;
    expect(res).toMatchObject({ ok: true, config: { model: "iris", version: "7" } });
  });
});
