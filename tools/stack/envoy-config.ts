/**
 * The Envoy config the local stack runs. The shipped envoy/envoy.yaml uses the default ports and
 * gates with seed 0; the stack renders it with its own ports (MODELTAP_*_PORT) and refreshes the
 * sampling gate with the collector's seed, through the same code as `modeltap envoy gate`.
 * A config brought with --envoy-config is used exactly as given.
 */
import fs from "node:fs";
import path from "node:path";
import { parseDocument } from "yaml";
import { PACKAGE_ROOT } from "../../src/config.js";
import { planGate, YAML_OUTPUT } from "../../src/core/envoy/gate.js";
import { stackSamplingSeed } from "./services.js";
import type { StackConfig } from "./settings.js";

export const SHIPPED_ENVOY_CONFIG = path.join(PACKAGE_ROOT, "envoy", "envoy.yaml");

const DEFAULT_PORTS = {
  envoy: 10000,
  envoyNormal: 10001,
  envoyBaseline: 10002,
  envoyAdmin: 9901,
  collector: 50051,
  demo: 8081,
  mlserver: 8082,
} as const;

export function renderShippedEnvoyConfig(config: StackConfig): string {
  const map = new Map<number, number>(
    (Object.keys(DEFAULT_PORTS) as Array<keyof typeof DEFAULT_PORTS>).map((k) => [
      DEFAULT_PORTS[k],
      config.ports[k],
    ]),
  );
  const text = fs
    .readFileSync(SHIPPED_ENVOY_CONFIG, "utf8")
    .replace(/port_value: (\d+)/g, (m, p: string) =>
      map.has(Number(p)) ? `port_value: ${map.get(Number(p))}` : m,
    );
  const doc = parseDocument(text);
  const plan = planGate(doc, { seed: stackSamplingSeed(config) });
  if (plan.problems.length > 0) throw new Error(`envoy/envoy.yaml: ${plan.problems.join("; ")}`);
  return doc.toString(YAML_OUTPUT);
}
