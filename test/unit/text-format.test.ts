/** src/core/capture/text-format.ts: the protobuf text-format reader behind the xds.route_metadata attribute. */
import { describe, expect, it } from "vitest";
import { ModeltapError } from "../../src/core/errors.js";
import { parseTextFormat, readMetadata } from "../../src/core/capture/text-format.js";
import { thrown } from "../support/errors.js";

/** Exactly what Envoy 1.40 sent as xds.route_metadata (note the trailing space). */
const ENVOY_1_40 =
  'filter_metadata { key: "modeltap" value { fields { key: "labels" value { list_value { values { string_value: "a" } values { string_value: "b" } } } } fields { key: "model" value { string_value: "iris" } } fields { key: "nested" value { struct_value { fields { key: "x" value { bool_value: true } } } } } fields { key: "sample_rate" value { string_value: "0.25" } } fields { key: "task" value { string_value: "tabular_classification" } } fields { key: "version" value { string_value: "1" } } } } ';

function expectUnparsable(src: string): ModeltapError {
  const err = thrown(ModeltapError, () => readMetadata(src));
  expect(err.code).toBe("ROUTE_METADATA_UNPARSABLE");
  return err;
}

describe("readMetadata", () => {
  it("reads the single-line form Envoy 1.40 sends", () => {
    expect(readMetadata(ENVOY_1_40)).toEqual({
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

  it("reads the multi-line pretty-printed form", () => {
    const pretty = `
filter_metadata {
  key: "modeltap"
  value {
    fields {
      key: "model"
      value {
        string_value: "iris"
      }
    }
    fields {
      key: "sample_rate"
      value {
        number_value: 0.25
      }
    }
  }
}
`;
    expect(readMetadata(pretty)).toEqual({ modeltap: { model: "iris", sample_rate: 0.25 } });
  });

  it("reads number_value, null_value and bool_value false", () => {
    const src =
      'filter_metadata { key: "m" value { ' +
      'fields { key: "int" value { number_value: 42 } } ' +
      'fields { key: "neg" value { number_value: -1.5 } } ' +
      'fields { key: "exp" value { number_value: 1e+06 } } ' +
      'fields { key: "nothing" value { null_value: NULL_VALUE } } ' +
      'fields { key: "off" value { bool_value: false } } ' +
      'fields { key: "empty_list" value { list_value { } } } } }';
    expect(readMetadata(src)).toEqual({
      m: { int: 42, neg: -1.5, exp: 1_000_000, nothing: null, off: false, empty_list: [] },
    });
  });

  it('unescapes strings: \\", \\\\, \\n, \\t and octal UTF-8 bytes', () => {
    const src = String.raw`filter_metadata { key: "m" value { fields { key: "s" value { string_value: "say \"hi\" C:\\dir\nnext\tcol caf\303\251" } } } }`;
    expect(readMetadata(src)).toEqual({ m: { s: 'say "hi" C:\\dir\nnext\tcol café' } });
  });

  it('decodes the octal escape \\303\\251 to "é" and hex escapes to bytes', () => {
    const src = String.raw`filter_metadata { key: "m" value { fields { key: "a" value { string_value: "\303\251" } } fields { key: "b" value { string_value: "\x41\x42" } } } }`;
    const out = readMetadata(src);
    expect(out.m?.a).toBe("é");
    expect(out.m?.b).toBe("AB");
  });

  it("reads several namespaces", () => {
    const src =
      'filter_metadata { key: "envoy.lb" value { fields { key: "canary" value { bool_value: true } } } } ' +
      'filter_metadata { key: "modeltap" value { fields { key: "model" value { string_value: "iris" } } } }';
    expect(readMetadata(src)).toEqual({ "envoy.lb": { canary: true }, modeltap: { model: "iris" } });
  });

  it("returns {} for an empty string, blank input and metadata without filter_metadata", () => {
    expect(readMetadata("")).toEqual({});
    expect(readMetadata("  \n ")).toEqual({});
    expect(readMetadata('typed_filter_metadata { key: "x" value { } }')).toEqual({});
  });

  it("rejects an unterminated brace with ROUTE_METADATA_UNPARSABLE", () => {
    const err = expectUnparsable('filter_metadata { key: "modeltap" value { fields { key: "model" ');
    expect(err.message).toMatch(/expected '}'/);
    // The real Envoy string with its last brace removed.
    expectUnparsable(ENVOY_1_40.trimEnd().slice(0, -1));
  });

  it("rejects an unterminated string with ROUTE_METADATA_UNPARSABLE", () => {
    const err = expectUnparsable('filter_metadata { key: "modeltap value { } }');
    expect(err.message).toMatch(/unterminated string/);
  });

  it("rejects other garbage with ROUTE_METADATA_UNPARSABLE", () => {
    expectUnparsable("{ }");
    expectUnparsable("filter_metadata key");
    expectUnparsable('filter_metadata { key: "a" } }');
  });

  it("reads a namespace with no fields as an empty object", () => {
    expect(readMetadata('filter_metadata { key: "b" value { } }')).toEqual({ b: {} });
  });
});

describe("parseTextFormat", () => {
  it("keeps repeated fields in order, with nested messages in either bracket style", () => {
    const msg = parseTextFormat('a: 1 b { c: "x" } a: 2 d < e: true >');
    expect(msg.fields.map(([n]) => n)).toEqual(["a", "b", "a", "d"]);
    expect(msg.fields[0]).toEqual(["a", 1]);
    expect(msg.fields[1]).toEqual(["b", { fields: [["c", "x"]] }]);
    expect(msg.fields[3]).toEqual(["d", { fields: [["e", true]] }]);
  });

  it("reads hex integers, f-suffixed floats, inf and nan as numbers", () => {
    const msg = parseTextFormat("a: 0x1f b: -0x10 c: 1.5f d: inf e: -infinity f: nan g: 1e3 h: word");
    expect(msg.fields).toEqual([
      ["a", 31],
      ["b", -16],
      ["c", 1.5],
      ["d", Infinity],
      ["e", -Infinity],
      ["f", NaN],
      ["g", 1000],
      ["h", "word"],
    ]);
  });

  it("concatenates adjacent string literals and skips comments", () => {
    const msg = parseTextFormat("# a comment\ns: \"ab\" 'cd' # trailing\n");
    expect(msg.fields).toEqual([["s", "abcd"]]);
  });
});
