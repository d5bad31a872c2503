/**
 * Retention and erasure on request, against the real Postgres and S3: captures persisted the way
 * the worker persists them (objects, then rows with their label exports), back-dated, plus ground
 * truth; then `modeltap retention run` and `modeltap captures delete` as child processes, and a
 * count of what remains. Every model name here is this file's own, so no other test's data is
 * touched (the runs are scoped by model, or by overrides with the default kept forever).
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, expect, it } from "vitest";
import { openDatabase } from "../../src/adapters/registry.js";
import { PACKAGE_ROOT } from "../../src/config.js";
import { captureId } from "../../src/core/capture-id.js";
import type { BlobStore } from "../../src/core/ports.js";
import { bodyObjectKey } from "../../src/core/storage/object-key.js";
import { planPersist } from "../../src/core/storage/persist-plan.js";
import { captureObjectPrefixes } from "../../src/core/storage/retention.js";
import { eraseSelection } from "../../src/worker/retention.js";
import { capturedBody, newRecord } from "../support/records.js";
import { blobs, config, db, until } from "./helpers.js";

const pg = db();
const store = blobs();
const database = openDatabase(config, 4);
afterAll(async () => {
  await pg.end();
  await database.close();
  store.destroy();
});

const run = promisify(execFile);
const cli = (env: Record<string, string>, ...args: string[]) =>
  run(process.execPath, [path.join(PACKAGE_ROOT, "bin", "modeltap.js"), ...args], {
    env: { ...process.env, ...env },
  });

const DAY = 86_400_000;
const tag = randomUUID().slice(0, 8);

interface Stored {
  id: string;
  model: string;
  requestId: string;
  receivedAt: Date;
  /** Every object key the capture has (bodies, an input image, a mask). */
  keys: string[];
}

/**
 * One capture as the worker stores it: request and response bodies as objects, an input image and
 * a mask PNG under the capture's prefix, the row queued for the labeling tool (instance 0), and a
 * label from the API.
 */
async function persist(model: string, ageDays: number, requestId: string = randomUUID()): Promise<Stored> {
  const startedMs = Date.now() - ageDays * DAY;
  const rec = newRecord({
    id: captureId(startedMs, randomBytes(10)),
    model,
    requestId,
    startedAtUs: startedMs * 1000,
    request: capturedBody("application/json", '{"inputs":[1]}'),
    response: capturedBody("application/json", '{"outputs":[2]}'),
  });
  const plan = planPersist(rec, (k) => store.uri(k), { rowInlineMaxBytes: 0 });
  const parts = { ...rec };
  const extra = [bodyObjectKey(parts, "input-0", "image/png"), bodyObjectKey(parts, "mask-0-0", "image/png")];
  for (const o of plan.objects) {
    if (!("inline" in o.source)) throw new Error("expected inline bodies");
    await store.put(o.key, o.source.inline, o.contentType);
  }
  for (const k of extra) await store.put(k, new Uint8Array([137, 80, 78, 71]), "image/png");
  await database.captures.insertCaptures([{ ...plan.row, labelExports: [0] }]);
  // Whether or not this build's repository writes request_id, the row carries it.
  await pg.query("UPDATE captures SET request_id = $1 WHERE id = $2", [requestId, rec.id]);
  await pg.query(
    "INSERT INTO ground_truth (capture_id, instance, source, label, labeled_at) VALUES ($1, 0, 'api', '{}', now())",
    [rec.id],
  );
  return {
    id: rec.id,
    model,
    requestId,
    receivedAt: plan.row.receivedAt,
    keys: [...plan.objects.map((o) => o.key), ...extra],
  };
}

/** What is left of these captures: rows, objects, ground truth and label exports, per id. */
async function remaining(captures: readonly Stored[]) {
  const ids = captures.map((c) => c.id);
  const count = async (sql: string) =>
    new Set((await pg.query<{ id: string }>(sql, [ids])).rows.map((r) => r.id));
  const rows = await count("SELECT id FROM captures WHERE id = ANY($1)");
  const truth = await count("SELECT capture_id AS id FROM ground_truth WHERE capture_id = ANY($1)");
  const exports = await count("SELECT capture_id AS id FROM label_exports WHERE capture_id = ANY($1)");
  const out: Record<string, { row: boolean; objects: number; truth: boolean; exports: boolean }> = {};
  for (const c of captures) {
    let objects = 0;
    for (const k of c.keys) if ((await store.get(k)) !== undefined) objects++;
    out[c.id] = { row: rows.has(c.id), objects, truth: truth.has(c.id), exports: exports.has(c.id) };
  }
  return out;
}

const KEPT = (objects: number) => ({ row: true, objects, truth: true, exports: true });
const GONE = { row: false, objects: 0, truth: false, exports: false };

it("`retention run` deletes what aged out, per model override, and keeps the rest", async () => {
  const [a, b, forever] = [`ret-a-${tag}`, `ret-b-${tag}`, `ret-keep-${tag}`];
  const aOld = await persist(a, 20);
  const aNew = await persist(a, 5);
  const bOld = await persist(b, 5);
  const bNew = await persist(b, 1);
  const kept = await persist(forever, 400);
  const all = [aOld, aNew, bOld, bNew, kept];
  const before = await remaining(all);
  for (const c of all) expect(before[c.id]).toEqual(KEPT(4));
  // The default keeps forever (so other tests' captures are safe); the overrides are this test's.
  const env = {
    MODELTAP_RETENTION_DAYS: "0",
    MODELTAP_RETENTION_MODELS: `${a}=10,${b}=2,${forever}=0`,
  };
  const out = await cli(env, "retention", "run", "--batch", "1");
  expect(out.stdout).toContain("retention: batch 1:");
  expect(out.stdout).toMatch(/retention: done: erased \d+ captures/);
  const after = await remaining(all);
  expect(after).toEqual({
    [aOld.id]: GONE,
    [aNew.id]: KEPT(4),
    [bOld.id]: GONE,
    [bNew.id]: KEPT(4),
    [kept.id]: KEPT(4),
  });
  // Nothing at all is left under an erased capture's prefixes.
  for (const c of [aOld, bOld]) {
    for (const p of captureObjectPrefixes({ ...c, version: "1", objectKeys: [] })) {
      expect(await store.list(p, 10), p).toEqual([]);
    }
  }
  // Run again: nothing more to do.
  const again = await cli(env, "retention", "run");
  expect(after).toEqual(await remaining(all));
  expect(again.stdout).toContain("retention: done: erased 0 captures");
});

it("applies MODELTAP_RETENTION_DAYS to a model without an override (a run scoped by --model)", async () => {
  const model = `ret-default-${tag}`;
  const old = await persist(model, 11);
  const fresh = await persist(model, 9);
  await cli(
    { MODELTAP_RETENTION_DAYS: "10", MODELTAP_RETENTION_MODELS: "" },
    "retention",
    "run",
    "--model",
    model,
  );
  expect(await remaining([old, fresh])).toEqual({ [old.id]: GONE, [fresh.id]: KEPT(4) });
});

it("deletes labels whose capture is gone past the longest retention, and no other", async () => {
  const orphan = `orphan-${tag}`;
  const recent = `orphan-recent-${tag}`;
  for (const [id, yearsAgo] of [
    [orphan, 150],
    [recent, 1],
  ] as const) {
    await pg.query(
      `INSERT INTO ground_truth (capture_id, instance, source, label, labeled_at, received_at)
       VALUES ($1, 0, 'api', '{}', now(), now() - make_interval(years => $2))`,
      [id, yearsAgo],
    );
  }
  // 100 years: no capture of any test is that old, and only the 150-year-old label is past it.
  await cli({ MODELTAP_RETENTION_DAYS: "36500", MODELTAP_RETENTION_MODELS: "" }, "retention", "run");
  const left = await pg.query<{ capture_id: string }>(
    "SELECT capture_id FROM ground_truth WHERE capture_id = ANY($1)",
    [[orphan, recent]],
  );
  expect(left.rows.map((r) => r.capture_id)).toEqual([recent]);
  await pg.query("DELETE FROM ground_truth WHERE capture_id = $1", [recent]);
});

it("`captures delete --request-id` erases every hop of the request, prints them, and is idempotent", async () => {
  const model = `ret-erase-${tag}`;
  const request = `req-${randomUUID()}`;
  const hop1 = await persist(model, 0, request);
  const hop2 = await persist(model, 0, request);
  const other = await persist(model, 0);
  // A label posted by request id belongs to the request (capture_id '').
  await pg.query(
    "INSERT INTO ground_truth (capture_id, request_id, instance, source, label, labeled_at) VALUES ('', $1, 0, 'api', '{}', now())",
    [request],
  );
  const out = await cli({}, "captures", "delete", "--request-id", request);
  expect(out.stdout).toContain(`deleted capture ${hop1.id}`);
  expect(out.stdout).toContain(`deleted capture ${hop2.id}`);
  expect(out.stdout).toContain("erased for request");
  expect(out.stdout).toContain("2 captures, 8 objects, 3 ground-truth labels, 2 label exports");
  expect(await remaining([hop1, hop2, other])).toEqual({
    [hop1.id]: GONE,
    [hop2.id]: GONE,
    [other.id]: KEPT(4),
  });
  const byRequest = await pg.query("SELECT 1 FROM ground_truth WHERE request_id = $1", [request]);
  expect(byRequest.rowCount).toBe(0);
  const again = await cli({}, "captures", "delete", "--request-id", request);
  expect(again.stdout).toContain(`nothing stored for request "${request}"`);

  const byId = await cli({}, "captures", "delete", "--id", other.id);
  expect(byId.stdout).toContain(`deleted capture ${other.id}`);
  expect(await remaining([other])).toEqual({ [other.id]: GONE });
  await expect(cli({}, "captures", "delete")).rejects.toMatchObject({
    code: 1,
    stderr: expect.stringContaining("give exactly one of --request-id R and --id ID"),
  });
});

it("a sweep that fails between objects and rows leaves the rows, and the next one finishes", async () => {
  const model = `ret-crash-${tag}`;
  const c1 = await persist(model, 30);
  const c2 = await persist(model, 30);
  let deletes = 0;
  const failing: BlobStore = {
    put: (k, b, t) => store.put(k, b, t),
    get: (k) => store.get(k),
    uri: (k) => store.uri(k),
    list: (p, n) => store.list(p, n),
    delete: async (k) => {
      // Dies after three objects are gone, as a process killed mid-batch would.
      if (++deletes > 3) throw new Error("store went away");
      await store.delete(k);
    },
  };
  const selection = { kind: "ids", ids: [c1.id, c2.id] } as const;
  await expect(
    eraseSelection({ repo: database.retention, blobs: failing, concurrency: 1 }, selection, 10, () => {}),
  ).rejects.toThrow("store went away");
  const half = await remaining([c1, c2]);
  // Rows, labels and exports all still there (the transaction rolled back), some objects gone.
  for (const c of [c1, c2]) expect(half[c.id]).toMatchObject({ row: true, truth: true, exports: true });
  expect(half[c1.id]!.objects + half[c2.id]!.objects).toBe(8 - 3);
  await eraseSelection({ repo: database.retention, blobs: store, concurrency: 4 }, selection, 10, () => {});
  expect(await remaining([c1, c2])).toEqual({ [c1.id]: GONE, [c2.id]: GONE });
});

it("a sweep goes on past a capture whose objects will not delete, and leaves it for the next", async () => {
  const model = `ret-stuck-${tag}`;
  // The oldest first: the one that fails would head every batch.
  const stuck = await persist(model, 40);
  const others = [await persist(model, 30), await persist(model, 31), await persist(model, 32)];
  const refusing: BlobStore = {
    put: (k, b, t) => store.put(k, b, t),
    get: (k) => store.get(k),
    uri: (k) => store.uri(k),
    list: (p, n) => store.list(p, n),
    delete: async (k) => {
      if (k.includes(stuck.id)) throw new Error("access denied");
      await store.delete(k);
    },
  };
  const cutoffs = { defaultCutoff: new Date(Date.now() - 10 * DAY), overrides: [] };
  const failed: string[] = [];
  const done = await eraseSelection(
    { repo: database.retention, blobs: refusing, concurrency: 2 },
    { kind: "aged", cutoffs, model },
    2,
    () => {},
    (c) => failed.push(c.id),
  );
  expect(done).toMatchObject({ captures: 3, failed: 1 });
  expect(failed).toEqual([stuck.id]);
  const left = await remaining([stuck, ...others]);
  for (const c of others) expect(left[c.id]).toEqual(GONE);
  expect(left[stuck.id]).toMatchObject({ row: true, truth: true, exports: true });
  // The next sweep, with the store answering, takes it.
  await eraseSelection(
    { repo: database.retention, blobs: store, concurrency: 2 },
    { kind: "aged", cutoffs, model },
    2,
    () => {},
  );
  expect((await remaining([stuck]))[stuck.id]).toEqual(GONE);
});

it("a sweep skips a capture another transaction holds, and does not wait for it", async () => {
  const model = `ret-locked-${tag}`;
  const locked = await persist(model, 30);
  const free = await persist(model, 30);
  const holder = await pg.connect();
  try {
    await holder.query("BEGIN");
    await holder.query("SELECT 1 FROM captures WHERE id = $1 FOR UPDATE", [locked.id]);
    const cutoffs = { defaultCutoff: new Date(Date.now() - 10 * DAY), overrides: [] };
    const done = await eraseSelection(
      { repo: database.retention, blobs: store, concurrency: 4 },
      { kind: "aged", cutoffs, model },
      10,
      () => {},
    );
    expect(done.captures).toBe(1);
    await holder.query("COMMIT");
  } finally {
    holder.release();
  }
  expect(await remaining([locked, free])).toEqual({ [locked.id]: KEPT(4), [free.id]: GONE });
  await cli({ MODELTAP_RETENTION_DAYS: "10" }, "retention", "run", "--model", model);
  expect(await remaining([locked])).toEqual({ [locked.id]: GONE });
});

it("`retention run --every` sweeps again each interval, and stops on SIGTERM", async () => {
  const model = `ret-every-${tag}`;
  const first = await persist(model, 30);
  const child = spawn(
    process.execPath,
    [path.join(PACKAGE_ROOT, "bin", "modeltap.js"), "retention", "run", "--every", "1s", "--model", model],
    { env: { ...process.env, MODELTAP_RETENTION_DAYS: "10" }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let stdout = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  try {
    await until("the first sweep", async () => (await remaining([first]))[first.id]!.row === false);
    // Aged out after the first sweep: only a later one takes it.
    const second = await persist(model, 30);
    await until("a later sweep", async () => (await remaining([second]))[second.id]!.row === false);
    expect(await remaining([second])).toEqual({ [second.id]: GONE });
    expect(stdout.match(/retention: done:/g)!.length).toBeGreaterThanOrEqual(2);
  } finally {
    child.kill("SIGTERM");
  }
  expect(await exited).toBe(0);
});
