/**
 * The Envoy config the local stack runs. The shipped envoy/envoy.yaml uses the default ports;
 * when MODELTAP_*_PORT variables move them, the same file is rendered with the ports swapped.
 * A config brought with --envoy-config is used exactly as given.
 */
import fs from "node:fs";
import path from "node:path";
import { PACKAGE_ROOT } from "../../src/config.js";
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
  return fs
    .readFileSync(SHIPPED_ENVOY_CONFIG, "utf8")
    .replace(/port_value: (\d+)/g, (m, p: string) =>
      map.has(Number(p)) ? `port_value: ${map.get(Number(p))}` : m,
    );
}
