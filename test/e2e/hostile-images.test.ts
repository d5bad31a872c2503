/**
 * Hostile images through the real Envoy, on both mask routes: a 33-byte PNG claiming 40000×40000
 * pixels, and one claiming 2^31×1. Before geometry budgets the worker rasterised a 1.6 Gpx mask for
 * the first (40 s, 4 GB) and 18 minutes of columns for the second, and the collector scaled COCO
 * RLE masks to the claimed size on its one thread. Now each capture must be stored within seconds,
 * flagged `over_budget`, with its raw request bytes, and a normal request after it still captured.
 *
 * A real Envoy and a collector of this test's own (built from dist/, so the test does not depend on
 * when the stack's collector was started) publish to the stack's NATS, and the stack's worker
 * stores. Two routes: the demo segmenter (polygons in 320×320 stretched coordinates), and a
 * COCO-RLE segmenter served by this test (a mask at the model's 32×32 input, stretched back onto
 * the image).
 */
import { observabilityEnvoyConfig } from "../support/envoy-config.js";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/config.js";
import { pngImage } from "../../tools/demo/payloads.js";
import { productEnv } from "../../tools/stack/settings.js";
import { claimedPng } from "../support/claimed-images.js";
import { send } from "../support/http.js";
import { config, db, expectBytes, freePort, startEnvoy, storedBody, until, waitForRows } from "./helpers.js";

const pg = db();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "modeltap-hostile-"));
const ports = { listener: 0, admin: 0, grpc: 0, metrics: 0 };
const children: ChildProcess[] = [];
let rleModel: http.Server | undefined;

/** A 32×32 mask with columns 8 to 23 set: one run over column boundaries. */
const RLE_ANSWER = JSON.stringify([
  { segmentation: { size: [32, 32], counts: [8 * 32, 16 * 32, 8 * 32] }, category_id: 1, score: 0.9 },
]);

const ROUTES = {
  polygons: {
    path: "/predictions/segmenter",
    cluster: "demo",
    meta: { converter: "polygons", scaler: "stretch", input_size: "320x320" },
  },
  coco_rle: {
    path: "/predictions/rle-segmenter",
    cluster: "rle_model",
    meta: { converter: "coco_rle", scaler: "stretch", input_size: "32x32" },
  },
} as const;

function envoyConfig(rlePort: number): string {
  return observabilityEnvoyConfig({
    name: "hostile",
    adminPort: ports.admin,
    listenerPort: ports.listener,
    collectorPort: ports.grpc,
    routes: Object.entries(ROUTES).map(([name, r]) => ({
      name: `hostile-${name}`,
      path: r.path,
      cluster: r.cluster,
      modeltap: {
        model: `hostile-${name.replace("_", "-")}`,
        version: "1",
        task: "instance_segmentation",
        protocol: "torchserve",
        labels: ["blob", "background"],
        ...r.meta,
      },
    })),
    upstreams: { demo: config.ports.demo, rle_model: rlePort },
  });
}

interface Stored {
  request_id: string;
  parse_error: string;
  analysis: {
    over_budget?: string[];
    instances: Array<{
      input: { image?: { width: number; height: number } };
      prediction: { instances: Array<{ rle?: unknown; mask_uri?: string }> } | null;
      notes?: string[];
    }>;
  } | null;
}

async function analysisOf(requestId: string): Promise<Stored> {
  const res = await pg.query<Stored>(
    "SELECT request_id, parse_error, analysis FROM captures WHERE request_id = $1",
    [requestId],
  );
  expect(res.rows, `captures of ${requestId}`).toHaveLength(1);
  return res.rows[0]!;
}

beforeAll(async () => {
  // The COCO-RLE model: the same mask whatever it is sent (it reads only the request's end).
  rleModel = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(200, { "content-type": "application/json" }).end(RLE_ANSWER));
  });
  await new Promise<void>((resolve) => rleModel!.listen(0, "127.0.0.1", resolve));
  for (const k of Object.keys(ports) as Array<keyof typeof ports>) ports[k] = await freePort();
  children.push(
    spawn(process.execPath, [path.join(PACKAGE_ROOT, "dist", "cli", "main.js"), "collector"], {
      env: {
        ...productEnv(process.env),
        MODELTAP_COLLECTOR_PORT: String(ports.grpc),
        MODELTAP_COLLECTOR_METRICS_PORT: String(ports.metrics),
        MODELTAP_LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "ignore", "inherit"],
    }),
  );
  await until("the collector", async () => (await fetch(`http://127.0.0.1:${ports.metrics}/readyz`)).ok);
  children.push(await startEnvoy(dir, envoyConfig((rleModel.address() as AddressInfo).port), ports.admin));
});

afterAll(async () => {
  for (const child of children) child.kill("SIGTERM");
  await new Promise((resolve) => rleModel?.close(resolve));
  await pg.end();
  fs.rmSync(dir, { recursive: true, force: true });
});

const HOSTILE = [
  ["40000×40000", claimedPng(40_000, 40_000)],
  ["2^31×1", claimedPng(2 ** 31, 1)],
] as const;

/** Stored within this long of being sent: well inside NATS's 30 s ack_wait, and far from 40 s. */
const PACE_MS = 5000;

for (const [route, r] of Object.entries(ROUTES)) {
  describe(`the ${route} route`, () => {
    const url = () => `http://127.0.0.1:${ports.listener}${r.path}`;

    for (const [claim, image] of HOSTILE) {
      it(`stores a 33-byte PNG claiming ${claim} within seconds, flagged, with its raw bytes`, async () => {
        expect(image.byteLength).toBe(33);
        const started = Date.now();
        const s = await send(url(), image, { contentType: "image/png" });
        expect(s.status, s.error ?? s.response.toString().slice(0, 200)).toBe(200);
        const rows = await waitForRows(pg, [s.id], 1, 20_000);
        const took = Date.now() - started;
        expect(rows, "the hostile capture was stored").toHaveLength(1);
        expect(took, "stored within the worker's pace").toBeLessThan(PACE_MS);
        expectBytes(await storedBody(rows[0]!, "request"), image);
        const stored = await analysisOf(s.id);
        expect(stored.parse_error).toBe("");
        expect(stored.analysis?.over_budget).toContain("image_pixels");
        const inst = stored.analysis!.instances[0]!;
        expect(inst.input.image).toBeUndefined();
        expect(inst.prediction).toBeNull();
        expect(inst.notes?.[0]).toMatch(
          /^image claims \d+×\d+ pixels, more than the image budget of 50000000/,
        );

        // The collector keeps serving: a normal request after is captured, masks and all.
        const normal = await send(url(), pngImage(64, 48), { contentType: "image/png" });
        expect(normal.status).toBe(200);
        expect(await waitForRows(pg, [normal.id], 1, 20_000)).toHaveLength(1);
        const ok = await analysisOf(normal.id);
        expect(ok.parse_error).toBe("");
        expect(ok.analysis?.over_budget).toBeUndefined();
        expect(ok.analysis!.instances[0]!.input.image).toMatchObject({ width: 64, height: 48 });
        expect(ok.analysis!.instances[0]!.prediction!.instances[0]!.mask_uri).toBeTruthy();
      }, 60_000);
    }
  });
}
