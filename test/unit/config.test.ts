/**
 * loadConfig: defaults, overrides, strict validation with every problem at once, deprecated names;
 * loadStackConfig: the local stack's settings resolved into the product's.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PACKAGE_ROOT, SETTINGS, loadConfig } from "../../src/config.js";
import { ConfigError } from "../../src/core/errors.js";
import { STACK_SETTINGS, loadStackConfig, productEnv } from "../../tools/stack/settings.js";

function configError(
  env: NodeJS.ProcessEnv,
  load: (env: NodeJS.ProcessEnv) => unknown = loadConfig,
): ConfigError {
  try {
    load(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe("CONFIG_INVALID");
    return err as ConfigError;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be rejected`);
}

describe("loadConfig", () => {
  it("applies every default to an empty environment", () => {
    const c = loadConfig({});
    expect(c.logLevel).toBe("info");
    expect(c.listenHost).toBe("127.0.0.1");
    expect(c.ports).toEqual({
      collector: 50051,
      collectorMetrics: 9464,
      workerMetrics: 9465,
      monitorMetrics: 9467,
      api: 8090,
    });
    expect(c.natsUrl).toBe("nats://127.0.0.1:4222");
    expect(c.databaseUrl).toBe("postgres://modeltap@127.0.0.1:5432/modeltap");
    expect(c.s3).toEqual({ endpoint: "http://127.0.0.1:8333", bucket: "modeltap", region: "us-east-1" });
    expect([...c.secretHeaders].sort()).toEqual(
      [
        "authorization",
        "cookie",
        "proxy-authorization",
        "set-cookie",
        "x-api-key",
        "api-key",
        "x-goog-api-key",
        "x-auth-token",
        "x-amz-security-token",
      ].sort(),
    );
    expect([...c.secretQueryParams]).toEqual(["api_key", "key", "token", "access_token", "sig", "signature"]);
    expect(c.plugins).toEqual([]);
    expect(c.buffer).toEqual({
      maxRecords: 50_000,
      maxBytes: 256 * 1024 * 1024,
      maxAttempts: 5,
      window: 1024,
    });
    expect(c.samplingSeed).toBe(0n);
    expect(c.natsInlineMaxBytes).toBe(256 * 1024);
    expect(c.worker).toEqual({
      batch: 128,
      parallel: 4,
      maxDeliver: 5,
      concurrency: 16,
      rowInlineMaxBytes: 8192,
    });
    expect(c.database).toBe("postgres");
    expect(c.objectStore).toBe("s3");
    expect(c.fsRoot).toBe("");
    expect(c.labeling).toBe("none");
    expect(c.labelStudio).toEqual({ url: "http://127.0.0.1:8080", token: "" });
    expect(c.apiTokens).toEqual([]);
    expect(c.webhookSecret).toBe("");
    expect(c.mediaKeys).toEqual([]);
    expect(c.mediaUrlTtlSeconds).toBe(7 * 24 * 3600);
    expect(c.apiMetrics).toEqual({ mode: "same" });
    expect(c.publicUrl).toBe("http://127.0.0.1:8090");
    expect(c.labelExport).toEqual({ batch: 100, intervalMs: 1000 });
    expect(c.labelSyncIntervalS).toBe(300);
    expect(c.warnings).toEqual([]);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it("needs a root directory for the fs object store", () => {
    expect(configError({ MODELTAP_OBJECT_STORE: "fs" }).problems).toEqual([
      "MODELTAP_FS_ROOT: required when MODELTAP_OBJECT_STORE=fs",
    ]);
  });

  it("takes the old names of renamed settings, with a warning, but not both names at once", () => {
    const c = loadConfig({ MODELTAP_INLINE_MAX_BYTES: "4096", MODELTAP_BODY_INLINE_MAX_BYTES: "100" });
    expect(c.natsInlineMaxBytes).toBe(4096);
    expect(c.worker.rowInlineMaxBytes).toBe(100);
    expect(c.warnings).toEqual([
      "MODELTAP_INLINE_MAX_BYTES is deprecated; rename it to MODELTAP_NATS_INLINE_MAX_BYTES",
      "MODELTAP_BODY_INLINE_MAX_BYTES is deprecated; rename it to MODELTAP_ROW_INLINE_MAX_BYTES",
    ]);
    const both = configError({ MODELTAP_INLINE_MAX_BYTES: "4096", MODELTAP_NATS_INLINE_MAX_BYTES: "4096" });
    expect(both.problems).toEqual([
      "MODELTAP_INLINE_MAX_BYTES: deprecated name of MODELTAP_NATS_INLINE_MAX_BYTES, and both are set; keep only MODELTAP_NATS_INLINE_MAX_BYTES",
    ]);
    // An old name is validated like the new one.
    expect(configError({ MODELTAP_BODY_INLINE_MAX_BYTES: "x" }).problems[0]).toMatch(
      /^MODELTAP_ROW_INLINE_MAX_BYTES: must be an integer/,
    );
  });

  it("has no local-stack settings: those are the development tools' (tools/stack/settings.ts)", () => {
    const product = new Set<string>(SETTINGS.map((s) => s.env));
    for (const s of STACK_SETTINGS) expect(product.has(s.env), s.env).toBe(false);
    expect(configError({ MODELTAP_PG_PORT: "5433" }).problems).toEqual([
      "MODELTAP_PG_PORT: unknown setting (local-stack ports are read by `modeltap stack` only; a product command takes the URL: MODELTAP_NATS_URL, MODELTAP_DATABASE_URL, MODELTAP_S3_ENDPOINT, MODELTAP_LABEL_STUDIO_URL)",
    ]);
  });

  it("still derives the fs store's root from MODELTAP_HOME, with a warning, until MODELTAP_FS_ROOT is set", () => {
    const c = loadConfig({ MODELTAP_HOME: "/srv/mt", MODELTAP_OBJECT_STORE: "fs" });
    expect(c.fsRoot).toBe("/srv/mt/objects");
    expect(c.warnings).toEqual([
      "MODELTAP_HOME is a local-stack setting now; set MODELTAP_FS_ROOT=/srv/mt/objects instead",
    ]);
    const explicit = loadConfig({
      MODELTAP_HOME: "/srv/mt",
      MODELTAP_OBJECT_STORE: "fs",
      MODELTAP_FS_ROOT: "/data",
    });
    expect(explicit.fsRoot).toBe("/data");
    expect(explicit.warnings).toEqual([
      "MODELTAP_HOME is a local-stack setting now; product commands ignore it",
    ]);
    expect(loadConfig({ MODELTAP_HOME: "/srv/mt" }).fsRoot).toBe("");
  });

  it("selects storage, database and labeling plugins by name, listing the known ones otherwise", () => {
    const c = loadConfig({
      MODELTAP_OBJECT_STORE: "fs",
      MODELTAP_FS_ROOT: "/tmp/objects",
      MODELTAP_LABELING: "label_studio",
      MODELTAP_LABEL_STUDIO_TOKEN: "t0ken",
      MODELTAP_LABEL_STUDIO_URL: "https://ls.example.com/",
      MODELTAP_PUBLIC_URL: "https://modeltap.example.com/",
      MODELTAP_API_TOKENS: "crm:0123456789abcdef",
    });
    expect(c.objectStore).toBe("fs");
    expect(c.fsRoot).toBe("/tmp/objects");
    expect(c.labeling).toBe("label_studio");
    expect(c.labelStudio.url).toBe("https://ls.example.com");
    expect(c.publicUrl).toBe("https://modeltap.example.com");
    expect(() =>
      loadConfig({ MODELTAP_OBJECT_STORE: "gcs", MODELTAP_DATABASE: "mysql", MODELTAP_LABELING: "cvat" }),
    ).toThrow(
      /MODELTAP_DATABASE: unknown plugin "mysql" \(known: postgres\)[\s\S]*MODELTAP_OBJECT_STORE: unknown plugin "gcs" \(known: s3, fs\)[\s\S]*MODELTAP_LABELING: unknown plugin "cvat" \(known: none, label_studio\)/,
    );
  });

  it("takes the collector's TLS files as a pair, and a client CA only with them", () => {
    expect(loadConfig({}).collectorTls).toEqual({ cert: "", key: "", clientCa: "" });
    expect(
      loadConfig({ MODELTAP_COLLECTOR_TLS_CERT: "/c.pem", MODELTAP_COLLECTOR_TLS_KEY: "/k.pem" }).collectorTls
        .cert,
    ).toBe("/c.pem");
    expect(() => loadConfig({ MODELTAP_COLLECTOR_TLS_CERT: "/c.pem" })).toThrow(/give both or neither/);
    expect(() => loadConfig({ MODELTAP_COLLECTOR_TLS_CLIENT_CA: "/ca.pem" })).toThrow(/mTLS is TLS first/);
  });

  it("requires a Label Studio token with label_studio, a long enough api secret, and http(s) URLs", () => {
    expect(() => loadConfig({ MODELTAP_LABELING: "label_studio" })).toThrow(
      /MODELTAP_LABEL_STUDIO_TOKEN: required/,
    );
    expect(() => loadConfig({ MODELTAP_WEBHOOK_SECRET: "short" })).toThrow(
      /MODELTAP_WEBHOOK_SECRET: must be at least 16/,
    );
    expect(() => loadConfig({ MODELTAP_PUBLIC_URL: "ftp://x" })).toThrow(
      /MODELTAP_PUBLIC_URL: must be an http\(s\) URL/,
    );
  });

  it("ignores variables outside the MODELTAP_ prefix", () => {
    expect(loadConfig({ PATH: "/bin", HOME: "/root", MODELTAPX: "1" }).ports.collector).toBe(50051);
  });

  it("takes port overrides", () => {
    const c = loadConfig({ MODELTAP_COLLECTOR_PORT: "6000", MODELTAP_API_PORT: "0" });
    expect(c.ports.collector).toBe(6000);
    expect(c.ports.api).toBe(0);
    expect(c.publicUrl).toBe("http://127.0.0.1:0");
    expect(c.ports.collectorMetrics).toBe(9464);
  });

  it("adds extra secret headers (lower-cased) to the built-in ones and reads the plugin list", () => {
    const c = loadConfig({
      MODELTAP_EXTRA_SECRET_HEADERS: " X-Token ,x-other,, ",
      MODELTAP_PLUGINS: "./a.js, ./b.js ,",
    });
    expect(c.secretHeaders.has("x-token")).toBe(true);
    expect(c.secretHeaders.has("x-other")).toBe(true);
    expect(c.secretHeaders.has("authorization")).toBe(true);
    expect(c.secretHeaders.size).toBe(11);
    expect(c.plugins).toEqual(["./a.js", "./b.js"]);
  });

  it("reads MODELTAP_REDACT_QUERY_PARAMS (lower-cased), replacing the default list", () => {
    const c = loadConfig({ MODELTAP_REDACT_QUERY_PARAMS: " Session ,sig,, " });
    expect([...c.secretQueryParams]).toEqual(["session", "sig"]);
  });

  it("treats an unknown MODELTAP_ variable as an error", () => {
    const err = configError({ MODELTAP_FOO: "1" });
    expect(err.problems).toEqual(["MODELTAP_FOO: unknown setting"]);
  });

  it("reports several bad values at once, in one ConfigError", () => {
    const err = configError({
      MODELTAP_FOO: "1",
      MODELTAP_API_PORT: "70000",
      MODELTAP_COLLECTOR_PORT: "-1",
      MODELTAP_LOG_LEVEL: "loud",
      MODELTAP_WORKER_BATCH: "12abc",
      MODELTAP_DATABASE_URL: "mysql://x",
      MODELTAP_S3_BUCKET: "Bad_Bucket",
    });
    expect(err.problems).toHaveLength(7);
    for (const name of [
      "MODELTAP_FOO",
      "MODELTAP_API_PORT",
      "MODELTAP_COLLECTOR_PORT",
      "MODELTAP_LOG_LEVEL",
      "MODELTAP_WORKER_BATCH",
      "MODELTAP_DATABASE_URL",
      "MODELTAP_S3_BUCKET",
    ]) {
      expect(err.problems.filter((p) => p.startsWith(`${name}:`))).toHaveLength(1);
    }
    for (const p of err.problems) expect(err.message).toContain(p);
    expect(err.problems).toContain("MODELTAP_FOO: unknown setting");
    expect(err.problems.find((p) => p.startsWith("MODELTAP_API_PORT:"))).toMatch(
      /^MODELTAP_API_PORT: must be an integer from 0 to 65535/,
    );
  });

  it.each([
    ["MODELTAP_NATS_INLINE_MAX_BYTES", "1023"],
    ["MODELTAP_NATS_INLINE_MAX_BYTES", String(512 * 1024 + 1)],
    ["MODELTAP_BUFFER_MAX_RECORDS", "0"],
    ["MODELTAP_WORKER_CONCURRENCY", "1.5"],
    ["MODELTAP_NATS_URL", "http://127.0.0.1:4222"],
    ["MODELTAP_WORKER_METRICS_PORT", ""],
  ])("rejects %s=%j", (name, value) => {
    const err = configError({ [name]: value });
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]!.startsWith(`${name}:`)).toBe(true);
  });
});

describe("loadStackConfig", () => {
  it("adds the local stack's state directory and ports to the product's config", () => {
    const c = loadStackConfig({});
    expect(c.home).toBe(path.join(PACKAGE_ROOT, ".modeltap"));
    expect(c.ports).toEqual({
      envoy: 10000,
      envoyNormal: 10001,
      envoyBaseline: 10002,
      envoyAdmin: 9901,
      collector: 50051,
      collectorMetrics: 9464,
      workerMetrics: 9465,
      monitorMetrics: 9467,
      nats: 4222,
      postgres: 5432,
      s3: 8333,
      demo: 8081,
      mlserver: 8082,
      api: 8090,
      labelStudio: 8080,
    });
    expect(c.fsRoot).toBe(path.join(PACKAGE_ROOT, ".modeltap", "objects"));
    expect(Object.isFrozen(c)).toBe(true);
  });

  it("resolves moved ports into the product's URLs, unless the user gave those URLs", () => {
    const c = loadStackConfig({
      MODELTAP_PG_PORT: "6543",
      MODELTAP_NATS_PORT: "4333",
      MODELTAP_S3_PORT: "9000",
      MODELTAP_LABEL_STUDIO_PORT: "18080",
      MODELTAP_HOME: "/tmp/mt",
    });
    expect(c.databaseUrl).toBe("postgres://modeltap@127.0.0.1:6543/modeltap");
    expect(c.natsUrl).toBe("nats://127.0.0.1:4333");
    expect(c.s3.endpoint).toBe("http://127.0.0.1:9000");
    expect(c.labelStudio.url).toBe("http://127.0.0.1:18080");
    expect(c.fsRoot).toBe("/tmp/mt/objects");
    const explicit = loadStackConfig({
      MODELTAP_PG_PORT: "6543",
      MODELTAP_DATABASE_URL: "postgresql://db/x",
    });
    expect(explicit.databaseUrl).toBe("postgresql://db/x");
  });

  it("hands product processes an environment without the stack's settings", () => {
    const env = productEnv({ MODELTAP_PG_PORT: "6543", MODELTAP_HOME: "/tmp/mt", PATH: "/bin" });
    for (const s of STACK_SETTINGS) expect(env[s.env], s.env).toBeUndefined();
    expect(env.PATH).toBe("/bin");
    expect(loadConfig(env).databaseUrl).toBe("postgres://modeltap@127.0.0.1:6543/modeltap");
  });

  it("gives the stack's S3 the credentials the stack generated, unless the user chose otherwise", () => {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "modeltap-home-"));
    try {
      const creds = { accessKeyId: "mtkey", secretAccessKey: "mtsecret" };
      fs.writeFileSync(path.join(home, "s3-credentials.json"), JSON.stringify(creds));
      expect(productEnv({ MODELTAP_HOME: home })).toMatchObject({
        AWS_ACCESS_KEY_ID: "mtkey",
        AWS_SECRET_ACCESS_KEY: "mtsecret",
      });
      const own = productEnv({ MODELTAP_HOME: home, AWS_ACCESS_KEY_ID: "mine", AWS_SECRET_ACCESS_KEY: "x" });
      expect([own.AWS_ACCESS_KEY_ID, own.AWS_SECRET_ACCESS_KEY]).toEqual(["mine", "x"]);
      const elsewhere = productEnv({ MODELTAP_HOME: home, MODELTAP_S3_ENDPOINT: "https://s3.example" });
      expect(elsewhere.AWS_ACCESS_KEY_ID).toBeUndefined();
      expect(productEnv({ MODELTAP_HOME: path.join(home, "none") }).AWS_ACCESS_KEY_ID).toBeUndefined();
    } finally {
      fs.rmSync(home, { recursive: true, force: true });
    }
  });

  it("reports stack and product problems together", () => {
    const err = configError(
      { MODELTAP_ENVOY_PORT: "70000", MODELTAP_LOG_LEVEL: "loud", MODELTAP_FOO: "1" },
      loadStackConfig,
    );
    expect(err.problems.map((p) => p.split(":")[0]).sort()).toEqual([
      "MODELTAP_ENVOY_PORT",
      "MODELTAP_FOO",
      "MODELTAP_LOG_LEVEL",
    ]);
  });
});

describe("monitor settings", () => {
  it("takes windows, grace, interval, rollup and refusal patterns, with their defaults", () => {
    const d = loadConfig({});
    expect(d.monitor.windowsMs).toEqual([300_000, 3_600_000, 86_400_000]);
    expect([d.monitor.graceMs, d.monitor.intervalMs, d.monitor.rollupHours, d.monitor.maxSeries]).toEqual([
      10_000, 5000, 48, 2000,
    ]);
    expect(d.monitor.refusalPatterns.some((r) => r.test("I'm sorry, but I can't do that"))).toBe(true);
    const c = loadConfig({
      MODELTAP_MONITOR_WINDOWS: "1h, 1m,5m,1m",
      MODELTAP_MONITOR_REFUSAL_PATTERNS: "nope\\b,^no way",
    });
    expect(c.monitor.windowsMs).toEqual([60_000, 300_000, 3_600_000]);
    expect(c.monitor.refusalPatterns.map((r) => r.source)).toEqual(["nope\\b", "^no way"]);
    expect(c.monitor.refusalPatterns[0]!.flags).toBe("i");
  });

  it("refuses windows that are not whole minutes to 31 days, bad patterns, and a rollup before a window closes", () => {
    const problems = (env: NodeJS.ProcessEnv) => {
      try {
        loadConfig(env);
        return [];
      } catch (err) {
        return (err as ConfigError).problems;
      }
    };
    expect(problems({ MODELTAP_MONITOR_WINDOWS: "30s" })[0]).toMatch(
      /^MODELTAP_MONITOR_WINDOWS: "30s" is not a window/,
    );
    expect(problems({ MODELTAP_MONITOR_WINDOWS: "32d" })[0]).toMatch(/not a window/);
    expect(problems({ MODELTAP_MONITOR_WINDOWS: " , " })[0]).toMatch(/give at least one window/);
    expect(problems({ MODELTAP_MONITOR_REFUSAL_PATTERNS: "a(b" })[0]).toMatch(
      /"a\(b" is not a regular expression/,
    );
    expect(problems({ MODELTAP_MONITOR_WINDOWS: "90m", MODELTAP_MONITOR_ROLLUP_HOURS: "1" })[0]).toMatch(
      /^MODELTAP_MONITOR_ROLLUP_HOURS: 1 h rolls minutes up before the 90m window/,
    );
    // Whole hours are evaluated over hour buckets: any rollup will do.
    expect(problems({ MODELTAP_MONITOR_WINDOWS: "2h", MODELTAP_MONITOR_ROLLUP_HOURS: "1" })).toEqual([]);
    // Expiry keeps at least a day past the longest window (its buckets are merged until it closes).
    expect(problems({ MODELTAP_MONITOR_WINDOWS: "7d", MODELTAP_MONITOR_RETENTION_DAYS: "7" })[0]).toMatch(
      /^MODELTAP_MONITOR_RETENTION_DAYS: 7 d would expire the 7d window's buckets/,
    );
    expect(problems({ MODELTAP_MONITOR_WINDOWS: "7d", MODELTAP_MONITOR_RETENTION_DAYS: "8" })).toEqual([]);
    expect(problems({ MODELTAP_MONITOR_WINDOWS: "31d", MODELTAP_MONITOR_RETENTION_DAYS: "0" })).toEqual([]);
  });
});
