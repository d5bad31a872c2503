/**
 * The sampling gate through the real Envoy: on the shipped config (gated by the stack with its
 * seed) Envoy opens an ext_proc stream for exactly the exchanges the collector's sampler keeps, at
 * rates 0, 0.1 and 1, in both modes, over thousands of ids (ASCII, Latin-1 bytes, past XXH64's
 * 32-byte stripes), and every one of them is stored. An ungated config falls back to the collector's
 * decision, exactly; a gate with another seed is counted in modeltap_gate_sampled_out_total.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { isMap, isSeq, parseDocument, type Document } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { planGate, YAML_OUTPUT } from "../../src/core/envoy/gate.js";
import { isSampledBytes } from "../../src/core/sampler.js";
import { renderShippedEnvoyConfig } from "../../tools/stack/envoy-config.js";
import { pool, send, type Sent } from "../support/http.js";
import {
  collectorMetric,
  config,
  db,
  freePort,
  NORMAL,
  OBS,
  rowsFor,
  SAMPLING_SEED,
  startEnvoy,
  until,
  waitForRows,
} from "./helpers.js";

const pg = db();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "modeltap-gate-"));
const envoys: ChildProcess[] = [];
const BODY = JSON.stringify({ inputs: [{ name: "x", data: "y".repeat(1000) }] });

afterAll(async () => {
  for (const e of envoys) e.kill("SIGTERM");
  await pg.end();
});

/** Unique to this run, so ids never meet the captures of an earlier run in the same database. */
const RUN = randomUUID().slice(0, 8);

/** Ids of every shape the hash must agree on: UUIDs, Latin-1 bytes, longer than a 32-byte stripe, short. */
function ids(n: number, name: string): string[] {
  const tag = `${name}-${RUN}`;
  return Array.from({ length: n }, (_, i) => {
    switch (i % 4) {
      case 0:
        return randomUUID();
      case 1:
        return `${tag}-${i}-\u00e9t\u00e9-${"x".repeat(i % 50)}`;
      case 2:
        return `${tag}-${i}-${randomUUID()}-${randomUUID()}`.slice(0, 33 + (i % 60));
      default:
        return `${tag}${i}`;
    }
  });
}

/** The header's bytes, as Envoy hashes them (fetch sends a Latin-1 string one byte a char). */
const sampled = (id: string, rate: number, seed: bigint) =>
  isSampledBytes(Buffer.from(id, "latin1"), rate, seed);

async function adminStat(adminPort: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/stats?filter=${name}$`)).text();
  return Number(/: (\d+)$/m.exec(text)?.[1] ?? 0);
}

async function sendAll(base: string, route: string, list: readonly string[]): Promise<Sent[]> {
  const sent = await pool(list.length, 16, (i) => send(`${base}${route}`, BODY, { id: list[i]! }));
  expect(sent.filter((s) => s.status !== 200).map((s) => `${s.id}: ${s.status} ${s.error ?? ""}`)).toEqual(
    [],
  );
  return sent;
}

async function collectorCount(decision: string, mode: string): Promise<number> {
  return collectorMetric("modeltap_exchanges_total", { decision, mode });
}

const disagreements = () => collectorMetric("modeltap_gate_sampled_out_total", { model: "bench" });

describe.each([
  ["observability", OBS, "inference"],
  ["normal", NORMAL, "inference_normal"],
] as const)("the shipped config, %s mode", (mode, base, listener) => {
  it.each([
    ["/bench/s0", 0, 400],
    ["/bench/s01", 0.1, mode === "observability" ? 4000 : 2000],
    ["/bench/s1", 1, 300],
  ] as const)(
    "%s (sample_rate %s): Envoy opens a stream for exactly the sampled exchanges, and every one is stored",
    async (route, rate, n) => {
      const streams = () =>
        adminStat(config.ports.envoyAdmin, `http.${listener}.ext_proc.modeltap.streams_started`);
      const before = {
        streams: await streams(),
        sampled: await collectorCount("sampled", mode),
        off: await disagreements(),
      };
      const list = ids(n, `${mode}-${rate}`);
      await sendAll(base, route, list);
      const want = list.filter((id) => sampled(id, rate, SAMPLING_SEED));
      const unsampled = list.filter((id) => !sampled(id, rate, SAMPLING_SEED));
      expect((await streams()) - before.streams).toBe(want.length);
      await until(
        "the collector counts every sampled exchange",
        async () => (await collectorCount("sampled", mode)) - before.sampled >= want.length,
      );
      expect((await collectorCount("sampled", mode)) - before.sampled).toBe(want.length);
      expect((await disagreements()) - before.off).toBe(0);
      expect(await waitForRows(pg, want)).toHaveLength(want.length);
      expect(await rowsFor(pg, unsampled)).toHaveLength(0);
      if (rate === 0.1) expect(want.length / n).toBeGreaterThan(0.07);
    },
    120_000,
  );
});

/** The rendered shipped config with every gate and the wrapper taken out: the collector decides alone. */
function ungate(doc: Document): void {
  const visit = (node: unknown): void => {
    if (isSeq(node)) for (const item of node.items) visit(item);
    if (!isMap(node)) return;
    const typed = node.get("typed_config", true);
    if (node.get("name") === "modeltap" && isMap(typed) && typed.has("extension_config")) {
      node.set("typed_config", typed.getIn(["extension_config", "typed_config"], true));
    }
    const perFilter = node.get("typed_per_filter_config", true);
    if (isMap(perFilter)) {
      perFilter.delete("modeltap");
      if (perFilter.items.length === 0) node.delete("typed_per_filter_config");
    }
    for (const pair of node.items) visit(pair.value);
  };
  visit(doc.contents);
}

interface OwnEnvoy {
  obs: string;
  normal: string;
  admin: number;
}

async function ownEnvoy(name: string, edit: (doc: Document) => void): Promise<OwnEnvoy> {
  const ports = {
    envoy: await freePort(),
    envoyNormal: await freePort(),
    envoyBaseline: await freePort(),
    envoyAdmin: await freePort(),
  };
  const doc = parseDocument(renderShippedEnvoyConfig({ ...config, ports: { ...config.ports, ...ports } }));
  edit(doc);
  const own = path.join(dir, name);
  fs.mkdirSync(own);
  envoys.push(await startEnvoy(own, doc.toString(YAML_OUTPUT), ports.envoyAdmin));
  return {
    obs: `http://127.0.0.1:${ports.envoy}`,
    normal: `http://127.0.0.1:${ports.envoyNormal}`,
    admin: ports.envoyAdmin,
  };
}

describe("without the gate", () => {
  let envoy: OwnEnvoy;
  beforeAll(async () => {
    envoy = await ownEnvoy("ungated", ungate);
  });

  it("the collector's own decision is the exact fallback: it stores the same exchanges a gate would pass", async () => {
    const streams = () => adminStat(envoy.admin, "http.inference.ext_proc.modeltap.streams_started");
    const before = await streams();
    const list = ids(1000, "ungated");
    await sendAll(envoy.obs, "/bench/s01", list);
    expect((await streams()) - before).toBe(1000);
    const want = list.filter((id) => sampled(id, 0.1, SAMPLING_SEED));
    expect(await waitForRows(pg, want)).toHaveLength(want.length);
    expect(
      await rowsFor(
        pg,
        list.filter((id) => !want.includes(id)),
      ),
    ).toHaveLength(0);
  }, 120_000);

  it("normal mode answers an unsampled exchange's headers with mode_override: one message, no bodies", async () => {
    const stat = (name: string) => adminStat(envoy.admin, `http.inference_normal.ext_proc.modeltap.${name}`);
    const before = { streams: await stat("streams_started"), sent: await stat("stream_msgs_sent") };
    await sendAll(envoy.normal, "/bench/s0", ids(20, "override"));
    expect((await stat("streams_started")) - before.streams).toBe(20);
    expect((await stat("stream_msgs_sent")) - before.sent).toBe(20);
  });
});

describe("a gate with another seed than the collector's", () => {
  it("is counted in modeltap_gate_sampled_out_total: every stream it opens that the collector does not sample", async () => {
    const other = SAMPLING_SEED ^ 0x1234n;
    const envoy = await ownEnvoy("other-seed", (doc) => {
      expect(planGate(doc, { seed: other }).problems).toEqual([]);
    });
    const before = {
      off: await disagreements(),
      streams: await adminStat(envoy.admin, "http.inference.ext_proc.modeltap.streams_started"),
    };
    const list = ids(1000, "seed");
    await sendAll(envoy.obs, "/bench/s01", list);
    const gated = list.filter((id) => sampled(id, 0.1, other));
    const both = gated.filter((id) => sampled(id, 0.1, SAMPLING_SEED));
    expect(
      (await adminStat(envoy.admin, "http.inference.ext_proc.modeltap.streams_started")) - before.streams,
    ).toBe(gated.length);
    await until(
      "the collector counts the disagreements",
      async () => (await disagreements()) - before.off >= gated.length - both.length,
    );
    expect((await disagreements()) - before.off).toBe(gated.length - both.length);
    // What both hashes keep is all that is stored: about rate² of the traffic.
    expect(await waitForRows(pg, both)).toHaveLength(both.length);
    expect(both.length).toBeLessThan(gated.length / 3);
  }, 120_000);
});
