/**
 * Bind settings (src/config.ts, src/listen-address.ts): one host per listener, each defaulting to
 * MODELTAP_LISTEN_HOST (loopback), checked once with the setting's name in the error; and the
 * collector's refusal of plaintext gRPC off loopback unless TLS or MODELTAP_COLLECTOR_INSECURE=1.
 */
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { ConfigError } from "../../src/core/errors.js";
import { collectorBindProblem, hostPort, hostProblem, isLoopback } from "../../src/listen-address.js";
import { loadStackConfig } from "../../tools/stack/settings.js";

function problems(env: NodeJS.ProcessEnv, load: (env: NodeJS.ProcessEnv) => unknown = loadConfig): string[] {
  try {
    load(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).problems];
  }
  throw new Error(`expected ${JSON.stringify(env)} to be rejected`);
}

describe("bind settings", () => {
  it("bind every listener to loopback by default", () => {
    const c = loadConfig({});
    expect(c.hosts).toEqual({
      collector: "127.0.0.1",
      collectorMetrics: "127.0.0.1",
      workerMetrics: "127.0.0.1",
      monitorMetrics: "127.0.0.1",
      api: "127.0.0.1",
    });
    expect(c.collectorInsecure).toBe(false);
  });

  it("take MODELTAP_LISTEN_HOST as every listener's default (as before), each overridable alone", () => {
    const c = loadConfig({
      MODELTAP_LISTEN_HOST: "10.0.0.5",
      MODELTAP_API_HOST: "::",
      MODELTAP_COLLECTOR_HOST: "localhost",
      MODELTAP_WORKER_METRICS_HOST: "metrics.internal",
    });
    expect(c.listenHost).toBe("10.0.0.5");
    expect(c.hosts).toEqual({
      collector: "localhost",
      collectorMetrics: "10.0.0.5",
      workerMetrics: "metrics.internal",
      monitorMetrics: "10.0.0.5",
      api: "::",
    });
  });

  it("name each bad host once, under the variable that holds it", () => {
    expect(
      problems({
        MODELTAP_LISTEN_HOST: "not a host",
        MODELTAP_API_HOST: "[::1]",
        MODELTAP_COLLECTOR_METRICS_HOST: "",
        MODELTAP_COLLECTOR_INSECURE: "yes",
      }).sort(),
    ).toEqual([
      'MODELTAP_API_HOST: an IPv6 address goes without brackets, got "[::1]"',
      'MODELTAP_COLLECTOR_INSECURE: must be 0 or 1, got "yes"',
      'MODELTAP_COLLECTOR_METRICS_HOST: must be an IP address or a host name, got ""',
      'MODELTAP_LISTEN_HOST: must be an IP address or a host name, got "not a host"',
    ]);
  });

  it("give the demo server its own host, MODELTAP_LISTEN_HOST by default, checked the same way", () => {
    expect(loadStackConfig({}).hosts.demo).toBe("127.0.0.1");
    expect(loadStackConfig({ MODELTAP_LISTEN_HOST: "::1" }).hosts.demo).toBe("::1");
    expect(loadStackConfig({ MODELTAP_DEMO_HOST: "0.0.0.0" }).hosts.demo).toBe("0.0.0.0");
    expect(problems({ MODELTAP_DEMO_HOST: "a b" }, loadStackConfig)).toEqual([
      'MODELTAP_DEMO_HOST: must be an IP address or a host name, got "a b"',
    ]);
  });
});

describe("listen addresses", () => {
  it("tell loopback from everything else", () => {
    for (const h of ["127.0.0.1", "127.1.2.3", "::1", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1", "localhost"]) {
      expect(isLoopback(h), h).toBe(true);
    }
    for (const h of [
      "0.0.0.0",
      "::",
      "10.0.0.1",
      "::ffff:10.0.0.1",
      "128.0.0.1",
      "collector.svc",
      "localhost.evil",
    ]) {
      expect(isLoopback(h), h).toBe(false);
    }
  });

  it("accept IP addresses and host names only", () => {
    for (const h of ["0.0.0.0", "::", "fe80::1", "localhost", "a-b.example.com"]) {
      expect(hostProblem(h), h).toBeUndefined();
    }
    for (const h of ["", " ", "a..b", "-a", "host:80", "[::]", "x".repeat(64)]) {
      expect(hostProblem(h), h).toBeDefined();
    }
  });

  it("bracket IPv6 addresses in a gRPC bind", () => {
    expect(hostPort("::", 50051)).toBe("[::]:50051");
    expect(hostPort("0.0.0.0", 50051)).toBe("0.0.0.0:50051");
    expect(hostPort("localhost", 1)).toBe("localhost:1");
  });
});

describe("the collector's bind", () => {
  const bind = (env: NodeJS.ProcessEnv) => collectorBindProblem(loadConfig(env));

  it("is refused off loopback without TLS, saying why and what to set", () => {
    for (const env of [{ MODELTAP_LISTEN_HOST: "0.0.0.0" }, { MODELTAP_COLLECTOR_HOST: "::" }]) {
      const why = bind(env);
      expect(why).toMatch(
        /^MODELTAP_COLLECTOR_HOST: the collector would serve plaintext gRPC on (0\.0\.0\.0|::)/,
      );
      expect(why).toContain("made-up exchanges");
      expect(why).toContain("MODELTAP_COLLECTOR_TLS_CERT");
      expect(why).toContain("MODELTAP_COLLECTOR_INSECURE=1");
    }
  });

  it("is allowed on loopback, with TLS, or with the explicit insecure flag", () => {
    expect(bind({})).toBeUndefined();
    expect(bind({ MODELTAP_COLLECTOR_HOST: "::1" })).toBeUndefined();
    expect(bind({ MODELTAP_COLLECTOR_HOST: "0.0.0.0", MODELTAP_COLLECTOR_INSECURE: "1" })).toBeUndefined();
    expect(bind({ MODELTAP_COLLECTOR_HOST: "0.0.0.0", MODELTAP_COLLECTOR_INSECURE: "0" })).toBeDefined();
    expect(
      bind({
        MODELTAP_COLLECTOR_HOST: "0.0.0.0",
        MODELTAP_COLLECTOR_TLS_CERT: "/etc/tls/cert.pem",
        MODELTAP_COLLECTOR_TLS_KEY: "/etc/tls/key.pem",
      }),
    ).toBeUndefined();
  });

  it("only concerns the collector: other listeners may bind anywhere", () => {
    const c = loadConfig({ MODELTAP_LISTEN_HOST: "0.0.0.0", MODELTAP_COLLECTOR_HOST: "127.0.0.1" });
    expect(c.hosts.api).toBe("0.0.0.0");
    expect(collectorBindProblem(c)).toBeUndefined();
  });
});
