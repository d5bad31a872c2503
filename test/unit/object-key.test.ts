/** src/core/storage/object-key.ts: object keys for bodies: layout, UTC time, unique capture segments, sanitized decoration, extensions. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bodyObjectKey,
  captureObjectKey,
  extensionFor,
  sanitizeSegment,
} from "../../src/core/storage/object-key.js";
import {
  captureId,
  captureIdTimeMs,
  captureKeySegment,
  isCaptureId,
  requestIdKey,
} from "../../src/core/capture-id.js";

const U = "0190b6a2-1c3d-7e4f-8a5b-6c7d8e9f0a1b";

const at = (...utc: [number, number, number, number, number, number, number?]) => Date.UTC(...utc) * 1000;

describe("bodyObjectKey", () => {
  // A zone far from UTC, so local-time formatting would show.
  const savedTz = process.env.TZ;
  beforeAll(() => {
    process.env.TZ = "Pacific/Kiritimati"; // UTC+14
  });
  afterAll(() => {
    if (savedTz === undefined) delete process.env.TZ;
    else process.env.TZ = savedTz;
  });

  it("lays keys out as <model>/<version>/yyyy/mm/dd/hh/<id>/<name>.<ext> in UTC", () => {
    expect(new Date(Date.UTC(2026, 0, 1)).getHours()).toBe(14); // the local zone really is not UTC here
    const parts = {
      model: "iris",
      version: "1",
      id: U,
      startedAtUs: at(2026, 10, 22, 17, 32, 52) + 5,
    };
    expect(bodyObjectKey(parts, "request", "application/json")).toBe(
      `iris/1/2026/11/22/17/${U}/request.json`,
    );
    expect(bodyObjectKey(parts, "response", "image/png")).toBe(`iris/1/2026/11/22/17/${U}/response.png`);
  });

  it("zero-pads and uses the UTC date around midnight and new year", () => {
    const parts = { model: "m", version: "v", id: U, startedAtUs: at(2026, 0, 1, 0, 0, 0) - 1 };
    expect(bodyObjectKey(parts, "request", "")).toBe(`m/v/2025/12/31/23/${U}/request.bin`);
    const early = { ...parts, startedAtUs: at(2027, 2, 4, 5, 6, 7) };
    expect(bodyObjectKey(early, "response", "text/plain")).toBe(`m/v/2027/03/04/05/${U}/response.txt`);
  });

  it("keeps hostile values inside their own segment", () => {
    const key = bodyObjectKey(
      { model: "../../etc/passwd", version: "..", id: "a/b", startedAtUs: at(2026, 5, 1, 12, 0, 0) },
      "../x",
      "text/csv",
    );
    const segments = key.split("/");
    expect(segments).toHaveLength(8);
    expect(segments.filter((s) => s === "." || s === ".." || s === "")).toEqual([]);
    expect(key).toMatch(/^\.\._\.\._etc_passwd\/_\/2026\/06\/01\/12\/r-[0-9a-f]{64}\/\.\._x\.csv$/);
  });

  it("never gives two captures one prefix: ids that sanitize alike, non-ASCII ids and long ids with one prefix stay apart", () => {
    const long = "p".repeat(300);
    const ids = ["a/b", "a_b", "a b", "é", "ü", `${long}1`, `${long}2`, U, U.replace(/b$/, "c")];
    const keys = ids.map((id) =>
      bodyObjectKey({ model: "m", version: "1", id, startedAtUs: 0 }, "request", ""),
    );
    expect(new Set(keys).size).toBe(ids.length);
    for (const k of keys) expect(k.length).toBeLessThan(120);
  });

  it("keeps a capture id (UUIDv7) as it is, and hashes any other id (a schema-1 record's x-request-id)", () => {
    expect(captureKeySegment(U)).toBe(U);
    expect(captureKeySegment(U.toUpperCase())).toMatch(/^r-[0-9a-f]{64}$/);
    // Envoy's own x-request-ids are UUIDv4: two schema-1 hops of one request shared one, so it is
    // hashed like any other, never taken for a capture id.
    expect(captureKeySegment("0f3a2c4e-1b7d-4e8a-9c2f-5d6e7f8a9b0c")).toMatch(/^r-[0-9a-f]{64}$/);
    expect(captureKeySegment("a/b")).not.toBe(captureKeySegment("a_b"));
  });
});

describe("sanitizeSegment", () => {
  it.each([
    ["../../etc/passwd", ".._.._etc_passwd"],
    ["a/b", "a_b"],
    ["a\\b", "a_b"],
    ["my model v2", "my_model_v2"],
    ["modèle", "mod_le"],
    ["模型", "__"],
    ["🚀", "__"], // one emoji is two UTF-16 code units
    ["..", "_"],
    [".", "_"],
    ["...", "_"],
    ["", "_"],
    ["ok-Name_1.2", "ok-Name_1.2"],
    ["..hidden", "..hidden"],
  ])("%j → %j", (input, expected) => {
    expect(sanitizeSegment(input)).toBe(expected);
    expect(sanitizeSegment(input)).toMatch(/^[A-Za-z0-9._-]+$/);
  });

  it("caps length at 128 by default and at the given maximum", () => {
    expect(sanitizeSegment("x".repeat(300))).toBe("x".repeat(128));
    expect(sanitizeSegment("y".repeat(300), 200)).toHaveLength(200);
    expect(sanitizeSegment("abcdef", 3)).toBe("abc");
  });
});

describe("extensionFor", () => {
  it.each([
    ["application/json", "json"],
    ["application/json; charset=utf-8", "json"],
    ["Application/JSON ; charset=UTF-8", "json"],
    ["application/vnd.foo+json", "json"],
    ["application/problem+json; charset=utf-8", "json"],
    ["text/plain", "txt"],
    ["text/csv", "csv"],
    ["text/event-stream", "sse"],
    ["image/png", "png"],
    ["image/jpeg", "jpg"],
    ["image/tiff", "tiff"],
    ["image/avif", "avif"],
    ["multipart/form-data; boundary=xyz", "multipart"],
    ["application/octet-stream", "bin"],
    ["application/x-protobuf", "bin"],
    ["application/vnd.foo+xml", "bin"],
    ["", "bin"],
  ])("%j → %s", (contentType, ext) => {
    expect(extensionFor(contentType)).toBe(ext);
  });
});

describe("captureObjectKey", () => {
  const parts = { model: "iris", version: "1", id: U, startedAtUs: at(2026, 10, 22, 17, 42, 54) };
  const s3 = (key: string) => `s3://modeltap/${key}`;
  const key = `iris/1/2026/11/22/17/${U}/mask-0-1.png`;

  it("finds the key of a URI the store gave one of the capture's objects", () => {
    expect(captureObjectKey(parts, s3(key), s3)).toBe(key);
    expect(captureObjectKey(parts, s3(bodyObjectKey(parts, "input-3", "image/jpeg")), s3)).toBe(
      `iris/1/2026/11/22/17/${U}/input-3.jpg`,
    );
  });

  it.each([
    ["another bucket", `s3://other/${key}`],
    ["another capture", "s3://modeltap/iris/1/2026/11/22/17/other-id/mask-0-1.png"],
    ["another hour", `s3://modeltap/iris/1/2026/11/22/18/${U}/mask-0-1.png`],
    ["a name that is no object name", `s3://modeltap/iris/1/2026/11/22/17/${U}/..`],
    ["no name", `s3://modeltap/iris/1/2026/11/22/17/${U}/`],
  ])("refuses a URI of %s", (_what, uri) => {
    expect(captureObjectKey(parts, uri, s3)).toBeUndefined();
  });
});

describe("captureId", () => {
  it("makes time-ordered UUIDv7s from the clock and 10 random bytes", () => {
    const a = captureId(Date.UTC(2026, 10, 28, 21), new Uint8Array(10).fill(0xff));
    const b = captureId(Date.UTC(2026, 10, 28, 21) + 1, new Uint8Array(10));
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7fff-bfff-ffffffffffff$/);
    expect(isCaptureId(a) && isCaptureId(b)).toBe(true);
    expect(a < b).toBe(true);
    expect(captureIdTimeMs(a)).toBe(Date.UTC(2026, 10, 28, 21));
    expect(() => captureId(0, new Uint8Array(9))).toThrow(RangeError);
  });
});

describe("requestIdKey", () => {
  it("keeps an x-request-id up to 256 characters, and a longer one as a prefix and its hash", () => {
    expect(requestIdKey("abc")).toBe("abc");
    expect(requestIdKey("x".repeat(256))).toBe("x".repeat(256));
    const long = `${"y".repeat(6000)}1`;
    const key = requestIdKey(long);
    expect(key).toMatch(/^y{128}~sha256:[0-9a-f]{64}$/);
    expect(requestIdKey(long)).toBe(key);
    expect(requestIdKey(`${"y".repeat(6000)}2`)).not.toBe(key);
  });
});
