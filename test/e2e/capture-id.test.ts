/**
 * Capture identity through a real Envoy running the shipped envoy/envoy.yaml (on ports of its own,
 * beside the stack's, with the stack's collector): every captured exchange gets a capture id of its
 * own, hops and replays that share an x-request-id are each kept, the request id finds them all,
 * a request with no id is sampled by a random draw, and ids that sanitize alike never share stored
 * bodies (docs/record.md).
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/config.js";
import { requestIdKey } from "../../src/core/capture-id.js";
import { irisBody, sentimentBody } from "../../tools/demo/payloads.js";
import { renderShippedEnvoyConfig } from "../../tools/stack/envoy-config.js";
import { paths } from "../../tools/stack/services.js";
import { config, db, freePort, poll, rowsFor, storedBody, waitForRows, expectBytes } from "./helpers.js";

const pg = db();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "modeltap-capture-id-"));
const envoys: ChildProcess[] = [];
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

type Ports = { envoy: number; envoyNormal: number; envoyBaseline: number; envoyAdmin: number };

/** A real Envoy on the shipped config, on free ports; `edit` changes the rendered YAML first. */
async function startEnvoy(name: string, edit: (yaml: string) => string = (y) => y): Promise<Ports> {
  const ports: Ports = { envoy: 0, envoyNormal: 0, envoyBaseline: 0, envoyAdmin: 0 };
  for (const k of Object.keys(ports) as Array<keyof Ports>) ports[k] = await freePort();
  const file = path.join(dir, `${name}.yaml`);
  fs.writeFileSync(file, edit(renderShippedEnvoyConfig({ ...config, ports: { ...config.ports, ...ports } })));
  const envoy = spawn(
    path.join(paths(config).venvBin, "envoy"),
    ["-c", file, "--disable-hot-restart", "-l", "error"],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  envoys.push(envoy);
  await poll(`the test's Envoy (${name})`, () =>
    fetch(`http://127.0.0.1:${ports.envoyAdmin}/ready`).then(
      (r) => (r.ok ? true : undefined),
      () => undefined,
    ),
  );
  return ports;
}

let shipped: Ports;
/** The same config with request-id generation off: requests reach the collector with no id. */
let noIds: Ports;

beforeAll(async () => {
  shipped = await startEnvoy("shipped");
  noIds = await startEnvoy("no-ids", (yaml) =>
    yaml.replace(/^(\s+)always_set_request_id_in_response: true$/gm, "$1generate_request_id: false"),
  );
});

afterAll(async () => {
  for (const e of envoys) e.kill("SIGTERM");
  await pg.end();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function post(port: number, headers: Record<string, string> = {}, body = irisBody(1), model = "iris") {
  const res = await fetch(`http://127.0.0.1:${port}/v2/models/${model}/infer`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body,
  });
  await res.arrayBuffer();
  return res;
}

const cli = (...args: string[]) =>
  promisify(execFile)(process.execPath, [path.join(PACKAGE_ROOT, "bin", "modeltap.js"), ...args]);

it("answers a request sent without an id with the request id that finds its capture, in both modes", async () => {
  for (const port of [shipped.envoy, shipped.envoyNormal]) {
    const res = await post(port);
    expect(res.status).toBe(200);
    const id = res.headers.get("x-request-id");
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    const rows = await waitForRows(pg, [id!]);
    expect(rows.map((r) => [r.request_id, r.model, r.sampled_by])).toEqual([[id, "iris", "request_id"]]);
    // The capture id is the collector's own: a UUIDv7, not the request id.
    expect(rows[0]!.id).toMatch(UUID_V7);
    expect(rows[0]!.id).not.toBe(id);
  }
});

it("keeps every hop and every replay of one x-request-id as a capture of its own", async () => {
  const shared = randomUUID();
  // Two hops (the observability and the normal listener each capture it), then a client replay.
  for (const port of [shipped.envoy, shipped.envoyNormal, shipped.envoy]) {
    expect((await post(port, { "x-request-id": shared })).status).toBe(200);
  }
  const rows = await waitForRows(pg, [shared], 3);
  expect(rows).toHaveLength(3);
  expect(new Set(rows.map((r) => r.id)).size).toBe(3);
  expect(rows.map((r) => r.mode).sort()).toEqual(["normal", "observability", "observability"]);
  // Time-ordered: sorted by capture id is sorted by when the collector saw them.
  const byId = [...rows].sort((a, b) => a.id.localeCompare(b.id));
  const times = byId.map((r) => (r as unknown as { received_at: Date }).received_at.getTime());
  expect([...times].sort((a, b) => a - b)).toEqual(times);

  // The request id finds every hop; `captures get` by it refuses to guess which one.
  const listed = JSON.parse(
    (await cli("captures", "list", "--request-id", shared, "--json")).stdout,
  ) as Array<{
    id: string;
    request_id: string;
  }>;
  expect(listed.map((r) => r.id).sort()).toEqual(rows.map((r) => r.id).sort());
  expect(new Set(listed.map((r) => r.request_id))).toEqual(new Set([shared]));
  await expect(cli("captures", "get", shared)).rejects.toMatchObject({
    stderr: expect.stringContaining("[AMBIGUOUS_ID]"),
  });
  const one = JSON.parse((await cli("captures", "get", rows[0]!.id, "--json")).stdout) as { id: string };
  expect(one.id).toBe(rows[0]!.id);
});

it("samples a request with no x-request-id at the route's rate by a random draw, and says so", async () => {
  const since = new Date();
  const N = 200;
  for (let i = 0; i < N; i += 20) {
    await Promise.all(
      Array.from({ length: 20 }, (_, j) =>
        post(noIds.envoy, {}, sentimentBody(i + j), "sentiment").then((res) => {
          expect(res.status).toBe(200);
          expect(res.headers.get("x-request-id")).toBeNull();
        }),
      ),
    );
  }
  // The sentiment route samples 25%: 4 standard deviations of Binomial(200, 0.25) are 50 ± 24.5.
  const count = async () =>
    Number(
      (
        await pg.query<{ n: string }>(
          "SELECT count(*) AS n FROM captures WHERE model = 'sentiment' AND sampled_by = 'random' AND request_id = '' AND persisted_at >= $1",
          [since],
        )
      ).rows[0]!.n,
    );
  // A capture sent after them, once stored, means theirs are stored too (one collector, in order).
  const after = randomUUID();
  await post(shipped.envoy, { "x-request-id": after });
  expect(await waitForRows(pg, [after])).toHaveLength(1);
  const n = await count();
  expect(n).toBeGreaterThanOrEqual(26);
  expect(n).toBeLessThanOrEqual(74);
});

it("never lets ids that sanitize alike, or share a long prefix, overwrite each other's stored bodies", async () => {
  // Before capture ids, object keys were built from the x-request-id with every character outside
  // [A-Za-z0-9._-] made "_" and a cut at 200: each group here shared one key, the last writer won.
  const run = randomUUID().slice(0, 8);
  const long = "x".repeat(250);
  // Header values are bytes: é and ü travel as their UTF-8, which the collector keeps byte for byte
  // (as Latin-1 text, so the request id stored is the header as sent).
  const sent = ["a/b", "a_b", "a b", "é", "ü", `${long}-1`, `${long}-2`].map((s, i) => ({
    id: Buffer.from(`${run}:${s}`, "utf8").toString("latin1"),
    body: Buffer.alloc(20_000, i + 1),
  }));
  for (const s of sent) {
    const res = await fetch(`http://127.0.0.1:${shipped.envoy}/v2/models/echo/infer`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream", "x-request-id": s.id },
      body: s.body,
    });
    await res.arrayBuffer();
    expect(res.status, s.id).toBe(200);
  }
  // Ids past 256 characters are stored as their prefix and hash (requestIdKey): look them up so.
  const keys = sent.map((s) => requestIdKey(s.id));
  const rows = await waitForRows(pg, keys);
  expect(rows).toHaveLength(sent.length);
  expect(new Set(rows.map((r) => r.request_object_key)).size).toBe(sent.length);
  for (const s of sent) {
    const mine = (await rowsFor(pg, [requestIdKey(s.id)]))[0]!;
    expect(mine.request_object_key, s.id).not.toBeNull();
    expectBytes(await storedBody(mine, "request"), s.body);
  }
});

it("keeps a 6 KB x-request-id as its prefix and hash, and finds it by the full id", async () => {
  // Stored whole, it would not fit a Postgres index row, and every insert of it would fail.
  const long = `${randomUUID()}-${"z".repeat(6000)}`;
  expect((await post(shipped.envoy, { "x-request-id": long })).status).toBe(200);
  let listed: Array<{ request_id: string }> = [];
  await poll("the long-id capture", async () => {
    listed = JSON.parse(
      (await cli("captures", "list", "--request-id", long, "--json")).stdout,
    ) as typeof listed;
    return listed.length > 0 ? true : undefined;
  });
  expect(listed).toHaveLength(1);
  expect(listed[0]!.request_id).toMatch(new RegExp(`^${long.slice(0, 128)}~sha256:[0-9a-f]{64}$`));
});

it("never lets version names that sanitize alike, on one request id, share stored bodies", async () => {
  // Before capture ids the key was <model>/<sanitized version>/…/<request id>: these three shared it.
  const shared = randomUUID();
  const versions = ["v/1", "v_1", "v 1"];
  const sent = versions.map((v, i) => ({ version: v, body: Buffer.alloc(20_000, 0x40 + i) }));
  for (const s of sent) {
    const res = await fetch(`http://127.0.0.1:${shipped.envoy}/v2/models/echo/infer`, {
      method: "POST",
      headers: {
        "content-type": "application/octet-stream",
        "x-request-id": shared,
        "x-model-version": s.version,
      },
      body: s.body,
    });
    await res.arrayBuffer();
    expect(res.status).toBe(200);
  }
  const rows = await waitForRows(pg, [shared], 3);
  expect(rows.map((r) => r.version).sort()).toEqual([...versions].sort());
  expect(new Set(rows.map((r) => r.request_object_key)).size).toBe(3);
  for (const s of sent) {
    const row = rows.find((r) => r.version === s.version)!;
    expectBytes(await storedBody(row, "request"), s.body);
  }
});
