import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { ConfigError } from "../../src/core/errors.js";
import { DEFAULT_SECRET_HEADERS } from "../../src/core/redact.js";

describe("loadConfig", () => {
  it("has working defaults and is frozen", () => {
    const c = loadConfig({});
    expect(c.ports).toMatchObject({
      envoy: 10000,
      envoyNormal: 10001,
      envoyAdmin: 9901,
      collector: 50051,
      nats: 4222,
      postgres: 5432,
      s3: 8333,
    });
    expect(c.databaseUrl).toBe("postgres://modeltap@127.0.0.1:5432/modeltap");
    expect(c.natsUrl).toBe("nats://127.0.0.1:4222");
    expect(Object.isFrozen(c)).toBe(true);
    for (const h of DEFAULT_SECRET_HEADERS) expect(c.secretHeaders.has(h)).toBe(true);
  });

  it("derives URLs from moved ports, and extra secret headers add to the built-in ones", () => {
    const c = loadConfig({
      MODELTAP_PG_PORT: "6543",
      MODELTAP_NATS_PORT: "5222",
      MODELTAP_EXTRA_SECRET_HEADERS: "X-Token, x-session",
    });
    expect(c.databaseUrl).toBe("postgres://modeltap@127.0.0.1:6543/modeltap");
    expect(c.natsUrl).toBe("nats://127.0.0.1:5222");
    expect(c.secretHeaders.has("x-token")).toBe(true);
    expect(c.secretHeaders.has("authorization")).toBe(true);
  });

  it("reports every problem at once, unknown MODELTAP_* variables included", () => {
    let err: unknown;
    try {
      loadConfig({
        MODELTAP_FOO: "1",
        MODELTAP_PG_PORT: "70000",
        MODELTAP_LOG_LEVEL: "loud",
        MODELTAP_WORKER_BATCH: "x",
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    expect(problems).toHaveLength(4);
    expect(problems.join("\n")).toMatch(/MODELTAP_FOO: unknown setting/);
    expect(problems.join("\n")).toMatch(/MODELTAP_PG_PORT: must be an integer from 0 to 65535/);
    expect((err as ConfigError).code).toBe("CONFIG_INVALID");
  });
});
