/** src/adapters/fs/blob-store.ts: FsBlobStore, the BlobStore port on a local directory, against a real temp dir. */
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FsBlobStore } from "../../src/adapters/fs/blob-store.js";
import { StorageError } from "../../src/core/errors.js";
import { bodyObjectKey } from "../../src/core/storage/object-key.js";
import type { BlobStore } from "../../src/core/ports.js";

const bytes = (s: string) => new TextEncoder().encode(s);
const KEY = "iris/1/2026/11/22/17/5b0e-42/request.json";

/** Every file under dir, relative, sorted. */
async function tree(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

let tmp: string;
let root: string;
let store: FsBlobStore;

beforeEach(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "modeltap-fs-blob-"));
  root = path.join(tmp, "blobs");
  store = new FsBlobStore(root);
  await store.ensureRoot();
});

afterEach(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("FsBlobStore", () => {
  it("implements the BlobStore port", () => {
    const port: BlobStore = store;
    expect(typeof port.put).toBe("function");
    expect(() => store.destroy()).not.toThrow();
  });

  it("ensureRoot creates a nested root and may run twice", async () => {
    const nested = new FsBlobStore(path.join(tmp, "a", "b", "c"));
    await nested.ensureRoot();
    await nested.ensureRoot();
    await nested.put("k.bin", bytes("x"), "application/octet-stream");
    expect(await tree(tmp)).toContain(path.join("a", "b", "c", "k.bin"));
  });

  it("round trips bytes under a nested key, creating the directories", async () => {
    const body = new Uint8Array([0, 1, 2, 255, 10, 13]);
    await store.put(KEY, body, "application/json");
    const got = await store.get(KEY);
    expect(got).toBeInstanceOf(Uint8Array);
    expect(got).toEqual(body);
    expect(await readFile(path.join(root, ...KEY.split("/")))).toEqual(Buffer.from(body));
  });

  it("round trips an empty body", async () => {
    await store.put("e/empty.bin", new Uint8Array(), "application/octet-stream");
    expect(await store.get("e/empty.bin")).toEqual(new Uint8Array());
    expect(await store.stat("e/empty.bin")).toEqual({ contentType: "application/octet-stream", size: 0 });
  });

  it("keeps the content type and reports the size", async () => {
    await store.put(KEY, bytes('{"a":1}'), "application/json; charset=utf-8");
    expect(await store.stat(KEY)).toEqual({ contentType: "application/json; charset=utf-8", size: 7 });
  });

  it("is idempotent: the same put twice leaves the same blob", async () => {
    await store.put(KEY, bytes("same"), "text/plain");
    const before = await tree(root);
    await store.put(KEY, bytes("same"), "text/plain");
    expect(await store.get(KEY)).toEqual(bytes("same"));
    expect(await store.stat(KEY)).toEqual({ contentType: "text/plain", size: 4 });
    expect(await tree(root)).toEqual(before);
  });

  it("overwrites bytes and content type on a later put", async () => {
    await store.put(KEY, bytes("first, longer"), "text/plain");
    await store.put(KEY, bytes("second"), "text/csv");
    expect(await store.get(KEY)).toEqual(bytes("second"));
    expect(await store.stat(KEY)).toEqual({ contentType: "text/csv", size: 6 });
  });

  it("ends with one whole blob when puts of one key race", async () => {
    const bodies = Array.from({ length: 20 }, (_, i) => bytes(`body ${i} `.repeat(1000)));
    await Promise.all(bodies.map((b) => store.put(KEY, b, "text/plain")));
    const got = await store.get(KEY);
    expect(bodies.some((b) => Buffer.from(b).equals(Buffer.from(got!)))).toBe(true);
    expect(await tree(root)).toEqual([KEY, `${KEY}.meta.json`].map((k) => path.join(...k.split("/"))));
  });

  it("returns undefined for a missing key, also below a missing or file-shaped directory", async () => {
    await store.put("a/file.bin", bytes("x"), "application/octet-stream");
    for (const key of ["nope.json", "no/such/dir/k.json", "a/file.bin/below.bin", "a"]) {
      expect(await store.get(key), key).toBeUndefined();
      expect(await store.stat(key), key).toBeUndefined();
    }
  });

  it("reads a blob without its sidecar as application/octet-stream", async () => {
    await store.put("k.json", bytes("{}"), "application/json");
    await rm(path.join(root, "k.json.meta.json"));
    expect(await store.stat("k.json")).toEqual({ contentType: "application/octet-stream", size: 2 });
    await writeFile(path.join(root, "k.json.meta.json"), "not json");
    expect(await store.stat("k.json")).toEqual({ contentType: "application/octet-stream", size: 2 });
  });

  it("leaves no temp files after puts", async () => {
    await store.put(KEY, bytes("a"), "application/json");
    await store.put(KEY, bytes("b"), "application/json");
    await store.put("m/v/x.png", bytes("c"), "image/png");
    expect(await tree(root)).toEqual(
      [KEY, `${KEY}.meta.json`, "m/v/x.png", "m/v/x.png.meta.json"]
        .map((k) => path.join(...k.split("/")))
        .sort(),
    );
  });

  it("leaves no temp file when the rename fails, and throws a StorageError", async () => {
    await store.put("d/inner.bin", bytes("x"), "application/octet-stream");
    // "d" is a non-empty directory: the temp file is written, renaming it over "d" fails.
    const err = await store.put("d", bytes("y"), "application/octet-stream").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).code).toBe("STORAGE_FAILED");
    expect((err as StorageError).cause).toBeDefined();
    expect(await tree(root)).toEqual([path.join("d", "inner.bin"), path.join("d", "inner.bin.meta.json")]);
  });

  it("gives file:// URIs of the absolute path, even from a relative root", () => {
    expect(store.uri(KEY)).toBe(pathToFileURL(path.join(root, ...KEY.split("/"))).href);
    expect(store.uri(KEY).startsWith("file:///")).toBe(true);
    const relative = new FsBlobStore("some/dir");
    expect(relative.uri("k.bin")).toBe(pathToFileURL(path.resolve("some/dir", "k.bin")).href);
    expect(relative.root).toBe(path.resolve("some/dir"));
  });

  it("stores keys built by bodyObjectKey from hostile values", async () => {
    const key = bodyObjectKey(
      { model: "../../etc/passwd", version: "..", id: "a/b", startedAtUs: Date.UTC(2026, 5, 1) * 1000 },
      "../x",
      "text/csv",
    );
    expect(key).toContain(".._"); // ".." inside a segment is fine
    await store.put(key, bytes("1,2"), "text/csv");
    expect(await store.get(key)).toEqual(bytes("1,2"));
    expect(store.uri(key).startsWith(pathToFileURL(root).href + "/")).toBe(true);
  });

  it.each<[string, string, string]>([
    ["empty", "", "is empty"],
    ["absolute", "/etc/passwd", "is absolute"],
    ["a parent segment", "../outside.json", "has an empty, '.' or '..' segment"],
    ["a parent segment deep inside", "a/b/../../../outside.json", "has an empty, '.' or '..' segment"],
    ["a trailing parent segment", "a/..", "has an empty, '.' or '..' segment"],
    ["a dot segment", "a/./b.json", "has an empty, '.' or '..' segment"],
    ["an empty segment", "a//b.json", "has an empty, '.' or '..' segment"],
    ["a trailing slash", "a/b/", "has an empty, '.' or '..' segment"],
    ["a backslash", "a\\..\\..\\outside.json", "contains a backslash"],
    ["NUL", "a\0.json", "contains NUL"],
    [
      "the sidecar suffix",
      "a/b.json.meta.json",
      "ends with .meta.json, which is reserved for content-type sidecars",
    ],
  ])("refuses a key with %s in every method", async (_, key, reason) => {
    const message = `object key ${JSON.stringify(key)} ${reason}`;
    await expect(store.put(key, bytes("x"), "text/plain")).rejects.toThrow(message);
    await expect(store.put(key, bytes("x"), "text/plain")).rejects.toBeInstanceOf(StorageError);
    await expect(store.get(key)).rejects.toThrow(message);
    await expect(store.stat(key)).rejects.toThrow(message);
    expect(() => store.uri(key)).toThrow(message);
    expect(await tree(tmp)).toEqual([]);
  });
});
