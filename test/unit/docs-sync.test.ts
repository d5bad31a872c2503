/** Docs that must match the code: error codes, settings, metrics, and docker-compose vs the native stack. */
import { createMonitorMetrics } from "../../src/monitor/metrics.js";
import { QUALITY_ALERT_MIN_LABELED } from "../../src/core/monitoring/quality-aggregate.js";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { createApiMetrics } from "../../src/api/metrics.js";
import { createCollectorMetrics } from "../../src/collector/metrics.js";
import { DEPRECATED_SETTINGS, PACKAGE_ROOT, SETTINGS } from "../../src/config.js";
import { ERROR_CODES } from "../../src/core/errors.js";
import { ROUTE_KEYS, compileRouteConfig } from "../../src/core/route-config.js";
import { TASKS } from "../../src/core/canonical.js";
import { PluginRegistry } from "../../src/plugins/registry.js";
import { SERVICES } from "../../tools/stack/services.js";
import { STACK_SETTINGS } from "../../tools/stack/settings.js";
import { createWorkerMetrics } from "../../src/worker/metrics.js";

const read = (p: string) => fs.readFileSync(path.join(PACKAGE_ROOT, p), "utf8");

/** First-column backticked names of every markdown table row. */
function tableKeys(md: string): string[] {
  return [...md.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!);
}

describe("docs stay in step with the code", () => {
  it("docs/errors.md lists exactly the error codes", () => {
    expect(tableKeys(read("docs/errors.md")).sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it("docs/config.md lists exactly the settings, the local stack's apart, plus the route keys", () => {
    const doc = read("docs/config.md");
    const [product, rest] = doc.split("<!-- stack-settings -->") as [string, string];
    const [stack] = rest.split("<!-- /stack-settings -->") as [string];
    const settings = (md: string) => tableKeys(md).filter((k) => /^MODELTAP_[A-Z0-9_]+$/.test(k));
    const renamed = Object.keys(DEPRECATED_SETTINGS);
    expect(
      settings(product)
        .filter((k) => !renamed.includes(k))
        .sort(),
    ).toEqual(SETTINGS.map((s) => s.env).sort());
    expect(settings(stack).sort()).toEqual(STACK_SETTINGS.map((s) => s.env).sort());
    const keys = tableKeys(doc);
    // Route keys: the capture ones in docs/config.md, the analysis ones in docs/plugins.md.
    const routeKeys = [...keys, ...tableKeys(read("docs/plugins.md"))];
    for (const k of ROUTE_KEYS) expect(routeKeys, `route key ${k} is not documented`).toContain(k);
  });

  it("docs/metrics.md lists exactly modeltap's metrics", async () => {
    const names = new Set<string>();
    const noResults = { latestResults: async () => [], counters: async () => [] };
    const monitor = createMonitorMetrics(noResults, 10);
    for (const m of [createCollectorMetrics(), createWorkerMetrics(), createApiMetrics(), monitor]) {
      for (const metric of await m.registry.getMetricsAsJSON()) {
        if (!/^modeltap_(collector|worker|api|monitor)_(process|nodejs)/.test(metric.name))
          names.add(metric.name);
      }
    }
    const documented = tableKeys(read("docs/metrics.md")).filter((k) => k.startsWith("modeltap_"));
    expect(documented.sort()).toEqual([...names].sort());
  });

  it("README and docs/config.md name every task", () => {
    for (const doc of ["README.md", "docs/config.md"]) {
      for (const task of TASKS) expect(read(doc), `${doc} lacks ${task}`).toContain(`\`${task}\``);
    }
  });

  it("README's route-metadata examples compile, one per task", () => {
    const block = /One route-metadata example per task[\s\S]*?```yaml\n([\s\S]*?)```/.exec(
      read("README.md"),
    )![1]!;
    // Each `modeltap:` entry (with its continuation lines) is one flow mapping.
    const entries = block
      .split(/^(?=modeltap:)/m)
      .filter((e) => e.startsWith("modeltap:"))
      .map((e) => (parse(e) as { modeltap: Record<string, unknown> }).modeltap);
    const registry = new PluginRegistry();
    for (const entry of entries) {
      const result = compileRouteConfig(registry, entry);
      expect(result, JSON.stringify(entry)).toMatchObject({ ok: true });
    }
    expect(entries.map((e) => e.task).sort()).toEqual(TASKS.filter((t) => t !== "unknown").sort());
  });

  it("README's test command is what CI runs", () => {
    expect(read("README.md")).toMatch(/^npm test\b/m);
    expect(read(".ci/run")).toMatch(/^npm test$/m);
    expect(JSON.parse(read("package.json")).scripts.test).toBe("bash scripts/test.sh");
  });
});

describe("docker-compose.yml mirrors the native stack", () => {
  const compose = parse(read("docker-compose.yml")) as {
    services: Record<
      string,
      {
        network_mode?: string;
        volumes?: string[];
        command?: string[];
        build?: string | { context: string; target?: string };
      }
    >;
  };

  it("has a service for every native stack service, on host networking", () => {
    for (const svc of SERVICES) {
      expect(Object.keys(compose.services)).toContain(svc.name);
      expect(compose.services[svc.name]!.network_mode).toBe("host");
    }
  });

  it("runs Envoy with the shipped envoy/envoy.yaml", () => {
    expect(compose.services.envoy!.volumes).toContain("./envoy/envoy.yaml:/etc/envoy/envoy.yaml:ro");
  });

  it("uses the native stack's default ports", () => {
    expect(compose.services.nats!.command).toContain("4222");
    expect(compose.services.postgres!.command).toContain("5432");
    expect(compose.services.s3!.command!.join(" ")).toContain("127.0.0.1:8333");
  });

  it("runs the product image for modeltap's services, and the demo server from the dev-tools target", () => {
    for (const name of ["collector", "worker", "api", "migrate"])
      expect(compose.services[name]!.build).toBe(".");
    expect(compose.services["demo-server"]!.build).toEqual({ context: ".", target: "dev-tools" });
  });
});

describe("Dockerfile", () => {
  const stages = read("Dockerfile")
    .split(/^(?=FROM )/m)
    .filter((s) => s.startsWith("FROM "));
  const stage = (name: string) => stages.find((s) => new RegExp(`^FROM \\S+ AS ${name}\\b`).test(s))!;

  it("ends with the product stage (the default target), which holds no development tools", () => {
    const product = stages.at(-1)!;
    expect(product).toBe(stage("product"));
    expect(product).toContain('ENTRYPOINT ["node", "dist/cli/main.js"]');
    expect(product).not.toMatch(/tools|dist-tools|test\//);
    expect(product).toMatch(/COPY --from=production-deps \/app\/node_modules/);
    expect(stage("production-deps")).toContain("npm prune --omit=dev");
  });

  it("builds the tools only in the dev-tools target", () => {
    expect(stage("dev-tools")).toContain("npm run build:tools");
    for (const s of stages.filter((s) => s !== stage("dev-tools"))) expect(s).not.toContain("build:tools");
  });
});

describe("the QualityDrop rule", () => {
  it("waits for as many labeled instances as `modeltap quality` says it does", () => {
    const rules = read("docs/ops/alerts.yml");
    const minimums = [...rules.matchAll(/modeltap_monitor_window_labeled_instances\)\s*>=\s*(\d+)/g)].map(
      (m) => Number(m[1]),
    );
    expect(minimums.length).toBeGreaterThanOrEqual(2);
    for (const n of minimums) expect(n).toBe(QUALITY_ALERT_MIN_LABELED);
  });
});
