/**
 * `modeltap envoy gate FILE` and `modeltap envoy check FILE`: write, refresh and verify the sampling
 * gate in a user's Envoy config from its routes' modeltap metadata (src/core/envoy/gate.ts,
 * docs/envoy.md "The sampling gate"). YAML in, YAML out; comments and anchors are kept.
 */
import fs from "node:fs";
import path from "node:path";
import { parseDocument, type Document } from "yaml";
import {
  checkGate,
  DEFAULT_FILTER_NAME,
  gateSeeds,
  planGate,
  YAML_OUTPUT,
  type RouteGate,
} from "../../core/envoy/gate.js";
import { ConfigError, ModeltapError } from "../../core/errors.js";
import { parseSamplingSeed } from "../../core/sampler.js";
import type { Config } from "../../config.js";
import type { Command, OptionSpec } from "../command.js";

/** The largest Envoy config read: far past any real one, so a wrong file fails fast. */
const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

const COMMON: Record<string, OptionSpec> = {
  "filter-name": {
    type: "string",
    value: "NAME",
    description: `the name of the modeltap ext_proc filter in http_filters (default ${DEFAULT_FILTER_NAME})`,
  },
  seed: {
    type: "string",
    value: "SEED",
    description:
      "the sampling seed, decimal or 0x hex (default MODELTAP_SAMPLING_SEED, the collector's; gate given neither keeps the seed the file's gates have)",
  },
};

function readDocument(file: string | undefined, command: string): Document {
  if (!file) throw new ConfigError([`envoy ${command}: give the Envoy config file (YAML)`]);
  let text: string;
  try {
    const size = fs.statSync(file).size;
    if (size > MAX_CONFIG_BYTES) throw new Error(`${size} bytes, over the ${MAX_CONFIG_BYTES}-byte limit`);
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError([`${file}: cannot read it (${(err as Error).message})`]);
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.slice(0, 5).map((e) => `${file}: not YAML: ${e.message}`));
  }
  return doc;
}

/**
 * --seed when given, else the collector's MODELTAP_SAMPLING_SEED; `given` says whether either was
 * set. A bad value is not echoed: it is a secret.
 */
function seedOf(
  options: Record<string, string | boolean | undefined>,
  config: Config,
): { seed: bigint; given: boolean } {
  if (typeof options.seed === "string") {
    const seed = parseSamplingSeed(options.seed);
    if (seed === undefined) {
      throw new ConfigError([
        "--seed: must be a 64-bit unsigned integer, decimal or 0x hex (the value given is not shown: it is a secret)",
      ]);
    }
    return { seed, given: true };
  }
  return { seed: config.samplingSeed, given: config.samplingSeed !== 0n };
}

/**
 * The seed to gate with when none is given: the one the file's gates already hash with, so that
 * refreshing a rate never re-seeds a secret seed to 0; 0 when the file has no gates yet.
 */
function keptSeed(doc: Document, file: string, filter: string): bigint {
  const seeds = gateSeeds(doc, filter);
  if (seeds.length > 1) {
    throw new ModeltapError(
      "ENVOY_CONFIG_INVALID",
      `${file}: its gates hash with ${seeds.length} different seeds and no seed was given; set MODELTAP_SAMPLING_SEED (the collector's) or pass --seed`,
    );
  }
  if (seeds.length === 1) {
    console.error("envoy gate: no seed given: keeping the seed the file's gates already hash with");
    return BigInt(seeds[0]!);
  }
  console.error(
    "envoy gate: MODELTAP_SAMPLING_SEED is not set and no --seed given: the gates hash with seed 0, like an unseeded collector (docs/config.md)",
  );
  return 0n;
}

/** Replaces the file at once (a temporary file beside it, renamed), so nothing reads it half-written. */
function writeAtomically(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const mode = fs.statSync(file).mode & 0o777;
  fs.writeFileSync(tmp, text, { mode });
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

function filterName(options: Record<string, string | boolean | undefined>): string {
  return typeof options["filter-name"] === "string" ? options["filter-name"] : DEFAULT_FILTER_NAME;
}

function routeLines(routes: readonly RouteGate[]): string[] {
  return routes.map((r) => `  ${r.route}: sample_rate ${r.sampleRate} (threshold ${r.threshold})`);
}

const gate: Command = {
  name: "gate",
  summary:
    "Write or refresh Envoy's sampling gate from the routes' modeltap sample_rate, so unsampled exchanges never open an ext_proc stream",
  args: "<envoy.yaml>",
  options: {
    ...COMMON,
    write: {
      type: "boolean",
      description:
        "rewrite the file in place (only when something changed); without it the gated config goes to stdout",
    },
  },
  examples: [
    "MODELTAP_SAMPLING_SEED=$(cat /run/secrets/sampling-seed) modeltap envoy gate envoy.yaml --write",
    "modeltap envoy gate envoy.yaml > envoy.gated.yaml   # no seed given: keeps the one the gates have",
  ],
  async run({ config, options, positionals }) {
    const file = positionals[0];
    const doc = readDocument(file, "gate");
    const chosen = seedOf(options, config);
    const seed = chosen.given ? chosen.seed : keptSeed(doc, file!, filterName(options));
    const plan = planGate(doc, { seed, filterName: filterName(options) });
    if (plan.problems.length > 0) {
      throw new ModeltapError(
        "ENVOY_CONFIG_INVALID",
        `${file}: not gated:\n  - ${plan.problems.join("\n  - ")}`,
      );
    }
    for (const line of plan.changes) console.error(`envoy gate: ${line}`);
    if (!plan.changed) console.error(`envoy gate: ${file} is already gated as its metadata says`);
    if (options.write !== true) process.stdout.write(doc.toString(YAML_OUTPUT));
    else if (plan.changed) writeAtomically(file!, doc.toString(YAML_OUTPUT));
    console.error(`envoy gate: ${plan.routes.length} captured routes\n${routeLines(plan.routes).join("\n")}`);
    return 0;
  },
};

const check: Command = {
  name: "check",
  summary:
    "Exit non-zero when Envoy's sampling gate and the routes' modeltap sample_rate (or the seed) disagree",
  args: "<envoy.yaml>",
  options: COMMON,
  exitCodes: { 3: "the gate and the metadata disagree (each disagreement is printed)" },
  examples: [
    "modeltap envoy check envoy.yaml",
    "MODELTAP_SAMPLING_SEED=$(cat /run/secrets/sampling-seed) modeltap envoy check envoy.yaml",
  ],
  async run({ config, options, positionals }) {
    const file = positionals[0];
    const doc = readDocument(file, "check");
    const { seed, given } = seedOf(options, config);
    const result = checkGate(doc, { filterName: filterName(options), ...(given ? { seed } : {}) });
    if (result.problems.length > 0) {
      console.log(`${file}: the gate disagrees with the metadata:`);
      for (const p of result.problems) console.log(`  - ${p}`);
      console.log("(run `modeltap envoy gate FILE --write` to rewrite the gate from the metadata)");
      return 3;
    }
    console.log(
      `${file}: gated as its metadata says, ${result.routes.length} captured routes${given ? "" : " (seed not checked: MODELTAP_SAMPLING_SEED unset, no --seed)"}`,
    );
    for (const line of routeLines(result.routes)) console.log(line);
    return 0;
  },
};

export const envoyCommand: Command = {
  name: "envoy",
  summary: "Gate sampling in Envoy: write and check the per-route sampling gates of an Envoy config",
  subcommands: [gate, check],
  examples: ["modeltap envoy gate envoy.yaml --write && modeltap envoy check envoy.yaml"],
};
