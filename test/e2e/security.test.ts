/**
 * Hostile values through the real stack: a per-request version header (mapped by Envoy into the
 * capture's dynamic metadata) and ground-truth ids carrying SQL and path tricks. Parameterized SQL
 * stores the header as plain text and leaves the schema alone, object keys stay inside their
 * model's prefix, and the API refuses ids outside its character set before any query.
 */
import { afterAll, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { send } from "../support/http.js";
import { localSecrets } from "../../tools/stack/services.js";
import { OBS, config, db, storedBody, waitForRows } from "./helpers.js";

const pg = db();
afterAll(() => pg.end());
const API = `http://127.0.0.1:${config.ports.api}`;
const HOSTILE = "1'); DROP TABLE captures; --/../../etc/passwd";

it("a version header with SQL and ../ is stored verbatim, and its object key stays under the model", async () => {
  const body = Buffer.alloc(10 * 1024, 3); // over MODELTAP_ROW_INLINE_MAX_BYTES: an object in S3
  const s = await send(`${OBS}/v2/models/echo/infer`, body, {
    contentType: "application/octet-stream",
    headers: { "x-model-version": HOSTILE },
  });
  expect(s.status).toBe(200);
  const [row] = await waitForRows(pg, [s.id]);
  expect(row!.version).toBe(HOSTILE);
  const key = row!.request_object_key!;
  expect(key.startsWith("echo/")).toBe(true);
  expect(key.split("/")).not.toContain("..");
  expect(key).toMatch(/^[A-Za-z0-9._/-]+$/);
  expect(Buffer.from((await storedBody(row!, "request"))!).equals(body)).toBe(true);
  const tables = await pg.query("SELECT to_regclass('public.captures') AS t");
  expect(tables.rows[0]!.t).toBe("captures");
});

it("the ground-truth API refuses ids with SQL in them before any query, and stores nothing", async () => {
  const id = `${randomUUID()}' OR '1'='1`;
  const headers = {
    authorization: `Bearer ${localSecrets(config).apiSecret}`,
    "content-type": "application/json",
  };
  const res = await fetch(`${API}/v1/ground-truth`, {
    method: "POST",
    headers,
    body: JSON.stringify({
      capture_id: id,
      label: { kind: "classification", label: "x" },
      source: "pentest",
    }),
  });
  expect(res.status).toBe(422);
  expect(JSON.stringify(await res.json())).toMatch(/capture_id: must be 1 to 200 characters/);
  // Reading by that id is a lookup of a plain string (a bind parameter): nothing matches.
  const got = await fetch(`${API}/v1/ground-truth/${encodeURIComponent(id)}`, { headers });
  expect(got.status).toBe(200);
  expect(await got.json()).toMatchObject({ capture_persisted: false, ground_truth: [] });
  const rows = await pg.query("SELECT 1 FROM ground_truth WHERE source = 'pentest'");
  expect(rows.rowCount).toBe(0);
});
