/** src/api/stored-media.ts: a capture's bodies, input images and masks read back from the row or object storage. */
import { describe, expect, it } from "vitest";
import { storedPart, type StoredPart } from "../../src/api/stored-media.js";
import type { CaptureRow } from "../../src/core/ports.js";
import { PluginRegistry } from "../../src/plugins/registry.js";
import { b64, png, utf8 } from "../support/bytes.js";
import { bodyRow, capturePrefix, captureRow, imageInstance } from "../support/captures.js";
import { FakeBlobStore } from "../support/fakes.js";

const parsers = new PluginRegistry().parsers;
const PNG = png(4, 3);
const MASK = png(4, 3); // any PNG: the mask object is served as stored
const prefix = capturePrefix;

/** A segmentation capture: request in the row, response an object, one stored image and one mask. */
function segmentation(): CaptureRow {
  const row = captureRow("seg-1", "instance_segmentation", [
    {
      input: {
        image: { width: 4, height: 3, format: "png", uri: `s3://bucket/${prefix("seg-1")}/input-0.png` },
      },
      prediction: {
        kind: "segmentation",
        instances: [
          Object.assign(
            { label: "a", score: 1, xyxy: [0, 0, 2, 2] as [number, number, number, number] },
            { mask_uri: `s3://bucket/${prefix("seg-1")}/mask-0-0.png` },
          ),
        ],
      },
    },
  ]);
  return {
    ...row,
    request: { ...bodyRow("application/json"), inline: utf8(JSON.stringify({ inputs: b64(PNG) })) },
    response: bodyRow("application/json", `${prefix("seg-1")}/response.json`),
  };
}

async function read(row: CaptureRow, part: StoredPart, blobs = new FakeBlobStore()) {
  return storedPart(row, part, blobs, parsers);
}

describe("storedPart", () => {
  it("reads a body from the row, and one from object storage, with their content types", async () => {
    const blobs = new FakeBlobStore();
    await blobs.put(`${prefix("seg-1")}/response.json`, utf8("[]"));
    const row = segmentation();
    expect(await read(row, { kind: "request" }, blobs)).toEqual({
      data: row.request.inline,
      contentType: "application/json",
    });
    expect(await read(row, { kind: "response" }, blobs)).toEqual({
      data: utf8("[]"),
      contentType: "application/json",
    });
  });

  it("reads a lost image object out of the stored request instead", async () => {
    // The seg-1 request is base64 JSON in the row; its input-0.png object is not in the store.
    const row = { ...segmentation(), protocol: "hf_pipeline" };
    const blobs = new FakeBlobStore();
    await blobs.put(`${prefix("seg-1")}/response.json`, utf8("[]"));
    const found = await read(row, { kind: "image", instance: 0 }, blobs);
    expect(found).toMatchObject({ contentType: "image/png" });
    expect(Buffer.from((found as { data: Uint8Array }).data).equals(Buffer.from(PNG))).toBe(true);
  });

  it("says which body is missing: an empty one, or an object no longer stored", async () => {
    const row = { ...segmentation(), request: bodyRow("") };
    expect(await read(row, { kind: "request" })).toEqual({ missing: "the request body is empty" });
    expect(await read(row, { kind: "response" })).toEqual({
      missing: `the response object s3://bucket/${prefix("seg-1")}/response.json is not in object storage`,
    });
  });

  it("reads an instance's image object and a segment's mask PNG by their URIs", async () => {
    const blobs = new FakeBlobStore();
    await blobs.put(`${prefix("seg-1")}/input-0.png`, PNG);
    await blobs.put(`${prefix("seg-1")}/mask-0-0.png`, MASK);
    expect(await read(segmentation(), { kind: "image", instance: 0 }, blobs)).toEqual({
      data: PNG,
      contentType: "image/png",
    });
    expect(await read(segmentation(), { kind: "mask", instance: 0, k: 0 }, blobs)).toEqual({
      data: MASK,
      contentType: "image/png",
    });
  });

  it.each([
    [{ kind: "mask", instance: 0, k: 1 }, /no mask for this capture instance and segment/],
    [{ kind: "mask", instance: 3, k: 0 }, /no mask/],
    [{ kind: "mask", instance: 0, k: 0 }, /mask object .*mask-0-0\.png is not in object storage/],
    [{ kind: "image", instance: 1 }, /no image for this capture instance/],
  ] as Array<[StoredPart, RegExp]>)("finds nothing for %j", async (part, why) => {
    const found = await read(segmentation(), part);
    expect("missing" in found && found.missing).toMatch(why);
  });

  it("re-reads the image from the request for a capture stored before images were kept", async () => {
    const row = {
      ...segmentation(),
      analysis: { ...segmentation().analysis!, instances: [imageInstance(4, 3)] },
    };
    const blobs = new FakeBlobStore();
    await blobs.put(`${prefix("seg-1")}/response.json`, utf8("[]"));
    const found = await read(row, { kind: "image", instance: 0 }, blobs);
    expect(found).toEqual({ data: PNG, contentType: "image/png" });
  });
});
