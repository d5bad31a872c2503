/** src/core/storage/persist-plan.ts: planPersist (objects to write and the row) and labelExports. */
import { decode } from "fast-png";
import { describe, expect, it } from "vitest";
import type { Analysis } from "../../src/core/canonical.js";
import { isSampled } from "../../src/core/sampler.js";
import { bodyLocation, captureJson } from "../../src/core/storage/capture-json.js";
import { maskPng } from "../../src/core/storage/mask-png.js";
import { TEXT_INLINE_MAX_CHARS, labelExports, planPersist } from "../../src/core/storage/persist-plan.js";
import { emptyBody, type CaptureRecord, type InputImage } from "../../src/core/record.js";
import { b64, noisyPng } from "../support/bytes.js";
import { capturedBody, irisRecord, newRecord } from "../support/records.js";

const uriFor = (key: string) => `s3://modeltap/${key}`;

describe("planPersist", () => {
  it("turns an inline body into an object under its key, and an objectRef body into a {ref} source", () => {
    const rec = irisRecord();
    const { objects, row } = planPersist(rec, uriFor);
    expect(objects).toEqual([
      {
        key: "iris/1/2026/11/22/17/0190b6a2-1c3d-7e4f-8a5b-6c7d8e9f0a1b/request.json",
        contentType: "application/json",
        source: { inline: rec.request.data },
      },
      {
        key: "iris/1/2026/11/22/17/0190b6a2-1c3d-7e4f-8a5b-6c7d8e9f0a1b/response.png",
        contentType: "image/png",
        source: { ref: "big/5b0e/response" },
      },
    ]);
    expect(row.request.objectKey).toBe(
      "iris/1/2026/11/22/17/0190b6a2-1c3d-7e4f-8a5b-6c7d8e9f0a1b/request.json",
    );
    expect(row.request.objectUri).toBe(
      "s3://modeltap/iris/1/2026/11/22/17/0190b6a2-1c3d-7e4f-8a5b-6c7d8e9f0a1b/request.json",
    );
    expect(row.response.objectUri).toBe(
      "s3://modeltap/iris/1/2026/11/22/17/0190b6a2-1c3d-7e4f-8a5b-6c7d8e9f0a1b/response.png",
    );
    expect(row.response).toMatchObject({ truncated: true, wireSizeBytes: 2_000_000, sizeBytes: 900_000 });
  });

  it("keeps small non-image bodies in the row, and images and large bodies as objects", () => {
    const small = (contentType: string, n: number) => ({
      ...emptyBody(),
      contentType,
      data: new Uint8Array(n).fill(65),
      sizeBytes: n,
    });
    const opts = { rowInlineMaxBytes: 100 };
    const tabular = planPersist(
      irisRecord({ request: small("application/json", 100), response: small("application/json", 101) }),
      uriFor,
      opts,
    );
    expect(tabular.row.request.inline).toEqual(new Uint8Array(100).fill(65));
    expect(tabular.row.request.objectKey).toBeNull();
    expect(tabular.row.request.objectUri).toBeNull();
    expect(captureJson(tabular.row).request).toMatchObject({ stored_in: "database", object_uri: null });
    // One byte over the limit: an object, as before.
    expect(tabular.row.response.inline).toBeNull();
    expect(tabular.objects.map((o) => o.key)).toEqual([
      "iris/1/2026/11/22/17/0190b6a2-1c3d-7e4f-8a5b-6c7d8e9f0a1b/response.json",
    ]);
    expect(captureJson(tabular.row).response).toMatchObject({ stored_in: "object_store" });
    // An image is an unstructured input: always an object, however small.
    const image = planPersist(
      irisRecord({ request: small("Image/PNG", 10), response: emptyBody() }),
      uriFor,
      opts,
    );
    expect(image.row.request.inline).toBeNull();
    expect(image.objects.map((o) => o.contentType)).toEqual(["Image/PNG"]);
    // A body parked in the large-body store is never inline, and 0 turns inlining off.
    expect(planPersist(irisRecord(), uriFor, opts).row.response.inline).toBeNull();
    const off = planPersist(irisRecord({ request: small("application/json", 5) }), uriFor, {
      rowInlineMaxBytes: 0,
    });
    expect(off.row.request.inline).toBeNull();
    expect(captureJson(off.row).response).toMatchObject({ stored_in: "object_store" });
    expect(
      captureJson(planPersist(irisRecord({ response: emptyBody() }), uriFor).row).response,
    ).toMatchObject({
      stored_in: null,
    });
    expect(bodyLocation(tabular.row.request)).toBe("database row");
    expect(bodyLocation(tabular.row.response)).toBe(
      "s3://modeltap/iris/1/2026/11/22/17/0190b6a2-1c3d-7e4f-8a5b-6c7d8e9f0a1b/response.json",
    );
    expect(bodyLocation(planPersist(irisRecord({ response: emptyBody() }), uriFor).row.response)).toBe("-");
  });

  it("writes no object and a null uri for an empty body", () => {
    const { objects, row } = planPersist(irisRecord({ response: emptyBody() }), uriFor);
    expect(objects.map((o) => o.key)).toEqual([
      "iris/1/2026/11/22/17/0190b6a2-1c3d-7e4f-8a5b-6c7d8e9f0a1b/request.json",
    ]);
    expect(row.response.objectKey).toBeNull();
    expect(row.response.objectUri).toBeNull();
    const none = planPersist(irisRecord({ request: emptyBody(), response: emptyBody() }), uriFor);
    expect(none.objects).toEqual([]);
  });

  it("stores a body with no content type as application/octet-stream with a .bin key", () => {
    const rec = irisRecord({ request: { ...emptyBody(), data: new Uint8Array([1, 2, 3]), sizeBytes: 3 } });
    const [first] = planPersist(rec, uriFor).objects;
    expect(first).toMatchObject({
      key: "iris/1/2026/11/22/17/0190b6a2-1c3d-7e4f-8a5b-6c7d8e9f0a1b/request.bin",
      contentType: "application/octet-stream",
    });
  });

  it("converts times: received_at from µs, durations to ms, upstream null stays null", () => {
    const { row } = planPersist(irisRecord(), uriFor);
    expect(row.receivedAt.toISOString()).toBe("2026-11-22T17:42:54.123Z");
    expect(row.durationMs).toBe(1.84);
    expect(row.ttfbMs).toBe(1.2);
    expect(row.upstreamMs).toBe(1);
    expect(planPersist(irisRecord({ upstreamUs: null }), uriFor).row.upstreamMs).toBeNull();
    expect(planPersist(irisRecord({ upstreamUs: 0 }), uriFor).row.upstreamMs).toBe(0);
    expect(row.analysis).toBeNull();
    expect(row.predictions).toBeNull();
  });
});

describe("labelExports: which captures go to the labeling tool", () => {
  const analysis = (task: string, inputs: Array<Record<string, unknown>>) =>
    Buffer.from(
      JSON.stringify({
        schema_version: 1,
        task,
        protocol: "generic",
        instances: inputs.map((input) => ({ input, prediction: null })),
      }),
    );
  const rec = (id: string, task: string, labelRate: number, inputs: Array<Record<string, unknown>>) =>
    irisRecord({ id, task, labelRate, labelSet: ["a"], analysisJson: analysis(task, inputs) });
  const image = { image: { width: 4, height: 3, format: "png" } };

  it("queues every instance with a text or an image at label_rate 1, none at 0", () => {
    const r = rec("x1", "ner", 1, [{ text: "a" }, { text: "b" }, {}]);
    expect(labelExports(r, planPersist(r, uriFor).row.analysis)).toEqual([0, 1]);
    expect(planPersist(r, uriFor).row.labelExports).toEqual([0, 1]);
    expect(planPersist(rec("x1", "ner", 0, [{ text: "a" }]), uriFor).row.labelExports).toEqual([]);
  });

  it("only for tasks people label", () => {
    for (const task of ["tabular_classification", "tabular_regression", "text_generation", "unknown"]) {
      expect(planPersist(rec("x2", task, 1, [image]), uriFor).row.labelExports, task).toEqual([]);
    }
    for (const task of ["image_classification", "object_detection", "instance_segmentation"]) {
      expect(planPersist(rec("x2", task, 1, [image]), uriFor).row.labelExports, task).toEqual([0]);
    }
  });

  it("picks about label_rate of captures, independently of the sampling hash", () => {
    const ids = Array.from({ length: 4000 }, (_, i) => `req-${i}`);
    const chosen = ids.filter(
      (id) => planPersist(rec(id, "ner", 0.25, [{ text: "t" }]), uriFor).row.labelExports.length,
    );
    expect(chosen.length / ids.length).toBeGreaterThan(0.22);
    expect(chosen.length / ids.length).toBeLessThan(0.28);
    // Among ids the sampler keeps at 0.25, labeling still picks about a quarter (not all, not none).
    const sampled = ids.filter((id) => isSampled(id, 0.25, 0x5eedn));
    const both = sampled.filter((id) => chosen.includes(id));
    expect(both.length / sampled.length).toBeGreaterThan(0.18);
    expect(both.length / sampled.length).toBeLessThan(0.32);
  });
});

/** A record whose analysis is this, started 2026-01-02 03:00 UTC. */
const analysed = (analysis: Analysis) =>
  newRecord({
    id: "0190b6a2-1c3d-7e4f-8a5b-6c7d8e9f0a1b",
    model: "m",
    task: analysis.task,
    startedAtUs: Date.UTC(2026, 0, 2, 3) * 1000,
    analysisJson: Buffer.from(JSON.stringify(analysis)),
  });

describe("storing an analysis", () => {
  it("moves texts over the inline limit to an object and keeps a prefix", () => {
    const text = "x".repeat(TEXT_INLINE_MAX_CHARS + 1);
    const plan = planPersist(
      analysed({
        schema_version: 1,
        task: "ner",
        protocol: "hf_pipeline",
        instances: [{ input: { text }, prediction: null }],
      }),
      (k) => `s3://b/${k}`,
    );
    expect(plan.objects.map((o) => o.key)).toEqual([
      "m/1/2026/01/02/03/0190b6a2-1c3d-7e4f-8a5b-6c7d8e9f0a1b/text-0.txt",
    ]);
    expect(plan.row.analysis?.instances[0]?.input).toEqual({
      text: "x".repeat(1024),
      text_chars: text.length,
      text_uri: "s3://b/m/1/2026/01/02/03/0190b6a2-1c3d-7e4f-8a5b-6c7d8e9f0a1b/text-0.txt",
    });
  });

  it("plans one PNG per mask and links it from the stored analysis", () => {
    // 2x3 mask (h=2, w=3), column-major counts: 1 zero, then 2 ones, then 3 zeros.
    const rle = { size: [2, 3] as [number, number], counts: [1, 2, 3] };
    const plan = planPersist(
      analysed({
        schema_version: 1,
        task: "instance_segmentation",
        protocol: "p",
        instances: [
          {
            input: {},
            prediction: {
              kind: "segmentation",
              instances: [{ label: "a", score: 1, xyxy: [0, 0, 3, 2], rle }],
            },
          },
        ],
      }),
      (k) => k,
    );
    const mask = plan.objects.find((o) => o.key.endsWith("mask-0-0.png"))!;
    expect(mask.source).toEqual({ mask: rle });
    const png = decode(maskPng(rle));
    expect([png.width, png.height]).toEqual([3, 2]);
    // Column-major: pixel (x=0,y=1) and (x=1,y=0) are set.
    expect([...png.data]).toEqual([0, 255, 0, 255, 0, 0]);
    const seg = plan.row.analysis!.instances[0]!.prediction as unknown as {
      instances: Array<Record<string, unknown>>;
    };
    expect(seg.instances[0]!.mask_uri).toBe(mask.key);
    expect(plan.row.predictions).toHaveLength(1);
    expect(plan.row.features).toBeNull();
  });

  it("rasterises polygon-only instances into a mask at the original image's size", () => {
    const plan = planPersist(
      analysed({
        schema_version: 1,
        task: "instance_segmentation",
        protocol: "p",
        instances: [
          {
            input: { image: { width: 4, height: 3, format: "png" } },
            prediction: {
              kind: "segmentation",
              instances: [{ label: "a", score: 1, xyxy: [1, 0, 3, 2], polygons: [[1, 0, 3, 0, 3, 2, 1, 2]] }],
            },
          },
        ],
      }),
      (k) => k,
    );
    const mask = plan.objects.find((o) => o.key.endsWith("mask-0-0.png"))!;
    // Columns 1 and 2, rows 0 and 1: 3 zeros (column 0), 2 ones, 1 zero, 2 ones, 4 zeros.
    expect(mask.source).toEqual({ mask: { size: [3, 4], counts: [3, 2, 1, 2, 4] } });
  });
  it("draws no mask past the pixel budget, and says so on the instance (a record it would fail)", () => {
    const plan = planPersist(
      analysed({
        schema_version: 1,
        task: "instance_segmentation",
        protocol: "p",
        instances: [
          {
            // Within the default image budget (50 Mpx), over the default mask budget (16 Mpx).
            input: { image: { width: 5000, height: 4000, format: "png" } },
            prediction: {
              kind: "segmentation",
              instances: [{ label: "a", score: 1, xyxy: [0, 0, 9, 9], polygons: [[0, 0, 9, 0, 9, 9]] }],
            },
          },
        ],
      }),
      (k) => k,
    );
    expect(plan.objects).toEqual([]);
    expect(plan.row.analysis!.instances[0]!.notes).toEqual([
      "mask 0 not stored as a PNG: 4000×5000 pixels is more than the mask budget of 16000000",
    ]);
  });
});

describe("storing input images", () => {
  // About 1 KiB: far under the row limit, so the JSON request around it stays in the row.
  const PNG = noisyPng(18, 18);
  const analysis: Analysis = {
    schema_version: 1,
    task: "image_classification",
    protocol: "hf_pipeline",
    instances: [
      { input: { image: { width: 18, height: 18, format: "png" } }, prediction: null },
      { input: { image: { width: 18, height: 18, format: "png" } }, prediction: null },
    ],
  };
  const record = (over: Partial<CaptureRecord>) =>
    newRecord({
      id: "0190b6a2-1c3d-7e4f-8a5b-6c7d8e9f0a1b",
      model: "m",
      task: "image_classification",
      startedAtUs: Date.UTC(2026, 0, 2, 3) * 1000,
      request: capturedBody("application/json", JSON.stringify({ inputs: b64(PNG) })),
      response: capturedBody("application/json", '[{"label":"cat","score":0.9}]'),
      analysisJson: Buffer.from(JSON.stringify(analysis)),
      ...over,
    });
  const image = (instance: number, over: Partial<InputImage> = {}): InputImage => ({
    instance,
    contentType: "image/png",
    data: PNG,
    objectRef: "",
    sizeBytes: PNG.byteLength,
    ...over,
  });
  const opts = { rowInlineMaxBytes: 8192 };

  it("stores a 1 KiB base64 PNG from a JSON body as an object, linked from the analysis", () => {
    expect(PNG.byteLength).toBeGreaterThan(900);
    const plan = planPersist(record({ inputImages: [image(0)] }), uriFor, opts);
    // The JSON envelope stays in the row; the image is an object of its own.
    expect(plan.row.request.inline).not.toBeNull();
    expect(plan.objects).toContainEqual({
      key: "m/1/2026/01/02/03/0190b6a2-1c3d-7e4f-8a5b-6c7d8e9f0a1b/input-0.png",
      contentType: "image/png",
      source: { inline: PNG },
    });
    expect(plan.row.analysis!.instances[0]!.input.image).toEqual({
      width: 18,
      height: 18,
      format: "png",
      uri: "s3://modeltap/m/1/2026/01/02/03/0190b6a2-1c3d-7e4f-8a5b-6c7d8e9f0a1b/input-0.png",
    });
    expect(plan.row.analysis!.instances[1]!.input.image!.uri).toBeUndefined();
  });

  it("takes an image parked in the large-body store from there, with its format's extension", () => {
    const plan = planPersist(
      record({
        inputImages: [
          image(1, {
            contentType: "image/jpeg",
            data: new Uint8Array(0),
            objectRef: "0190b6a2-1c3d-7e4f-8a5b-6c7d8e9f0a1b/input-1",
          }),
        ],
      }),
      uriFor,
      opts,
    );
    expect(plan.objects).toContainEqual({
      key: "m/1/2026/01/02/03/0190b6a2-1c3d-7e4f-8a5b-6c7d8e9f0a1b/input-1.jpg",
      contentType: "image/jpeg",
      source: { ref: "0190b6a2-1c3d-7e4f-8a5b-6c7d8e9f0a1b/input-1" },
    });
    expect(plan.row.analysis!.instances[1]!.input.image!.uri).toBe(
      "s3://modeltap/m/1/2026/01/02/03/0190b6a2-1c3d-7e4f-8a5b-6c7d8e9f0a1b/input-1.jpg",
    );
  });

  it("stores a raw image upload as the request object whatever its content type, and links it", () => {
    const raw = record({
      request: capturedBody("application/octet-stream", PNG),
      requestIsImage: true,
      analysisJson: Buffer.from(JSON.stringify({ ...analysis, instances: analysis.instances.slice(0, 1) })),
    });
    const plan = planPersist(raw, uriFor, opts);
    expect(plan.row.request.inline).toBeNull();
    expect(plan.row.request.objectUri).toBe(
      "s3://modeltap/m/1/2026/01/02/03/0190b6a2-1c3d-7e4f-8a5b-6c7d8e9f0a1b/request.bin",
    );
    expect(plan.row.analysis!.instances[0]!.input.image!.uri).toBe(plan.row.request.objectUri);
    expect(plan.objects.filter((o) => o.key.includes("input-"))).toEqual([]);
    // Without the flag, the same small body would have stayed in the row, with no image object.
    expect(planPersist({ ...raw, requestIsImage: false }, uriFor, opts).row.request.inline).not.toBeNull();
  });

  it("stores an image the analysis has no image for, unlinked, so a parked one is still cleaned up", () => {
    const plan = planPersist(
      record({
        inputImages: [
          image(5, { data: new Uint8Array(0), objectRef: "0190b6a2-1c3d-7e4f-8a5b-6c7d8e9f0a1b/input-5" }),
        ],
      }),
      uriFor,
      opts,
    );
    expect(plan.objects.map((o) => o.key)).toContain(
      "m/1/2026/01/02/03/0190b6a2-1c3d-7e4f-8a5b-6c7d8e9f0a1b/input-5.png",
    );
    expect(JSON.stringify(plan.row.analysis)).not.toContain("input-5");
  });
});
