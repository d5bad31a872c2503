import { describe, expect, it } from "vitest";
import { bodyObjectKey, extensionFor, sanitizeSegment } from "../../src/core/object-key.js";
import { captureJson, planPersist } from "../../src/core/persist-plan.js";
import { REDACTED, redactHeaders } from "../../src/core/redact.js";
import { RECORD_SCHEMA_VERSION, emptyBody, type CaptureRecord } from "../../src/core/record.js";
import { DEFAULT_SECRET_HEADERS } from "../../src/core/redact.js";

const at = Date.UTC(2026, 10, 22, 7, 5, 9) * 1000;

describe("object keys", () => {
  it("lays keys out as model/version/yyyy/mm/dd/hh/id/name.ext in UTC", () => {
    expect(
      bodyObjectKey(
        { model: "iris", version: "1", id: "abc", startedAtUs: at },
        "request",
        "application/json",
      ),
    ).toBe("iris/1/2026/11/22/07/abc/request.json");
  });

  it.each([
    ["../../etc/passwd", ".._.._etc_passwd"],
    ["a/b", "a_b"],
    ["with space", "with_space"],
    ["modèle", "mod_le"],
    ["..", "_"],
    [".", "_"],
    ["", "_"],
  ])("sanitizes %j to %j", (raw, clean) => {
    expect(sanitizeSegment(raw)).toBe(clean);
  });

  it("cannot be steered out of its prefix", () => {
    const key = bodyObjectKey(
      { model: "../x", version: "/", id: "../../y", startedAtUs: at },
      "request",
      "text/plain",
    );
    expect(key.split("/")).toHaveLength(8);
    expect(key.split("/").some((seg) => seg === ".." || seg === "." || seg === "")).toBe(false);
  });

  it.each([
    ["application/json; charset=utf-8", "json"],
    ["application/vnd.api+json", "json"],
    ["IMAGE/PNG", "png"],
    ["text/event-stream", "sse"],
    ["application/x-unknown", "bin"],
    ["", "bin"],
  ])("maps content type %j to .%s", (ct, ext) => {
    expect(extensionFor(ct)).toBe(ext);
  });
});

describe("redaction", () => {
  it("redacts every default secret header, case-insensitively, without touching others or the input", () => {
    const input = [
      ...DEFAULT_SECRET_HEADERS.map((h) => ({ name: h.toUpperCase(), value: "secret" })),
      { name: "content-type", value: "application/json" },
    ];
    const out = redactHeaders(input, new Set(DEFAULT_SECRET_HEADERS));
    expect(out.slice(0, DEFAULT_SECRET_HEADERS.length).every((h) => h.value === REDACTED)).toBe(true);
    expect(out.at(-1)).toEqual({ name: "content-type", value: "application/json" });
    expect(input[0]!.value).toBe("secret");
  });
});

describe("persist plan", () => {
  const record: CaptureRecord = {
    id: "id1",
    model: "iris",
    version: "1",
    task: "tabular_classification",
    route: "iris",
    cluster: "c",
    mode: "observability",
    method: "POST",
    path: "/p",
    authority: "a",
    startedAtUs: at,
    ttfbUs: 1000,
    durationUs: 2500,
    statusCode: 200,
    complete: true,
    request: {
      ...emptyBody(),
      contentType: "application/json",
      data: Buffer.from("{}"),
      sizeBytes: 2,
      wireSizeBytes: 2,
    },
    response: {
      ...emptyBody(),
      contentType: "image/png",
      objectRef: "id1/response",
      sizeBytes: 5,
      wireSizeBytes: 5,
    },
    sampleRate: 1,
    schemaVersion: RECORD_SCHEMA_VERSION,
    upstreamUs: null,
  };

  it("plans one object per non-empty body, inline or from the large-body store", () => {
    const plan = planPersist(record, (k) => `s3://b/${k}`);
    expect(plan.objects).toEqual([
      {
        key: "iris/1/2026/11/22/07/id1/request.json",
        contentType: "application/json",
        source: { inline: Buffer.from("{}") },
      },
      {
        key: "iris/1/2026/11/22/07/id1/response.png",
        contentType: "image/png",
        source: { ref: "id1/response" },
      },
    ]);
    expect(plan.row.request.objectUri).toBe("s3://b/iris/1/2026/11/22/07/id1/request.json");
    expect(plan.row.durationMs).toBe(2.5);
    expect(plan.row.upstreamMs).toBeNull();
  });

  it("plans no object for an empty body", () => {
    const plan = planPersist({ ...record, response: emptyBody() }, (k) => k);
    expect(plan.objects).toHaveLength(1);
    expect(plan.row.response.objectUri).toBeNull();
    expect(plan.row.response.objectKey).toBeNull();
  });

  it("prints the documented, stable JSON shape", () => {
    const json = captureJson(planPersist(record, (k) => k).row);
    expect(Object.keys(json)).toEqual([
      "id",
      "model",
      "version",
      "task",
      "route",
      "cluster",
      "mode",
      "method",
      "path",
      "received_at",
      "duration_ms",
      "ttfb_ms",
      "upstream_ms",
      "status_code",
      "complete",
      "request",
      "response",
    ]);
    expect(Object.keys(json.request as object)).toEqual([
      "content_type",
      "content_encoding",
      "size_bytes",
      "wire_size_bytes",
      "truncated",
      "decode_error",
      "object_uri",
    ]);
    expect(json.received_at).toBe("2026-11-22T07:05:09.000Z");
  });
});
