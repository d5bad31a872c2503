/* eslint-disable @typescript-eslint/no-explicit-any -- assertions on stored JSON */
/**
 * Understanding traffic end to end: real requests through the real Envoy to the demo models, and
 * the canonical analysis the worker stored in Postgres (see docs/canonical-schema.md).
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { promisify } from "node:util";
import { decode as decodePng } from "fast-png";
import { afterAll, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/config.js";
import { pngImage as png } from "../../tools/demo/payloads.js";
import { send } from "../support/http.js";
import { isSampled } from "../../src/core/sampler.js";
import { connect } from "nats";
import { BODY_BUCKET } from "../../src/adapters/nats/streams.js";
import { b64, noisyPng } from "../support/bytes.js";
import {
  OBS,
  NORMAL,
  SAMPLING_SEED,
  blobs,
  captureIdOf,
  config,
  db,
  expectBytes,
  poll,
  storedBody,
  waitForRows,
} from "./helpers.js";

const pg = db();
afterAll(() => pg.end());

/** The object key in an s3:// URI the worker stored. */
const keyOf = (uri: string) => uri.replace(/^s3:\/\/[^/]+\//, "");

interface AnalysisRow {
  protocol: string;
  parse_error: string;
  analysis: {
    instances: Array<{
      input: Record<string, unknown>;
      prediction: Record<string, unknown> | null;
      notes?: string[];
    }>;
  } | null;
  features: unknown;
  predictions: unknown;
}

async function analysisOf(id: string): Promise<AnalysisRow> {
  await waitForRows(pg, [id]);
  const res = await pg.query<AnalysisRow>(
    "SELECT protocol, parse_error, analysis, features, predictions FROM captures WHERE request_id = $1",
    [id],
  );
  return res.rows[0]!;
}

function expectClose(actual: number[], expected: number[], tol = 0.5): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((v, i) =>
    expect(Math.abs(v - expected[i]!), `coordinate ${i}: ${v} vs ${expected[i]}`).toBeLessThanOrEqual(tol),
  );
}

it("tabular: a two-row KServe V2 batch becomes two instances with named, queryable features", async () => {
  const body = JSON.stringify({
    inputs: [{ name: "x", datatype: "FP32", shape: [2, 4], data: [5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3] }],
  });
  const s = await send(`${OBS}/v2/models/iris/infer`, body);
  const row = await analysisOf(s.id);
  expect(row.parse_error).toBe("");
  expect(row.protocol).toBe("kserve_v2");
  expect(row.features).toEqual([
    { sepal_length: 5.1, sepal_width: 3.5, petal_length: 1.4, petal_width: 0.2 },
    { sepal_length: 6.7, sepal_width: 3, petal_length: 5.2, petal_width: 2.3 },
  ]);
  expect(row.predictions).toEqual([
    { kind: "classification", label: "setosa", score: 0.9 },
    { kind: "classification", label: "virginica", score: 0.7 },
  ]);
  const q = await pg.query(
    "SELECT id FROM captures WHERE request_id = $1 AND (features->1->>'petal_length')::float > 5",
    [s.id],
  );
  expect(q.rowCount).toBe(1);
});

it("tabular against a real MLServer (scikit-learn): class ids and probabilities become labels", async () => {
  const inputs = [
    { name: "x", datatype: "FP32", shape: [2, 4], data: [5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3] },
  ];
  const ids = await send(`${OBS}/v2/models/iris-sklearn/infer`, JSON.stringify({ inputs }));
  expect(ids.status).toBe(200);
  // What MLServer itself answered: class ids in the "predict" output.
  const answered = JSON.parse(ids.response.toString()) as {
    outputs: Array<{ name: string; data: number[] }>;
  };
  const classIds = answered.outputs.find((o) => o.name === "predict")!.data;
  const IRIS = ["setosa", "versicolor", "virginica"];
  const row = await analysisOf(ids.id);
  expect(row.parse_error).toBe("");
  expect(row.predictions).toEqual(
    classIds.map((k) => ({ kind: "classification", label: IRIS[k], score: null })),
  );
  expect(classIds).toEqual([0, 2]); // the model the stack trained on the spot is sane
  expect((row.features as Array<Record<string, number>>)[1]).toEqual({
    sepal_length: 6.7,
    sepal_width: 3,
    petal_length: 5.2,
    petal_width: 2.3,
  });

  const probs = await send(
    `${NORMAL}/v2/models/iris-sklearn/infer`,
    JSON.stringify({ inputs, outputs: [{ name: "predict_proba" }] }),
  );
  const proba = (
    JSON.parse(probs.response.toString()) as { outputs: Array<{ name: string; data: number[] }> }
  ).outputs.find((o) => o.name === "predict_proba")!.data;
  const p = (await analysisOf(probs.id)).predictions as Array<{
    label: string;
    score: number;
    classes: Array<{ label: string; score: number }>;
  }>;
  expect(p).toHaveLength(2);
  p.forEach((pred, r) => {
    const row3 = proba.slice(3 * r, 3 * r + 3);
    const best = row3.indexOf(Math.max(...row3));
    expect(pred.label).toBe(IRIS[best]);
    expect(pred.score).toBeCloseTo(row3[best]!, 5);
    expect(Object.fromEntries(pred.classes.map((c) => [c.label, c.score]))).toEqual(
      Object.fromEntries(IRIS.map((l, k) => [l, expect.closeTo(row3[k]!, 5)])),
    );
  });
});

it("tabular regression: KServe V1 instances and CSV rows become features and values", async () => {
  const v1 = await send(
    `${OBS}/v1/models/price:predict`,
    JSON.stringify({
      instances: [
        [1200, 3],
        [800, 2],
      ],
    }),
  );
  expect(v1.status).toBe(200);
  const row = await analysisOf(v1.id);
  expect(row.parse_error).toBe("");
  expect(row.protocol).toBe("kserve_v1");
  expect(row.features).toEqual([
    { sqft: 1200, rooms: 3 },
    { sqft: 800, rooms: 2 },
  ]);
  expect(row.predictions).toEqual([
    { kind: "regression", value: 210000 },
    { kind: "regression", value: 140000 },
  ]);

  const csv = await send(`${NORMAL}/csv/price`, "sqft,rooms\n1000,2\n1500,4\n", { contentType: "text/csv" });
  const crow = await analysisOf(csv.id);
  expect(crow.parse_error).toBe("");
  expect(crow.protocol).toBe("generic");
  expect(crow.features).toEqual([
    { sqft: 1000, rooms: 2 },
    { sqft: 1500, rooms: 4 },
  ]);
  expect(crow.predictions).toEqual([
    { kind: "regression", value: 170000 },
    { kind: "regression", value: 265000 },
  ]);
});

it("image classification: base64 JSON and multipart uploads give top-k labels, the image in S3", async () => {
  const image = png(400, 200);
  const b64 = await send(
    `${OBS}/models/image-classifier`,
    JSON.stringify({ inputs: image.toString("base64") }),
  );
  expect(b64.status).toBe(200);
  const boundary = "modeltap-e2e-boundary";
  const form = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="data"; filename="tall.png"\r\n`),
    Buffer.from("Content-Type: image/png\r\n\r\n"),
    png(100, 300),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  const multi = await send(`${NORMAL}/models/image-classifier`, form, {
    contentType: `multipart/form-data; boundary=${boundary}`,
  });
  expect(multi.status).toBe(200);
  for (const [s, sent, size, label] of [
    [b64, image, { width: 400, height: 200 }, "landscape"],
    [multi, png(100, 300), { width: 100, height: 300 }, "portrait"],
  ] as const) {
    const row = await analysisOf(s.id);
    expect(row.parse_error).toBe("");
    expect(row.protocol).toBe("hf_pipeline");
    const stored = row.analysis!.instances[0]!.input.image as { uri: string };
    expect(stored).toEqual({ ...size, format: "png", uri: expect.stringMatching(/\/input-0\.png$/) });
    // However small, the decoded image is an object of its own, byte for byte the PNG sent, while
    // the small request around it stays in the row.
    expect(sent.byteLength).toBeLessThan(4096);
    const [capture] = await waitForRows(pg, [s.id]);
    expect(capture!.request_body).not.toBeNull();
    expect(stored.uri).toBe(`s3://${config.s3.bucket}/${keyOf(stored.uri)}`);
    expectBytes(await blobs().get(keyOf(stored.uri)), sent);
    expect(row.predictions).toEqual([
      {
        kind: "classification",
        label,
        score: 0.85,
        classes: [
          { label, score: 0.85 },
          { label: "square", score: 0.1 },
        ],
      },
    ]);
    expectBytes(await storedBody(capture!, "request"), s.request);
  }
});

it("image classification: a base64 image over the NATS inline limit is parked, then stored in S3", async () => {
  // About 300 KiB of PNG: past MODELTAP_NATS_INLINE_MAX_BYTES (256 KiB), so the collector parks it
  // (and the ~400 KiB request) in the JetStream object store; the worker moves both to S3.
  const image = noisyPng(320, 320);
  expect(image.byteLength).toBeGreaterThan(config.natsInlineMaxBytes);
  const s = await send(`${OBS}/models/image-classifier`, JSON.stringify({ inputs: b64(image) }));
  expect(s.status).toBe(200);
  const row = await analysisOf(s.id);
  expect(row.parse_error).toBe("");
  const uri = (row.analysis!.instances[0]!.input.image as { uri: string }).uri;
  expect(uri).toMatch(/\/input-0\.png$/);
  expectBytes(await blobs().get(keyOf(uri)), image);
  // The parked copies (named by capture id) are deleted once the worker has acked.
  const captureId = await captureIdOf(pg, s.id);
  const nc = await connect({ servers: config.natsUrl });
  try {
    const parked = await nc.jetstream().views.os(BODY_BUCKET);
    const gone = await poll("the parked image to be deleted", async () => {
      const info = await parked.info(`${captureId}/input-0`);
      return info?.deleted === true ? true : undefined;
    });
    expect(gone).toBe(true);
  } finally {
    await nc.close();
  }
});

it("text classification: the text and the label are stored", async () => {
  // The sentiment route samples 25%: pick request ids that fall inside the sample.
  const id = Array.from({ length: 200 }, () => randomUUID()).find((x) => isSampled(x, 0.25, SAMPLING_SEED))!;
  const body = JSON.stringify({
    inputs: [{ name: "text", datatype: "BYTES", shape: [2], data: ["I love this", "this is awful"] }],
  });
  const s = await send(`${OBS}/v2/models/sentiment/infer`, body, { id });
  const row = await analysisOf(s.id);
  expect(row.parse_error).toBe("");
  expect(row.analysis!.instances.map((i) => i.input.text)).toEqual(["I love this", "this is awful"]);
  expect(row.predictions).toEqual([
    { kind: "classification", label: "positive", score: null },
    { kind: "classification", label: "negative", score: null },
  ]);
});

it("object detection: letterboxed boxes come back in original-image pixels", async () => {
  const s = await send(`${OBS}/predictions/detector`, png(1280, 720), { contentType: "image/png" });
  expect(s.status).toBe(200);
  const row = await analysisOf(s.id);
  expect(row.parse_error).toBe("");
  const inst = row.analysis!.instances[0]!;
  // A raw image upload: the request object is the image.
  const [capture] = await waitForRows(pg, [s.id]);
  expect(inst.input.image).toEqual({
    width: 1280,
    height: 720,
    format: "png",
    uri: `s3://${config.s3.bucket}/${capture!.request_object_key}`,
  });
  const boxes = (inst.prediction as { boxes: Array<{ label: string; score: number; xyxy: number[] }> }).boxes;
  expect(boxes).toHaveLength(1);
  expect(boxes[0]!.label).toBe("object");
  expectClose(boxes[0]!.xyxy, [320, 180, 960, 540]);
});

it("instance segmentation: stretched polygons, with a {xmin, ymin, xmax, ymax} box beside them, come back in original-image pixels", async () => {
  const s = await send(`${NORMAL}/predictions/segmenter`, png(300, 200), { contentType: "image/png" });
  const row = await analysisOf(s.id);
  expect(row.parse_error).toBe("");
  const seg = (
    row.analysis!.instances[0]!.prediction as { instances: Array<{ polygons: number[][]; xyxy: number[] }> }
  ).instances[0]!;
  expectClose(seg.polygons[0]!, [75, 50, 225, 50, 225, 150, 75, 150]);
  // The box is the model's own (a dict beside the polygon), read and mapped, not ignored.
  expectClose(seg.xyxy, [75, 50, 225, 150]);
  expect(row.analysis!.instances[0]!.notes).toBeUndefined();
  // The mask is also stored as a PNG at the original size, rasterised from the polygon.
  const uri = (seg as unknown as { mask_uri: string }).mask_uri;
  expect(uri).toMatch(/mask-0-0\.png$/);
  const mask = decodePng((await blobs().get(keyOf(uri)))!);
  expect([mask.width, mask.height]).toEqual([300, 200]);
  const set = (x: number, y: number) => mask.data[y * 300 + x] === 255;
  expect([set(150, 100), set(76, 51), set(224, 149), set(74, 100), set(150, 151)]).toEqual([
    true,
    true,
    true,
    false,
    false,
  ]);
});

it("NER: entities are character spans of the original text", async () => {
  const text = "Alice flew from Paris to Berlin";
  const s = await send(`${OBS}/models/ner`, JSON.stringify({ inputs: text }));
  const row = await analysisOf(s.id);
  expect(row.parse_error).toBe("");
  expect(row.analysis!.instances[0]!.input.text).toBe(text);
  expect(row.predictions).toEqual([
    {
      kind: "entities",
      entities: [
        { start: 0, end: 5, label: "PER", score: 0.98, text: "Alice" },
        { start: 16, end: 21, label: "LOC", score: 0.98, text: "Paris" },
        { start: 25, end: 31, label: "LOC", score: 0.98, text: "Berlin" },
      ],
    },
  ]);
});

it("LLM chat: a streamed SSE response is reassembled, with usage and time to first token", async () => {
  const body = JSON.stringify({
    model: "demo",
    stream: true,
    messages: [{ role: "user", content: "hello there" }],
  });
  const s = await send(`${OBS}/v1/chat/completions`, body);
  expect(s.response.toString()).toContain("data: [DONE]");
  const row = await analysisOf(s.id);
  expect(row.parse_error).toBe("");
  const p = row.analysis!.instances[0]!.prediction as Record<string, any>;
  expect(p.message).toEqual({ role: "assistant", content: "You said: hello there" });
  expect(p.finish_reason).toBe("stop");
  expect(p.usage).toEqual({ prompt_tokens: 2, completion_tokens: 4, total_tokens: 6 });
  expect(p.streamed).toBe(true);
  // Chunks are 15 ms apart upstream: the first token arrives well before the end.
  expect(p.ttft_ms).toBeGreaterThan(0);
  expect(p.total_ms).toBeGreaterThan(p.ttft_ms + 30);
});

it("a protocol failure is flagged on the capture, and the raw bytes are still stored", async () => {
  const s = await send(`${OBS}/v2/models/iris/infer`, '{"inputs": [{"name": "x", "shape": [1,');
  expect(s.status).toBe(400);
  const row = await analysisOf(s.id);
  expect(row.parse_error).toMatch(/^kserve_v2: /);
  const [stored] = await waitForRows(pg, [s.id]);
  expectBytes(await storedBody(stored!, "request"), s.request);
});

it("`captures get` shows the canonical prediction", async () => {
  const s = await send(`${OBS}/models/ner`, JSON.stringify({ inputs: "Bob lives in London" }));
  await analysisOf(s.id);
  const out = await promisify(execFile)(process.execPath, [
    path.join(PACKAGE_ROOT, "bin", "modeltap.js"),
    "captures",
    "get",
    s.id,
  ]);
  expect(out.stdout).toContain("protocol hf_pipeline");
  expect(out.stdout).toContain('"label":"PER"');
  expect(out.stdout).toContain('"text":"London"');
});
