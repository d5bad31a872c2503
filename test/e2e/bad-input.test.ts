/**
 * Bad input through the real Envoy: each nasty request reaches the inference server as Envoy sends
 * it (capture never changes what the client gets), the collector survives, and every case is stored
 * with a flag saying what was wrong with it (parse_error, decode_error, truncated), never silently.
 */
import zlib from "node:zlib";
import { afterAll, expect, it } from "vitest";
import { send } from "../support/http.js";
import { OBS, collectorMetric, config, db, waitForRows } from "./helpers.js";

const pg = db();
afterAll(() => pg.end());

interface Flags {
  parse_error: string;
  request_decode_error: string;
  request_truncated: boolean;
  request_wire_size_bytes: string;
  request_size_bytes: string;
  request_headers: Array<{ name: string; value: string }>;
}

async function flags(id: string): Promise<Flags> {
  expect(await waitForRows(pg, [id]), `capture ${id}`).toHaveLength(1);
  const r = await pg.query<Flags>(
    `SELECT parse_error, request_decode_error, request_truncated, request_wire_size_bytes, request_size_bytes, request_headers
       FROM captures WHERE request_id = $1`,
    [id],
  );
  return r.rows[0]!;
}

const collectorReady = async () =>
  (await fetch(`http://127.0.0.1:${config.ports.collectorMetrics}/readyz`)).status === 200;

it("survives a gzip bomb: the client gets its answer, the capture keeps the raw bytes and says why", async () => {
  const bomb = zlib.gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 }); // 64 MiB of zeros in ~64 KB
  const s = await send(`${OBS}/v2/models/echo/infer`, bomb, {
    contentType: "application/octet-stream",
    headers: { "content-encoding": "gzip" },
  });
  expect(s.status).toBe(200);
  expect(s.response.equals(bomb)).toBe(true);
  const f = await flags(s.id);
  expect(f.request_decode_error).toMatch(/max_decoded_bytes|cap|exceed/i);
  expect(Number(f.request_size_bytes)).toBe(bomb.length);
  expect(await collectorReady()).toBe(true);
});

it("flags malformed protocol bodies with a parse_error and keeps serving", async () => {
  const cases: Array<[string, Buffer | string, Record<string, string>]> = [
    ["truncated JSON", '{"inputs":[{"name":"x","datatype":"FP32","shape":[1,4],"data":[5.1,3.', {}],
    ["invalid UTF-8", Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), {}],
    ["a lying binary-extension header", '{"inputs":[]}', { "inference-header-content-length": "999999" }],
    ["a JSON number for a body", "42", {}],
  ];
  const errorsBefore = await collectorMetric("modeltap_stream_errors_total");
  for (const [name, body, headers] of cases) {
    const s = await send(`${OBS}/v2/models/iris/infer`, body, { headers });
    expect(s.status, name).toBeGreaterThanOrEqual(200); // the demo server answers (400 for garbage)
    expect(s.error, name).toBeUndefined();
    const f = await flags(s.id);
    expect(f.parse_error, name).not.toBe("");
  }
  expect(await collectorMetric("modeltap_stream_errors_total")).toBe(errorsBefore);
  expect(await collectorReady()).toBe(true);
});

it("flags a multipart upload with a broken boundary", async () => {
  const s = await send(`${OBS}/models/image-classifier`, "--nope\r\ngarbage without a closing boundary", {
    contentType: "multipart/form-data; boundary=expected-boundary",
  });
  expect(s.error).toBeUndefined();
  const f = await flags(s.id);
  expect(f.parse_error).not.toBe("");
});

it("stores a request with 90 headers (Envoy allows 100), every one of them", async () => {
  const headers = Object.fromEntries(Array.from({ length: 90 }, (_, i) => [`x-junk-${i}`, "v".repeat(100)]));
  const s = await send(`${OBS}/v2/models/echo/infer`, "{}", { headers });
  expect(s.status).toBe(200);
  const f = await flags(s.id);
  expect(f.request_headers.filter((h) => h.name.startsWith("x-junk-"))).toHaveLength(90);
});

it("keeps the first max_body_bytes of a 20 MB body and counts the rest", async () => {
  const big = Buffer.alloc(20 * 1024 * 1024, 0x61);
  const s = await send(`${OBS}/v2/models/echo/infer`, big, { contentType: "application/octet-stream" });
  expect(s.status).toBe(200);
  expect(s.response.length).toBe(big.length);
  const f = await flags(s.id);
  expect(f.request_truncated).toBe(true);
  expect(Number(f.request_wire_size_bytes)).toBe(big.length);
  expect(Number(f.request_size_bytes)).toBe(2 * 1024 * 1024); // the echo route's max_body_bytes
  expect(await collectorReady()).toBe(true);
});
