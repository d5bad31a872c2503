/** src/adapters/registry.ts: createObjectStore picks the object store plugin, and each answers its ping. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, it } from "vitest";
import { createObjectStore } from "../../src/adapters/registry.js";
import { loadConfig } from "../../src/config.js";

// The product defaults, whatever the developer exported (a moved local stack, say).
const base = loadConfig({});

it("an S3 store that does not answer fails its ping with the connection error", async () => {
  process.env.AWS_ACCESS_KEY_ID ??= "test";
  process.env.AWS_SECRET_ACCESS_KEY ??= "test";
  const store = createObjectStore({
    ...base,
    objectStore: "s3",
    s3: { endpoint: "http://127.0.0.1:9", bucket: "modeltap", region: "us-east-1" },
  });
  const err = await store.ping().then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(err).toBeInstanceOf(Error);
  expect(err).not.toBeInstanceOf(RangeError);
  store.destroy();
});

it("a filesystem store answers its ping", async () => {
  const root = path.join(os.tmpdir(), `modeltap-ping-${process.pid}`);
  const store = createObjectStore({ ...base, objectStore: "fs", fsRoot: root });
  await expect(store.ping()).resolves.toBeUndefined();
  fs.rmSync(root, { recursive: true, force: true });
});
