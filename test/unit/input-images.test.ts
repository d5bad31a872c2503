/** src/core/analysis/input-images.ts: the decoded input images the collector keeps on the record, within a budget. */
import { describe, expect, it } from "vitest";
import { analyzeRecordWithImages, keptInputImages } from "../../src/core/analysis/input-images.js";
import type { Analysis } from "../../src/core/canonical.js";
import { compileRouteConfig } from "../../src/core/route-config.js";
import { PluginRegistry } from "../../src/plugins/registry.js";
import { b64, jpeg8x8, png, utf8 } from "../support/bytes.js";
import { capturedBody, newRecord } from "../support/records.js";
import { validConfig } from "../support/routes.js";

const registry = new PluginRegistry();
const PNG = png(16, 16);

const config = (meta: Record<string, unknown>) =>
  validConfig(compileRouteConfig(registry, { model: "m", ...meta }));

/** Analyse one finished exchange as the collector does; returns the record and the dropped instances. */
function analyse(
  request: ReturnType<typeof capturedBody>,
  response: unknown,
  meta: Record<string, unknown> = {},
  maxBytes = 1 << 20,
) {
  const c = config({ task: "image_classification", ...meta });
  const record = newRecord({
    id: "c1",
    model: "m",
    task: c.task,
    request,
    response: capturedBody("application/json", JSON.stringify(response)),
  });
  const dropped = analyzeRecordWithImages(
    record,
    c.task,
    c.analysis,
    registry.detectionOrder(),
    [],
    maxBytes,
  );
  const json = Buffer.from(record.analysisJson).toString();
  const analysis = json ? (JSON.parse(json) as Analysis) : undefined;
  return { record, dropped, analysis };
}

const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));
const labels = (n: number) => Array.from({ length: n }, () => [{ label: "cat", score: 0.9 }]);

describe("analyzeRecordWithImages", () => {
  it("keeps a small base64 PNG from inside a JSON body, with its content type and instance", () => {
    const { record, analysis, dropped } = analyse(
      capturedBody("application/json", JSON.stringify({ inputs: b64(PNG) })),
      labels(1)[0],
    );
    expect(record.parseError).toBe("");
    expect(analysis!.instances[0]!.input.image).toEqual({ width: 16, height: 16, format: "png" });
    expect(record.inputImages).toHaveLength(1);
    expect(record.inputImages[0]).toMatchObject({ instance: 0, contentType: "image/png", objectRef: "" });
    expect(record.inputImages[0]!.sizeBytes).toBe(PNG.byteLength);
    expect(same(record.inputImages[0]!.data, PNG)).toBe(true);
    expect(record.requestIsImage).toBe(false);
    expect(dropped).toEqual([]);
  });

  it("keeps the images of a route with a fixed protocol too, one per instance of a batch", () => {
    const jpeg = jpeg8x8();
    const { record } = analyse(
      capturedBody("application/json", JSON.stringify({ inputs: [b64(PNG), b64(jpeg)] })),
      labels(2),
      { protocol: "hf_pipeline" },
    );
    expect(record.inputImages.map((i) => [i.instance, i.contentType])).toEqual([
      [0, "image/png"],
      [1, "image/jpeg"],
    ]);
    expect(same(record.inputImages[1]!.data, jpeg)).toBe(true);
  });

  it("keeps a multipart file", () => {
    const boundary = "b0undary";
    const form = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="data"; filename="x.png"\r\n`),
      Buffer.from("Content-Type: image/png\r\n\r\n"),
      PNG,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const { record } = analyse(capturedBody(`multipart/form-data; boundary=${boundary}`, form), labels(1)[0]);
    expect(record.inputImages.map((i) => i.instance)).toEqual([0]);
    expect(same(record.inputImages[0]!.data, PNG)).toBe(true);
  });

  it("does not repeat a raw image upload: the request body is the image", () => {
    const { record, analysis } = analyse(capturedBody("image/png", PNG), labels(1)[0]);
    expect(analysis!.instances[0]!.input.image?.format).toBe("png");
    expect(record.inputImages).toEqual([]);
    expect(record.requestIsImage).toBe(true);
  });

  it("drops the images past the budget, in instance order, and notes it on their instances", () => {
    const big = png(64, 64);
    const { record, analysis, dropped } = analyse(
      capturedBody("application/json", JSON.stringify({ inputs: [b64(PNG), b64(big), b64(PNG)] })),
      labels(3),
      {},
      PNG.byteLength * 2,
    );
    expect(record.inputImages.map((i) => i.instance)).toEqual([0, 2]);
    expect(dropped).toEqual([1]);
    expect(analysis!.instances[1]!.notes).toEqual([
      expect.stringMatching(/^input image not stored as an object: .*max_decoded_bytes/),
    ]);
    expect(analysis!.instances[0]!.notes).toBeUndefined();
    // The image is still described: only its object is missing.
    expect(analysis!.instances[1]!.input.image).toEqual({ width: 64, height: 64, format: "png" });
  });

  it("keeps nothing when the exchange was not parsed (a truncated body) or had no image", () => {
    const truncated = {
      ...capturedBody("application/json", JSON.stringify({ inputs: b64(PNG) })),
      truncated: true,
    };
    expect(analyse(truncated, labels(1)[0]).record.inputImages).toEqual([]);
    const text = analyse(
      capturedBody("application/json", JSON.stringify({ inputs: "a sentence" })),
      labels(1)[0],
      {
        task: "text_classification",
      },
    );
    expect(text.record.inputImages).toEqual([]);
    expect(text.record.requestIsImage).toBe(false);
  });
});

describe("keptInputImages", () => {
  it("carries only bytes that are an image by content, whatever the parser said", () => {
    const kept = keptInputImages(
      utf8("{}"),
      [{ image: utf8("not an image, though a data URL said so") }, { text: "t" }],
      1e6,
    );
    expect(kept).toEqual({ images: [], requestIsImage: false, dropped: [] });
  });

  it("carries an image equal to the request body when it is one of several instances", () => {
    const kept = keptInputImages(PNG, [{ image: PNG }, { image: PNG }], 1e6);
    expect(kept.requestIsImage).toBe(false);
    expect(kept.images.map((i) => i.instance)).toEqual([0, 1]);
  });

  it("counts the budget over the whole record: an image exactly at it fits", () => {
    expect(keptInputImages(utf8("{}"), [{ image: PNG }], PNG.byteLength).images).toHaveLength(1);
    expect(keptInputImages(utf8("{}"), [{ image: PNG }], PNG.byteLength - 1).dropped).toEqual([0]);
  });
});
