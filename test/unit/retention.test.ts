/**
 * Retention's pure parts (per-model days, cutoffs, a capture's object prefixes, --every) and the
 * object erasure of the sweep, on a real fs object store.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { FsBlobStore } from "../../src/adapters/fs/blob-store.js";
import { loadConfig } from "../../src/config.js";
import { ConfigError } from "../../src/core/errors.js";
import type { BlobStore, StoredCapture } from "../../src/core/ports.js";
import { bodyObjectKey, captureObjectPrefix } from "../../src/core/storage/object-key.js";
import {
  agedOut,
  cutoffAt,
  orphanLabelCutoff,
  parseInterval,
  parseRetentionModels,
  retentionCutoffs,
} from "../../src/core/retention.js";
import { captureObjectPrefixes } from "../../src/core/storage/retention.js";
import { eraseCaptureObjects } from "../../src/worker/retention.js";
import { FakeBlobStore } from "../support/fakes.js";

const DAY = 86_400_000;
const NOW = new Date("2026-11-22T12:00:00Z");
const ago = (days: number) => new Date(NOW.getTime() - days * DAY);

describe("MODELTAP_RETENTION_MODELS", () => {
  it("reads model=days pairs, spaces and empty entries aside", () => {
    const problems: string[] = [];
    const m = parseRetentionModels(" iris=30, bert = 7 ,,a=b=0", problems);
    expect(problems).toEqual([]);
    expect([...m]).toEqual([
      ["iris", 30],
      ["bert", 7],
      ["a=b", 0],
    ]);
  });

  it("reports every bad entry at once", () => {
    const problems: string[] = [];
    parseRetentionModels("iris,=3,bert=x,gpt=-1,t5=99999999,iris2=1,iris2=2", problems);
    expect(problems).toEqual([
      'MODELTAP_RETENTION_MODELS: expected model=days, got "iris"',
      'MODELTAP_RETENTION_MODELS: expected model=days, got "=3"',
      'MODELTAP_RETENTION_MODELS (bert): days must be an integer from 0 to 36500, got "x"',
      'MODELTAP_RETENTION_MODELS (gpt): days must be an integer from 0 to 36500, got "-1"',
      'MODELTAP_RETENTION_MODELS (t5): days must be an integer from 0 to 36500, got "99999999"',
      'MODELTAP_RETENTION_MODELS: model "iris2" is given twice',
    ]);
  });

  it("is loaded with the default into the config, and a bad one fails the config", () => {
    expect(loadConfig({}).retention).toEqual({ defaultDays: 90, models: new Map() });
    const c = loadConfig({ MODELTAP_RETENTION_DAYS: "0", MODELTAP_RETENTION_MODELS: "iris=30" });
    expect(c.retention).toEqual({ defaultDays: 0, models: new Map([["iris", 30]]) });
    expect(() => loadConfig({ MODELTAP_RETENTION_MODELS: "iris" })).toThrow(ConfigError);
    expect(() => loadConfig({ MODELTAP_RETENTION_DAYS: "-3" })).toThrow(/MODELTAP_RETENTION_DAYS/);
  });
});

describe("cutoffs", () => {
  const policy = {
    defaultDays: 10,
    models: new Map([
      ["bert", 2],
      ["keep", 0],
    ]),
  };
  const cutoffs = retentionCutoffs(policy, NOW);

  it("ages a capture out by its model's override, else the default; 0 keeps forever", () => {
    expect(cutoffAt(NOW, 0)).toBeNull();
    expect(cutoffAt(NOW, 1)).toEqual(ago(1));
    expect(agedOut(cutoffs, "iris", ago(11))).toBe(true);
    expect(agedOut(cutoffs, "iris", ago(9))).toBe(false);
    expect(agedOut(cutoffs, "bert", ago(3))).toBe(true);
    expect(agedOut(cutoffs, "bert", ago(1))).toBe(false);
    expect(agedOut(cutoffs, "keep", ago(10_000))).toBe(false);
    // Exactly at the cutoff is not before it: kept.
    expect(agedOut(cutoffs, "iris", ago(10))).toBe(false);
  });

  it("keeps labels without a capture as long as the longest retention, or forever", () => {
    expect(orphanLabelCutoff(policy, NOW)).toBeNull();
    expect(orphanLabelCutoff({ defaultDays: 10, models: new Map([["bert", 30]]) }, NOW)).toEqual(ago(30));
    expect(orphanLabelCutoff({ defaultDays: 0, models: new Map() }, NOW)).toBeNull();
  });
});

it("parses --every as a whole number and a unit, within 1 s to 7 days", () => {
  expect(parseInterval("90s")).toBe(90_000);
  expect(parseInterval("15m")).toBe(900_000);
  expect(parseInterval("1h")).toBe(3_600_000);
  expect(parseInterval("7d")).toBe(7 * DAY);
  for (const bad of ["0s", "8d", "1", "h", "1.5h", "-1h", "1w", ""])
    expect(parseInterval(bad)).toBeUndefined();
});

const UUID = "0190b6a2-7c3e-7d4f-8a1b-2c3d4e5f6a7b";
const capture = (over: Partial<StoredCapture> = {}): StoredCapture => ({
  id: UUID,
  model: "iris",
  version: "1",
  receivedAt: new Date("2026-11-22T17:42:54.123Z"),
  objectKeys: [],
  ...over,
});

describe("a capture's object prefixes", () => {
  it("is the capture's own folder, as the worker names it", () => {
    const c = capture();
    const own = captureObjectPrefix({ ...c, startedAtUs: c.receivedAt.getTime() * 1000 + 456 });
    expect(captureObjectPrefixes(c)).toEqual([`${own}/`]);
  });

  it("adds the folder keys had before capture ids were UUIDs, and the folders of the row's keys", () => {
    const c = capture({
      id: "a/b",
      objectKeys: ["iris/1/2026/11/22/17/legacy/request.json", "shallow.json"],
    });
    expect(captureObjectPrefixes(c)).toEqual([
      `${captureObjectPrefix({ ...c, startedAtUs: c.receivedAt.getTime() * 1000 })}/`,
      "iris/1/2026/11/22/17/a_b/",
      "iris/1/2026/11/22/17/legacy/",
    ]);
  });
});

describe("eraseCaptureObjects", () => {
  let tmp: string | undefined;
  afterEach(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("deletes every object under the capture's folder and the keys its row names, and nothing else", async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), "modeltap-retention-"));
    const blobs = new FsBlobStore(tmp);
    const c = capture();
    const parts = { ...c, startedAtUs: c.receivedAt.getTime() * 1000 };
    const neighbour = { ...parts, id: "0190b6a2-7c3e-7d4f-8a1b-000000000000" };
    const mine = [
      bodyObjectKey(parts, "request", "application/json"),
      bodyObjectKey(parts, "input-0", "image/png"),
      bodyObjectKey(parts, "mask-0-3", "image/png"),
      bodyObjectKey(parts, "text-1", "text/plain"),
    ];
    const named = "iris/old-scheme.json";
    const theirs = bodyObjectKey(neighbour, "request", "application/json");
    for (const k of [...mine, named, theirs])
      await blobs.put(k, new Uint8Array([1]), "application/octet-stream");
    const n = await eraseCaptureObjects(blobs, [{ ...c, objectKeys: [named] }], 4);
    // The four under its folder, and the one its row names outside any folder of its own.
    expect(n).toBe(mine.length + 1);
    for (const k of [...mine, named]) expect(await blobs.get(k), k).toBeUndefined();
    expect(await blobs.get(theirs)).toEqual(new Uint8Array([1]));
    // Again: nothing left, nothing to do, no error.
    expect(await eraseCaptureObjects(blobs, [c], 4)).toBe(0);
  });

  it("pages through a folder with more objects than one listing returns", async () => {
    // In memory: 1005 fsynced files would take the fs store seconds, and paging is the sweep's own.
    const blobs = new FakeBlobStore();
    const c = capture();
    const parts = { ...c, startedAtUs: c.receivedAt.getTime() * 1000 };
    for (let i = 0; i < 1005; i++)
      blobs.objects.set(bodyObjectKey(parts, `mask-0-${i}`, "image/png"), new Uint8Array([1]));
    blobs.objects.set("iris/other.json", new Uint8Array([1]));
    expect(await eraseCaptureObjects(blobs, [c], 16)).toBe(1005);
    expect([...blobs.objects.keys()]).toEqual(["iris/other.json"]);
  });

  it("fails rather than loop when a store lists a key again after deleting it", async () => {
    const stuck: BlobStore = {
      put: async () => undefined,
      get: async () => undefined,
      uri: (k) => k,
      delete: async () => undefined,
      list: async (prefix) => [`${prefix}request.json`],
    };
    await expect(eraseCaptureObjects(stuck, [capture()], 1)).rejects.toThrow(
      /still listed after their delete/,
    );
  });
});
