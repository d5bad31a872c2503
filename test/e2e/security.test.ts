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
import { OBS, collectorMetric, config, db, storedBody, waitForRows, type Row } from "./helpers.js";

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
    authorization: `Bearer ${localSecrets(config).apiToken}`,
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

// redact_fields fails closed: the echo-pii route redacts $.user.email, $.inputs[*].data and
// $..password. The parsers read JSON whatever the content type says, so redaction must too.
const SECRET = "SEKRET-ann@example.com";
const PII = `${OBS}/v2/models/echo-pii/infer`;

/** The columns of a capture row this file reads beyond helpers' Row. */
type Captured = Row & {
  path: string;
  analysis: unknown;
  parse_error: string;
  request_decode_error: string;
};

/** The capture of one request, and everything stored for it (row, bodies, analysis) as text. */
async function captured(requestId: string): Promise<{ row: Captured; text: string }> {
  const [row] = (await waitForRows(pg, [requestId])) as Captured[];
  expect(row, `capture of ${requestId}`).toBeDefined();
  const bodies = await Promise.all(
    (["request", "response"] as const).map(async (w) =>
      Buffer.from((await storedBody(row!, w)) ?? []).toString(),
    ),
  );
  return { row: row!, text: JSON.stringify({ row, bodies }) };
}

const requestText = async (row: Row) => Buffer.from((await storedBody(row, "request"))!).toString();

it.each(["text/plain", "application/x-www-form-urlencoded", "text/json", "application/jsonl"])(
  "redact_fields: a JSON body sent as %s is stored redacted",
  async (contentType) => {
    const body = JSON.stringify({ user: { email: SECRET, name: "Ann" }, meta: { password: SECRET } });
    const s = await send(PII, body, { contentType });
    expect(s.status).toBe(200);
    const { row, text } = await captured(s.id);
    expect(text).not.toContain("SEKRET");
    expect(JSON.parse(await requestText(row))).toEqual({
      user: { email: "[REDACTED]", name: "Ann" },
      meta: { password: "[REDACTED]" },
    });
  },
);

it("redact_fields: a JSON body with no content type, and JSON lines, are stored redacted", async () => {
  const id = randomUUID();
  const res = await fetch(PII, {
    method: "POST",
    headers: { "x-request-id": id },
    body: Buffer.from(JSON.stringify({ inputs: [{ name: "x", data: SECRET }] })),
  });
  expect(res.status).toBe(200);
  await res.arrayBuffer();
  const lines = `{"user":{"email":"${SECRET}"}}\n{"password":"${SECRET}"}\n`;
  const s = await send(PII, lines, { contentType: "application/x-ndjson" });
  const untyped = await captured(id);
  expect(untyped.text).not.toContain("SEKRET");
  expect(JSON.parse(await requestText(untyped.row))).toEqual({ inputs: [{ name: "x", data: "[REDACTED]" }] });
  const { row, text } = await captured(s.id);
  expect(text).not.toContain("SEKRET");
  expect(await requestText(row)).toBe('{"user":{"email":"[REDACTED]"}}\n{"password":"[REDACTED]"}\n');
});

it("redact_fields: a body that cannot be confirmed redacted is not stored, and is counted", async () => {
  const labels = { model: "echo-pii", direction: "request" };
  const before = await collectorMetric("modeltap_redaction_withheld_total", labels);
  const s = await send(PII, `email=${SECRET}&note=hi`, { contentType: "text/plain" });
  expect(s.status).toBe(200);
  // The client got its answer untouched: redaction is only what is stored.
  expect(s.response.toString()).toContain(SECRET);
  const { row, text } = await captured(s.id);
  expect(text).not.toContain("SEKRET");
  expect(row.request_body).toBeNull();
  expect(row.request_object_key).toBeNull();
  expect(row.request_decode_error).toMatch(/^redact_fields: .*; body not stored$/);
  expect(await collectorMetric("modeltap_redaction_withheld_total", labels)).toBeGreaterThan(before);
});

it("secret query parameters and the vendor API-key headers are stored redacted", async () => {
  // The echo model answers 404 to a path with a query: what matters is what was captured.
  const s = await send(`${OBS}/v2/models/echo/infer?api_key=${SECRET}&x=1&Signature=${SECRET}`, "{}", {
    headers: {
      "api-key": SECRET,
      "x-goog-api-key": SECRET,
      "x-auth-token": SECRET,
      "x-amz-security-token": SECRET,
    },
  });
  expect(s.status).toBeGreaterThan(0);
  const { row } = await captured(s.id);
  // Its 404 body quotes the URL back: a body, which only the route's redact_fields could cover.
  expect(JSON.stringify({ ...row, response_body: null })).not.toContain("SEKRET");
  expect(row.path).toBe("/v2/models/echo/infer?api_key=[REDACTED]&x=1&Signature=[REDACTED]");
  const headers = Object.fromEntries(row.request_headers.map((h) => [h.name, h.value]));
  for (const name of ["api-key", "x-goog-api-key", "x-auth-token", "x-amz-security-token"])
    expect(headers[name]).toBe("[REDACTED]");
});
