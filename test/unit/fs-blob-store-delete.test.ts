/** FsBlobStore's delete and list (the BlobStore port's erasure half), against a real temp dir. */
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { FsBlobStore } from "../../src/adapters/fs/blob-store.js";
import { StorageError } from "../../src/core/errors.js";

const bytes = (s: string) => new TextEncoder().encode(s);
const DIR = "iris/1/2026/11/22/17/0190b6a2-7c3e-7d4f-8a1b-2c3d4e5f6a7b";

let tmp: string;
let root: string;
let store: FsBlobStore;

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "modeltap-fs-erase-"));
  root = path.join(tmp, "blobs");
  store = new FsBlobStore(root);
  await store.ensureRoot();
});

afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

it("deletes a blob and its content-type sidecar, and the folders it leaves empty", async () => {
  await store.put(`${DIR}/request.json`, bytes("{}"), "application/json");
  await store.put(`${DIR}/masks/mask-0-0.png`, bytes("png"), "image/png");
  await store.put("iris/1/2026/11/22/17/other/request.json", bytes("{}"), "application/json");
  await store.delete(`${DIR}/request.json`);
  await store.delete(`${DIR}/masks/mask-0-0.png`);
  expect(await store.get(`${DIR}/request.json`)).toBeUndefined();
  expect(await store.stat(`${DIR}/masks/mask-0-0.png`)).toBeUndefined();
  // The capture's folder is gone; its hour folder still holds another capture, so it stays.
  expect(await readdir(path.join(root, "iris/1/2026/11/22/17"))).toEqual(["other"]);
  expect(await store.get("iris/1/2026/11/22/17/other/request.json")).toEqual(bytes("{}"));
});

it("deletes the last blob up to, and not including, the root", async () => {
  await store.put(`${DIR}/request.json`, bytes("{}"), "application/json");
  await store.delete(`${DIR}/request.json`);
  expect(await readdir(root)).toEqual([]);
});

it("treats a missing key, or one through another blob, as deleted already", async () => {
  await store.put(`${DIR}/request.json`, bytes("{}"), "application/json");
  await expect(store.delete(`${DIR}/nothing.json`)).resolves.toBeUndefined();
  await expect(store.delete(`${DIR}/request.json/below`)).resolves.toBeUndefined();
  expect(await store.get(`${DIR}/request.json`)).toEqual(bytes("{}"));
});

it("refuses keys outside the root when deleting", async () => {
  await expect(store.delete("../escape")).rejects.toBeInstanceOf(StorageError);
});

it("lists the keys under a folder prefix, not sidecars or temp files, at most `limit`", async () => {
  await store.put(`${DIR}/request.json`, bytes("{}"), "application/json");
  await store.put(`${DIR}/input-0.png`, bytes("png"), "image/png");
  await store.put(`${DIR}/masks/mask-0-1.png`, bytes("png"), "image/png");
  await store.put(`${DIR}x/request.json`, bytes("{}"), "application/json");
  // A temp file a crashed put left behind is no key.
  await writeFile(path.join(root, DIR, ".input-1.png.0123456789ab.tmp"), "partial");
  const keys = await store.list(`${DIR}/`, 100);
  expect(keys.sort()).toEqual([`${DIR}/input-0.png`, `${DIR}/masks/mask-0-1.png`, `${DIR}/request.json`]);
  expect(await store.list(`${DIR}/`, 2)).toHaveLength(2);
  expect(await store.list("iris/2/", 100)).toEqual([]);
  await expect(store.list(DIR, 100)).rejects.toBeInstanceOf(StorageError);
});
