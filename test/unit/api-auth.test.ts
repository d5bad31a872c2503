/**
 * src/api/auth.ts and the checks of src/api/server.ts: one secret per purpose. Named API tokens for
 * the ground-truth API, the webhook secret for the webhook alone, and media URLs signed by a key id
 * that expire; /metrics on the api port only when asked.
 */
import type http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  MEDIA_PATH,
  bearerOk,
  bearerTokenName,
  checkMediaQuery,
  signedMediaUrl,
} from "../../src/api/auth.js";
import type { HandlerDeps } from "../../src/api/handlers.js";
import { createApiMetrics } from "../../src/api/metrics.js";
import { startApiServer, type ApiServerOptions } from "../../src/api/server.js";
import { noneBackend } from "../../src/adapters/none-labeling.js";
import { PluginRegistry } from "../../src/plugins/registry.js";
import { png } from "../support/bytes.js";
import { bodyRow, captureRow, imageInstance } from "../support/captures.js";
import {
  FakeBlobStore,
  FakeCaptureRepository,
  FakeGroundTruthRepository,
  FakeLabelExportQueue,
} from "../support/fakes.js";
import { captureLog } from "../support/log.js";

const SECRET = "s3cret-0123456789abcdef";

describe("bearerOk", () => {
  const table: Array<[string, string | undefined, string, boolean]> = [
    ["the exact secret", `Bearer ${SECRET}`, SECRET, true],
    ["a lower-case scheme", `bearer ${SECRET}`, SECRET, true],
    ["an upper-case scheme", `BEARER ${SECRET}`, SECRET, true],
    ["surrounding whitespace", `  Bearer ${SECRET}  `, SECRET, true],
    ["a wrong secret", "Bearer not-the-secret-at-all", SECRET, false],
    ["a prefix of the secret", `Bearer ${SECRET.slice(0, -1)}`, SECRET, false],
    ["the secret with a suffix", `Bearer ${SECRET}x`, SECRET, false],
    ["another scheme", `Token ${SECRET}`, SECRET, false],
    ["the bare secret", SECRET, SECRET, false],
    ["the scheme alone", "Bearer ", SECRET, false],
    ["no header", undefined, SECRET, false],
    ["an empty header", "", SECRET, false],
    ["an empty configured secret", "Bearer ", "", false],
    ["an empty configured secret, any token", "Bearer x", "", false],
  ];

  it.each(table)("%s → %s", (_name, header, secret, ok) => {
    expect(bearerOk(header, secret)).toBe(ok);
  });
});

describe("bearerTokenName", () => {
  const tokens = [
    { name: "crm", secret: "crm-token-0123456789" },
    { name: "etl", secret: "etl-token-0123456789" },
  ];

  it("names the token the header carries", () => {
    expect(bearerTokenName("Bearer crm-token-0123456789", tokens)).toBe("crm");
    expect(bearerTokenName("bearer etl-token-0123456789", tokens)).toBe("etl");
  });

  it.each([
    ["another token", "Bearer nobody-token-0123456789"],
    ["a token's name", "Bearer crm"],
    ["a prefix of a token", "Bearer crm-token-012345678"],
    ["another scheme", "Token crm-token-0123456789"],
    ["no header", undefined],
  ])("gives no name for %s", (_name, header) => {
    expect(bearerTokenName(header, tokens)).toBeUndefined();
  });

  it("accepts nothing when no token is configured", () => {
    expect(bearerTokenName("Bearer crm-token-0123456789", [])).toBeUndefined();
  });
});

describe("media URLs", () => {
  const K1 = { name: "k1", secret: "old-media-key-0123456789" };
  const K2 = { name: "k2", secret: "new-media-key-0123456789" };
  const NOW = 1_800_000_000;
  const url = (key = K2, id = "req-1", instance = 0, exp = NOW + 3600) =>
    new URL(signedMediaUrl("https://mt.example", key, id, instance, exp));
  const check = (u: URL, keys = [K2, K1], now = NOW) => checkMediaQuery(u.searchParams, keys, now);
  const edit = (u: URL, name: string, value: string | null) => {
    const v = new URL(u);
    if (value === null) v.searchParams.delete(name);
    else v.searchParams.set(name, value);
    return v;
  };

  it("carries the key id and the expiry, and opens its own capture instance", () => {
    const u = url();
    expect([...u.searchParams.keys()]).toEqual(["capture", "instance", "exp", "kid", "sig"]);
    expect(u.searchParams.get("kid")).toBe("k2");
    expect(u.searchParams.get("exp")).toBe(String(NOW + 3600));
    expect(u.searchParams.get("sig")).toMatch(/^[\w-]{43}$/);
    expect(check(u)).toEqual({ ok: true, captureId: "req-1", instance: 0 });
  });

  it("keeps opening URLs signed by an older key while it is still listed (rotation)", () => {
    expect(check(url(K1))).toMatchObject({ ok: true });
    expect(check(url(K1), [K2])).toEqual({
      ok: false,
      status: 403,
      error: "media URL signed with an unknown key id",
    });
  });

  it("answers 410 to an authentic URL past its expiry, and only to an authentic one", () => {
    const expired = check(url(K2, "req-1", 0, NOW), [K2], NOW);
    expect(expired).toMatchObject({ ok: false, status: 410 });
    expect(expired.ok ? "" : expired.error).toMatch(/expired at .*MODELTAP_MEDIA_URL_TTL_SECONDS/);
    // A forged expired URL learns nothing more than a forged live one.
    const forged = edit(url(K2, "req-1", 0, NOW - 10), "sig", "A".repeat(43));
    expect(check(forged)).toMatchObject({ ok: false, status: 403 });
  });

  const tamper = (sig: string) => `${sig.slice(0, -1)}${sig.endsWith("A") ? "B" : "A"}`;
  const refused: Array<[string, URL]> = [
    ["another instance", edit(url(), "instance", "1")],
    ["another capture", edit(url(), "capture", "req-2")],
    ["a later expiry", edit(url(), "exp", String(NOW + 7200))],
    ["another listed key id", edit(url(), "kid", "k1")],
    ["a tampered signature", edit(url(), "sig", tamper(url().searchParams.get("sig")!))],
    ["no signature", edit(url(), "sig", null)],
    ["a URL signed with another secret under the same kid", url({ name: "k2", secret: "x".repeat(24) })],
  ];

  it.each(refused)("refuses %s (403)", (_name, u) => {
    expect(check(u)).toMatchObject({ ok: false, status: 403, error: "bad or missing media signature" });
  });

  it("refuses a URL of the old form, without key id or expiry, saying so", () => {
    const old = edit(edit(url(), "kid", null), "exp", null);
    expect(check(old)).toMatchObject({ ok: false, status: 403, error: expect.stringMatching(/re-export/) });
  });

  it("answers 400 without a capture or an instance", () => {
    expect(check(edit(url(), "capture", null))).toMatchObject({ ok: false, status: 400 });
    expect(check(edit(url(), "instance", "-1"))).toMatchObject({ ok: false, status: 400 });
  });

  it("signs the instance apart from the id (no separator ambiguity)", () => {
    const a = url(K2, "req-1", 12).searchParams.get("sig");
    const b = url(K2, "req-11", 2).searchParams.get("sig");
    expect(a).not.toBe(b);
  });

  const ids = [
    "plain-id",
    "a:b",
    "with/slash",
    "sp ace",
    "q?x=1",
    "hash#frag",
    "per%cent",
    "é-ünï",
    "a+b&c",
    ".",
    "..",
  ];

  it.each(ids)("carries %j in the query so it parses back exactly", (id) => {
    const u = new URL(signedMediaUrl("https://mt.example/prefix", K2, id, 7, NOW + 60));
    expect(u.origin).toBe("https://mt.example");
    expect(u.pathname).toBe(`/prefix${MEDIA_PATH}`);
    expect(u.searchParams.get("capture")).toBe(id);
    expect(check(u)).toEqual({ ok: true, captureId: id, instance: 7 });
  });
});

describe("startApiServer: one secret per purpose", () => {
  const TOKENS = [{ name: "crm", secret: "crm-token-0123456789" }];
  const WEBHOOK = "webhook-secret-0123456789";
  const KEY = { name: "k1", secret: "media-key-0123456789" };
  const IMAGE = png(3, 2);
  let now = 1_800_000_000;
  const servers: http.Server[] = [];
  const { log, lines } = captureLog();

  async function serve(over: Partial<ApiServerOptions> = {}): Promise<string> {
    const blobs = new FakeBlobStore();
    await blobs.put("raw-1/request", IMAGE);
    const deps: HandlerDeps = {
      captures: new FakeCaptureRepository([
        captureRow("raw-1", "image_classification", [imageInstance(3, 2)], {
          request: bodyRow("image/png", "raw-1/request"),
        }),
      ]),
      groundTruth: new FakeGroundTruthRepository(),
      exports: new FakeLabelExportQueue(),
      blobs,
      backend: noneBackend,
      plugins: new PluginRegistry(),
      metrics: createApiMetrics(),
      log,
    };
    const server = await startApiServer(deps, {
      host: "127.0.0.1",
      port: 0,
      tokens: TOKENS,
      webhookSecret: WEBHOOK,
      mediaKeys: [KEY],
      serveMetrics: true,
      maxBodyBytes: 1 << 20,
      ready: () => true,
      nowSeconds: () => now,
      ...over,
    });
    servers.push(server);
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  let base = "";
  beforeAll(async () => {
    base = await serve();
  });
  afterAll(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));

  const post = (path: string, secret: string, body: unknown = {}) =>
    fetch(`${base}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${secret}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });

  it("takes an API token on the ground-truth API, and logs its name, never the token", async () => {
    const res = await post("/v1/ground-truth", TOKENS[0]!.secret, {
      capture_id: "raw-1",
      label: { kind: "classification", label: "cat" },
    });
    expect(res.status).toBe(200);
    const write = lines.find((l) => l.msg === "ground truth from the api");
    expect(write).toMatchObject({ token: "crm", outcome: "stored" });
    expect(JSON.stringify(lines)).not.toContain(TOKENS[0]!.secret);
  });

  it("refuses the webhook secret on the ground-truth API, and an API token on the webhook", async () => {
    for (const path of ["/v1/ground-truth", "/v1/ground-truth/raw-1"]) {
      const res =
        path === "/v1/ground-truth"
          ? await post(path, WEBHOOK)
          : await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${WEBHOOK}` } });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({
        error: "missing or bad Authorization: Bearer <an API token (MODELTAP_API_TOKENS)>",
      });
    }
    const hook = await post("/v1/labeling/webhook", TOKENS[0]!.secret);
    expect(hook.status).toBe(401);
    expect(await hook.json()).toEqual({
      error: "missing or bad Authorization: Bearer <MODELTAP_WEBHOOK_SECRET>",
    });
    // The webhook secret itself gets through to the backend (none: a 400, not a 401).
    expect((await post("/v1/labeling/webhook", WEBHOOK, { action: "X" })).status).toBe(400);
  });

  it("serves an image until its URL expires, then answers 410 with a JSON error", async () => {
    const u = signedMediaUrl(base, KEY, "raw-1", 0, now + 60);
    const ok = await fetch(u);
    expect(ok.status).toBe(200);
    expect(Buffer.from(await ok.arrayBuffer()).equals(IMAGE)).toBe(true);
    now += 61;
    const gone = await fetch(u);
    expect(gone.status).toBe(410);
    expect(gone.headers.get("content-type")).toBe("application/json");
    expect((await gone.json()) as unknown).toEqual({ error: expect.stringMatching(/^media URL expired at/) });
    const unknown = await fetch(
      signedMediaUrl(base, { name: "k9", secret: KEY.secret }, "raw-1", 0, now + 60),
    );
    expect(unknown.status).toBe(403);
    expect(await unknown.json()).toEqual({ error: "media URL signed with an unknown key id" });
  });

  it("serves /metrics on the api port only with MODELTAP_API_METRICS=same", async () => {
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
    const without = await serve({ serveMetrics: false });
    const res = await fetch(`${without}/metrics`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "no route /metrics" });
    expect((await fetch(`${without}/healthz`)).status).toBe(200);
  });
});
