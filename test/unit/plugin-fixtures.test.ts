/**
 * Every built-in plugin of src/plugins/ (parsers, converters, scalers), table-driven: every case in
 * test/fixtures/<kind>/<plugin>/<case>.in.json has an .out.json with the expected result
 * ({"error": "..."} for expected failures). Every registered plugin must have fixtures and a row in
 * docs/plugins.md.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- fixtures are untyped JSON read from disk */
import fs from "node:fs";
import path from "node:path";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/config.js";
import { parseBoxFormat } from "../../src/core/box-format.js";
import { ParseError, type ParseContext, type Size } from "../../src/core/plugins.js";
import { BUILTIN_CONVERTERS, BUILTIN_PARSERS, BUILTIN_SCALERS } from "../../src/plugins/registry.js";
import { convertContext } from "../support/convert-context.js";
import { thrown } from "../support/errors.js";

const FIXTURES = path.join(PACKAGE_ROOT, "test", "fixtures");
const DOCS = fs.readFileSync(path.join(PACKAGE_ROOT, "docs", "plugins.md"), "utf8");
const SCHEMA = JSON.parse(
  fs.readFileSync(path.join(PACKAGE_ROOT, "schema", "canonical-v1.schema.json"), "utf8"),
);
const ajv = new Ajv2020({ allErrors: true });
ajv.addSchema(SCHEMA);
const validPrediction = ajv.getSchema(`${SCHEMA.$id}#/$defs/prediction`)!;

function cases(kind: string, name: string): Array<{ name: string; input: any; output: any }> {
  const dir = path.join(FIXTURES, kind, name);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".in.json"))
    .sort()
    .map((f) => {
      const base = f.slice(0, -".in.json".length);
      const read = (suffix: string) =>
        JSON.parse(fs.readFileSync(path.join(dir, `${base}${suffix}`), "utf8"));
      return { name: base, input: read(".in.json"), output: read(".out.json") };
    });
}

function expectOutcome(run: () => unknown, output: any): void {
  if (output && typeof output === "object" && "error" in output && Object.keys(output).length === 1) {
    expect(thrown(ParseError, run).message).toContain(output.error);
  } else {
    expect(run()).toEqual(output);
  }
}

/** Bytes in parser output are compared by size: images as {imageBytes}, anything else as {bytes}. */
function normalize(v: unknown, key = ""): unknown {
  if (v instanceof Uint8Array)
    return key === "image" ? { imageBytes: v.byteLength } : { bytes: v.byteLength };
  if (Array.isArray(v)) return v.map((x) => normalize(x));
  if (v && typeof v === "object")
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalize(x, k)]));
  return v;
}

function body(b: any) {
  const bytes =
    b?.bodyBase64 !== undefined ? Buffer.from(b.bodyBase64, "base64") : Buffer.from(b?.body ?? "", "utf8");
  return {
    bytes: new Uint8Array(bytes),
    contentType: b?.contentType ?? "",
    headers: Object.entries(b?.headers ?? {}).map(([name, value]) => ({
      name: name.toLowerCase(),
      value: String(value),
    })),
    truncated: false,
  };
}

describe.each(BUILTIN_PARSERS.map((p) => [p.name, p] as const))("parser %s", (name, parser) => {
  const all = cases("parsers", name);
  it("has fixtures and a docs row", () => {
    expect(all.length, `test/fixtures/parsers/${name}/ needs cases`).toBeGreaterThan(0);
    expect(DOCS).toContain(`| \`${name}\` |`);
  });
  it.each(all.map((c) => [c.name, c] as const))("%s", (_, c) => {
    const ctx: ParseContext = {
      request: body(c.input.request),
      response: body(c.input.response),
      route: { features: c.input.route?.features },
      startedAtUs: c.input.startedAtUs ?? 0,
      responseChunkTimes: c.input.responseChunkTimes ?? [],
    };
    expectOutcome(() => normalize(parser.parse(ctx)), c.output);
  });
});

describe.each(BUILTIN_CONVERTERS.map((p) => [p.name, p] as const))("converter %s", (name, converter) => {
  const all = cases("converters", name);
  it("has fixtures and a docs row", () => {
    expect(all.length, `test/fixtures/converters/${name}/ needs cases`).toBeGreaterThan(0);
    expect(DOCS).toContain(`| \`${name}\` |`);
  });
  it.each(all.map((c) => [c.name, c] as const))("%s", (_, c) => {
    const x = c.input.ctx ?? {};
    // A mistyped box format in a fixture must not quietly test the convention's own instead.
    if (x.boxFormat !== undefined) expect(parseBoxFormat(x.boxFormat), x.boxFormat).toBeDefined();
    const context = () =>
      convertContext({
        labels: new Map(Object.entries(x.labels ?? {}).map(([k, v]) => [k, String(v)])),
        inputSize: x.inputSize as Size | undefined,
        imageSize: x.imageSize as Size | undefined,
        maskThreshold: x.maskThreshold ?? 0.5,
        topK: x.topK ?? 5,
        text: x.text,
        outputNames: x.outputNames ?? {},
        task: x.task ?? converter.tasks.at(-1),
        boxFormat: x.boxFormat === undefined ? undefined : parseBoxFormat(x.boxFormat),
        rowLayout: x.rowLayout,
      });
    // An .out.json with notes: {"prediction": …, "notes": […]}; else the prediction alone.
    const withNotes = c.output && typeof c.output === "object" && "notes" in c.output;
    const expected = withNotes ? c.output.prediction : c.output;
    const ctx = context();
    expectOutcome(() => converter.convert(c.input.raw, ctx), expected);
    expect(ctx.notes).toEqual(withNotes ? c.output.notes : []);
    if (!("error" in c.output)) {
      // Every converter's output is valid canonical schema (JSON round trip drops undefined keys).
      const ok = validPrediction(JSON.parse(JSON.stringify(converter.convert(c.input.raw, context()))));
      expect(validPrediction.errors ?? [], "canonical schema violations").toEqual([]);
      expect(ok).toBe(true);
    }
  });
});

describe.each(BUILTIN_SCALERS.map((p) => [p.name, p] as const))("scaler %s", (name, scaler) => {
  const all = cases("scalers", name);
  it("has fixtures and a docs row", () => {
    expect(all.length, `test/fixtures/scalers/${name}/ needs cases`).toBeGreaterThan(0);
    expect(DOCS).toContain(`| \`${name}\` |`);
  });
  it.each(all.map((c) => [c.name, c] as const))("%s", (_, c) => {
    const points = (c.input.points as Array<[number, number]>).map(([x, y]) => {
      const [ox, oy] = scaler.toOriginal(x, y, c.input.model, c.input.original);
      return [Math.round(ox * 100) / 100, Math.round(oy * 100) / 100];
    });
    expect({ points }).toEqual(c.output);
  });
});
