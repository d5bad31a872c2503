/**
 * The exchangeable storage plugins against the real database: the worker's persist path with the
 * filesystem object store (MODELTAP_OBJECT_STORE=fs) instead of S3, selected through the same plugin
 * table the worker uses, and the label-export queue filled in the same transaction as the row.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { afterAll, expect, it } from "vitest";
import { createObjectStore, openDatabase } from "../../src/adapters/registry.js";
import { storedPart } from "../../src/api/stored-media.js";
import { loadConfig } from "../../src/config.js";
import type { CaptureRecord } from "../../src/core/record.js";
import { PluginRegistry } from "../../src/plugins/registry.js";
import { processBatch } from "../../src/worker/batch.js";
import { pngImage } from "../../tools/demo/payloads.js";
import { inboundMessage, nothingSettled } from "../support/fakes.js";
import { capturedBody, newRecord } from "../support/records.js";
import { batchDeps } from "../support/worker.js";
import { productEnv } from "../../tools/stack/settings.js";
import { config } from "./helpers.js";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "modeltap-fs-store-"));
const fsConfig = loadConfig({
  ...Object.fromEntries(Object.entries(productEnv(process.env)).filter(([k]) => k.startsWith("MODELTAP_"))),
  MODELTAP_DATABASE_URL: config.databaseUrl,
  MODELTAP_OBJECT_STORE: "fs",
  MODELTAP_FS_ROOT: root,
});
const db = openDatabase(fsConfig, 2);
afterAll(async () => {
  await db.close();
  fs.rmSync(root, { recursive: true, force: true });
});

function record(id: string, image: Buffer): CaptureRecord {
  const analysis = {
    schema_version: 1,
    task: "object_detection",
    protocol: "generic",
    instances: [
      {
        input: { image: { width: 64, height: 48, format: "png" } },
        prediction: { kind: "detection", boxes: [{ label: "cat", score: 0.9, xyxy: [1, 2, 30, 40] }] },
      },
    ],
  };
  return newRecord({
    id,
    model: "fs-detector",
    task: "object_detection",
    route: "r",
    cluster: "c",
    path: "/predict",
    ttfbUs: 10,
    durationUs: 20,
    request: capturedBody("image/png", image),
    response: capturedBody("application/json", "[]"),
    analysisJson: Buffer.from(JSON.stringify(analysis)),
    labelRate: 1,
    labelSet: ["cat", "dog"],
  });
}

it("persists bodies to the filesystem store and rows (with their label-export queue entries) to the database", async () => {
  expect(fsConfig.objectStore).toBe("fs");
  const blobs = createObjectStore(fsConfig);
  await blobs.ready();
  const image = pngImage(64, 48);
  const id = randomUUID();
  const settled = nothingSettled();
  const msg = inboundMessage(record(id, image), 1, settled);
  const deps = batchDeps({ blobs, repo: db.captures, outagePollMs: 10, outageMaxWaitMs: 100 });
  await processBatch([msg], deps);
  // Redelivery of the same message adds nothing.
  await processBatch([msg], deps);
  expect(settled).toEqual({ acked: 2, naked: [], deadLettered: [] });
  const row = await db.captures.getCapture(id);
  expect(row).toBeDefined();
  expect(row!.request.objectUri).toMatch(/^file:\/\//);
  const file = new URL(row!.request.objectUri!).pathname;
  expect(file.startsWith(root)).toBe(true);
  expect(fs.readFileSync(file).equals(image)).toBe(true);
  expect(Buffer.from((await blobs.get(row!.request.objectKey!))!).equals(image)).toBe(true);
  expect(row!.labelSet).toEqual(["cat", "dog"]);
  expect(row!.labelExports).toEqual([0]);
  blobs.destroy();
});

it("stores a decoded input image as a file and reads it back by its file:// URI", async () => {
  const blobs = createObjectStore(fsConfig);
  await blobs.ready();
  const image = pngImage(64, 48);
  const id = randomUUID();
  const base = record(id, image);
  // The base64-in-JSON shape: a small JSON request (kept in the row) and the image the collector decoded.
  const rec: CaptureRecord = {
    ...base,
    request: capturedBody("application/json", JSON.stringify({ inputs: image.toString("base64") })),
    inputImages: [
      { instance: 0, contentType: "image/png", data: image, objectRef: "", sizeBytes: image.length },
    ],
  };
  const settled = nothingSettled();
  await processBatch(
    [inboundMessage(rec, 1, settled)],
    batchDeps({ blobs, repo: db.captures, rowInlineMaxBytes: 8192, outagePollMs: 10, outageMaxWaitMs: 100 }),
  );
  expect(settled.acked).toBe(1);
  const row = (await db.captures.getCapture(id))!;
  expect(row.request.inline).not.toBeNull();
  const uri = row.analysis!.instances[0]!.input.image!.uri!;
  expect(uri).toMatch(/^file:\/\/.*\/input-0\.png$/);
  expect(fs.readFileSync(new URL(uri).pathname).equals(image)).toBe(true);
  const found = await storedPart(row, { kind: "image", instance: 0 }, blobs, new PluginRegistry().parsers);
  expect("data" in found && Buffer.from(found.data).equals(image)).toBe(true);
  blobs.destroy();
});
