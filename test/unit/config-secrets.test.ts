/** The secrets of `modeltap api` in src/config.ts (src/config-secrets.ts): one per purpose. */
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";
import { ConfigError } from "../../src/core/errors.js";

const problemsOf = (env: NodeJS.ProcessEnv): string[] => {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
};

const T1 = "crm-token-0123456789";
const T2 = "etl-token-0123456789";

describe("MODELTAP_API_SECRET is gone", () => {
  it("is refused with what replaces it, by every process, and nothing is derived from it", () => {
    const problems = problemsOf({ MODELTAP_API_SECRET: "0123456789abcdef0123" });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^MODELTAP_API_SECRET: removed/);
    for (const name of ["MODELTAP_API_TOKENS", "MODELTAP_WEBHOOK_SECRET", "MODELTAP_MEDIA_KEYS"])
      expect(problems[0]).toContain(name);
    expect(problems[0]).not.toContain("0123456789abcdef0123");
  });
});

describe("MODELTAP_API_TOKENS", () => {
  it("takes named tokens, in order, trimmed", () => {
    expect(loadConfig({ MODELTAP_API_TOKENS: ` crm:${T1} , etl.v2:${T2}` }).apiTokens).toEqual([
      { name: "crm", secret: T1 },
      { name: "etl.v2", secret: T2 },
    ]);
  });

  it("keeps a colon inside a token", () => {
    expect(loadConfig({ MODELTAP_API_TOKENS: `crm:a:${T1}` }).apiTokens[0]!.secret).toBe(`a:${T1}`);
  });

  const bad: Array<[string, string, RegExp]> = [
    ["an entry without a name", T1, /entry 1 is not name:token/],
    ["a name outside [a-z0-9_.-]", `CRM:${T1}`, /entry 1: the name must be/],
    ["a short token", "crm:short", /entry 1 \(crm\): the secret must be at least 16/],
    ["a name twice", `crm:${T1},crm:${T2}`, /entry 2: the name crm is given twice/],
    ["a token twice", `crm:${T1},etl:${T1}`, /entry 2 \(etl\): the same secret as another entry/],
  ];

  it.each(bad)("refuses %s, without quoting any token", (_name, value, problem) => {
    const problems = problemsOf({ MODELTAP_API_TOKENS: value });
    expect(problems.join("\n")).toMatch(problem);
    expect(problems.join("\n")).not.toContain(T1);
    expect(problems.join("\n")).not.toContain("short");
  });

  it("takes at most 32 tokens", () => {
    const many = Array.from({ length: 33 }, (_, i) => `t${i}:${T1}-${i}`).join(",");
    expect(problemsOf({ MODELTAP_API_TOKENS: many })).toEqual([
      "MODELTAP_API_TOKENS: at most 32 entries, got 33",
    ]);
  });
});

describe("MODELTAP_WEBHOOK_SECRET and MODELTAP_MEDIA_KEYS", () => {
  it("takes media keys by key id, the first one signing", () => {
    const c = loadConfig({
      MODELTAP_WEBHOOK_SECRET: "webhook-secret-0123456789",
      MODELTAP_MEDIA_KEYS: "k2:new-media-key-0123456789,k1:old-media-key-0123456789",
    });
    expect(c.webhookSecret).toBe("webhook-secret-0123456789");
    expect(c.mediaKeys.map((k) => k.name)).toEqual(["k2", "k1"]);
  });

  it("refuses a bad key id and a short key", () => {
    expect(problemsOf({ MODELTAP_MEDIA_KEYS: `k/1:${T1}` })).toEqual([
      "MODELTAP_MEDIA_KEYS: entry 1: the name must be [A-Za-z0-9_-]{1,32}",
    ]);
    expect(problemsOf({ MODELTAP_MEDIA_KEYS: "k1:0123" })).toEqual([
      "MODELTAP_MEDIA_KEYS: entry 1 (k1): the secret must be at least 16 characters",
    ]);
  });

  it("refuses one secret used for two purposes", () => {
    expect(
      problemsOf({
        MODELTAP_API_TOKENS: `crm:${T1}`,
        MODELTAP_WEBHOOK_SECRET: T1,
        MODELTAP_MEDIA_KEYS: `k1:${T2},k0:${T1}`,
      }),
    ).toEqual([
      "MODELTAP_API_TOKENS and MODELTAP_WEBHOOK_SECRET: must not share a secret (one secret per purpose)",
      "MODELTAP_API_TOKENS and MODELTAP_MEDIA_KEYS: must not share a secret (one secret per purpose)",
      "MODELTAP_WEBHOOK_SECRET and MODELTAP_MEDIA_KEYS: must not share a secret (one secret per purpose)",
    ]);
  });

  it("bounds the media URL TTL from 60 s to 365 days", () => {
    expect(loadConfig({ MODELTAP_MEDIA_URL_TTL_SECONDS: "60" }).mediaUrlTtlSeconds).toBe(60);
    expect(problemsOf({ MODELTAP_MEDIA_URL_TTL_SECONDS: "59" })[0]).toMatch(
      /MODELTAP_MEDIA_URL_TTL_SECONDS: must be an integer from 60 to 31536000/,
    );
  });
});

describe("MODELTAP_API_METRICS", () => {
  it.each([
    ["off", { mode: "off" }],
    ["same", { mode: "same" }],
    ["127.0.0.1:9466", { mode: "bind", host: "127.0.0.1", port: 9466 }],
    ["metrics.internal:9466", { mode: "bind", host: "metrics.internal", port: 9466 }],
    ["[::1]:9466", { mode: "bind", host: "::1", port: 9466 }],
  ])("takes %s", (value, want) => {
    expect(loadConfig({ MODELTAP_API_METRICS: value }).apiMetrics).toEqual(want);
  });

  it.each(["on", "9466", "127.0.0.1:0", "127.0.0.1:70000", "host:port"])("refuses %s", (value) => {
    expect(problemsOf({ MODELTAP_API_METRICS: value })).toEqual([
      `MODELTAP_API_METRICS: must be off, same, or <host>:<port>, got ${JSON.stringify(value)}`,
    ]);
  });
});
