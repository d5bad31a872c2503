/** The query CLI on real data, poison messages to the dead-letter subject, and reset exchanges. */
import { execFile } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { connect, headers as natsHeaders } from "nats";
import { afterAll, expect, it } from "vitest";
import { DLQ_STREAM } from "../../src/adapters/nats/streams.js";
import { PACKAGE_ROOT } from "../../src/config.js";
import { encodeRecord } from "../../src/core/storage/record-codec.js";
import { newRecord } from "../support/records.js";
import { decode as decodePng } from "fast-png";
import { irisBody, pngImage } from "../../tools/demo/payloads.js";
import { send } from "../support/http.js";
import { NORMAL, OBS, blobs, collectorMetric, config, db, expectBytes, waitForRows } from "./helpers.js";

const pg = db();
afterAll(() => pg.end());
const run = promisify(execFile);
const cli = (...args: string[]) =>
  run(process.execPath, [path.join(PACKAGE_ROOT, "bin", "modeltap.js"), ...args]);

it("`captures get --json` and `captures list --json` print the documented shape", async () => {
  const s = await send(`${OBS}/v2/models/iris/infer`, irisBody(5));
  await waitForRows(pg, [s.id]);
  const got = JSON.parse((await cli("captures", "get", s.id, "--json")).stdout) as Record<string, unknown>;
  expect(Object.keys(got)).toEqual(
    expect.arrayContaining([
      "id",
      "model",
      "version",
      "task",
      "route",
      "received_at",
      "duration_ms",
      "status_code",
    ]),
  );
  // Looked up by the request id it was sent with; stored under a capture id of its own.
  expect(got.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  expect(got).toMatchObject({
    request_id: s.id,
    sampled_by: "request_id",
    model: "iris",
    version: "1",
    task: "tabular_classification",
    route: "iris",
    status_code: 200,
  });
  const req = got.request as Record<string, unknown>;
  expect(req).toMatchObject({
    content_type: "application/json",
    size_bytes: s.request.length,
    truncated: false,
  });
  // A small JSON body lives in the row; a larger one is an object with its URI.
  expect(req).toMatchObject({ stored_in: "database", object_uri: null });
  const big = await send(`${OBS}/v2/models/echo/infer`, Buffer.alloc(20_000, 1), {
    contentType: "application/octet-stream",
  });
  await waitForRows(pg, [big.id]);
  const bigCapture = JSON.parse((await cli("captures", "get", big.id, "--json")).stdout) as {
    id: string;
    request: Record<string, unknown>;
  };
  const bigReq = bigCapture.request;
  expect(bigReq.stored_in).toBe("object_store");
  expect(String(bigReq.object_uri)).toMatch(
    new RegExp(
      `^s3://${config.s3.bucket}/echo/1/\\d{4}/\\d\\d/\\d\\d/\\d\\d/${bigCapture.id}/request\\.bin$`,
    ),
  );
  const list = JSON.parse(
    (await cli("captures", "list", "--model", "iris", "--limit", "500", "--json")).stdout,
  ) as Array<{ id: string; request_id: string }>;
  expect(list.map((r) => r.request_id)).toContain(s.id);
  await expect(cli("captures", "get", "no-such-id")).rejects.toMatchObject({
    code: 1,
    stderr: expect.stringContaining("[NOT_FOUND]"),
  });
  await expect(cli("captures", "list", "--bogus")).rejects.toMatchObject({
    stderr: expect.stringContaining("--bogus: unknown option"),
  });
});

async function dlqHas(
  predicate: (reason: string, data: Uint8Array) => boolean,
  timeoutMs: number,
): Promise<string | undefined> {
  const nc = await connect({ servers: config.natsUrl });
  try {
    const jsm = await nc.jetstreamManager();
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const info = await jsm.streams.info(DLQ_STREAM);
      for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
        const m = await jsm.streams.getMessage(DLQ_STREAM, { seq }).catch(() => undefined);
        const reason = m?.header.get("Modeltap-Reason") ?? "";
        if (m && predicate(reason, m.data)) return reason;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    return undefined;
  } finally {
    await nc.close();
  }
}

/** `captures body ...`: its stdout as bytes; rejects (with code and stderr) on a non-zero exit. */
const body = async (...args: string[]) =>
  (
    await run(
      process.execPath,
      [path.join(PACKAGE_ROOT, "bin", "modeltap.js"), "captures", "body", ...args],
      {
        encoding: "buffer",
        maxBuffer: 64 * 1024 * 1024,
      },
    )
  ).stdout;

it("`captures body` reads bodies, input images and masks from the row or object storage", async () => {
  // A small JSON request and response: both live in the row.
  const iris = await send(`${OBS}/v2/models/iris/infer`, irisBody(2));
  // A base64 PNG inside a small JSON body: the body in the row, the image in S3.
  const image = pngImage(64, 48);
  const b64 = await send(
    `${OBS}/models/image-classifier`,
    JSON.stringify({ inputs: image.toString("base64") }),
  );
  // A body too big for the row: in S3.
  const big = await send(`${OBS}/v2/models/echo/infer`, Buffer.alloc(20_000, 7), {
    contentType: "application/octet-stream",
  });
  // A raw image to a segmentation model: the request object is the image, and a mask PNG is stored.
  const raw = pngImage(300, 200);
  const seg = await send(`${NORMAL}/predictions/segmenter`, raw, { contentType: "image/png" });
  const rows = await waitForRows(pg, [iris.id, b64.id, big.id, seg.id]);
  const where = new Map(rows.map((r) => [r.request_id, r]));
  expect(where.get(iris.id)!.request_body).not.toBeNull();
  expect(where.get(b64.id)!.request_body).not.toBeNull();
  expect(where.get(big.id)!.request_object_key).not.toBeNull();

  expectBytes(await body(iris.id, "request"), iris.request);
  expectBytes(await body(iris.id, "response"), iris.response);
  expectBytes(await body(big.id, "request"), big.request);
  expectBytes(await body(b64.id, "image", "0"), image);
  expectBytes(await body(seg.id, "image", "0"), raw);

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "modeltap-body-"));
  try {
    const out = path.join(dir, "mask.png");
    const said = await run(process.execPath, [
      path.join(PACKAGE_ROOT, "bin", "modeltap.js"),
      ...["captures", "body", seg.id, "mask", "0", "0", "--out", out],
    ]);
    expect(said.stdout).toMatch(/bytes \(image\/png\) written to /);
    const mask = decodePng(fs.readFileSync(out));
    expect([mask.width, mask.height]).toEqual([300, 200]);
    // The same bytes the worker stored under the analysis' mask_uri.
    const [analysed] = (
      await pg.query<{
        analysis: { instances: Array<{ prediction: { instances: Array<{ mask_uri: string }> } }> };
      }>("SELECT analysis FROM captures WHERE request_id = $1", [seg.id])
    ).rows;
    const uri = analysed!.analysis.instances[0]!.prediction.instances[0]!.mask_uri;
    expectBytes(await blobs().get(uri.replace(/^s3:\/\/[^/]+\//, "")), fs.readFileSync(out));
    // Binary bytes are not written to a terminal (script(1) gives the command one).
    const tty = await run("script", [
      "-qec",
      `${process.execPath} ${path.join(PACKAGE_ROOT, "bin", "modeltap.js")} captures body ${b64.id} image 0`,
      "/dev/null",
    ]).catch((err: { code: number; stdout: string }) => err);
    expect(tty).toMatchObject({ code: 1, stdout: expect.stringContaining("not writing it to a terminal") });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }

  for (const args of [
    ["no-such-id", "request"],
    [b64.id, "image", "1"],
    [seg.id, "mask", "0", "9"],
    [iris.id, "mask", "0", "0"],
  ]) {
    await expect(cli("captures", "body", ...args), args.join(" ")).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining("[NOT_FOUND]") as unknown,
    });
  }
});

it("dead-letters an undecodable message at once, and a record that always fails after N deliveries", async () => {
  const nc = await connect({ servers: config.natsUrl });
  const js = nc.jetstream();
  const garbage = Buffer.from(`not a protobuf ${randomUUID()}`);
  await js.publish("modeltap.capture.poison", garbage);
  // Postgres text cannot hold NUL: this record fails its insert on every delivery.
  const id = `poison-${randomUUID()}\u0000`;
  const rec = newRecord({ id, model: "poison", task: "unknown", ttfbUs: 0, durationUs: 1 });
  await js.publish("modeltap.capture.poison", encodeRecord(rec), {
    msgID: randomUUID(),
    headers: natsHeaders(),
  });
  // Healthy traffic keeps flowing meanwhile.
  const healthy = await send(`${OBS}/v2/models/iris/infer`, irisBody(1));
  expect(await waitForRows(pg, [healthy.id])).toHaveLength(1);
  await nc.close();

  const undecodable = await dlqHas((_, data) => Buffer.from(data).equals(garbage), 15_000);
  expect(undecodable).toMatch(/^undecodable/);
  const failing = await dlqHas(
    (reason) => reason.startsWith(`failed ${config.worker.maxDeliver} deliveries`),
    60_000,
  );
  expect(failing).toBeDefined();
});

it("an exchange the client aborts mid-upload leaves no exchange held in the collector", async () => {
  const before = await collectorMetric("modeltap_captures_total", { model: "echo", complete: "false" });
  await new Promise<void>((resolve) => {
    const req = http.request({
      host: "127.0.0.1",
      port: config.ports.envoy,
      path: "/v2/models/echo/infer",
      method: "POST",
      headers: {
        "content-type": "application/octet-stream",
        "content-length": 1_000_000,
        "x-request-id": randomUUID(),
      },
    });
    req.on("error", () => resolve());
    req.write(Buffer.alloc(100_000, 1));
    setTimeout(() => {
      req.destroy();
      resolve();
    }, 300);
  });
  // In observability mode Envoy tells the collector nothing when the client goes away: the stream
  // ends when Envoy closes it, deferred_close_timeout (30 s in envoy/envoy.yaml) later.
  const deadline = Date.now() + 45_000;
  while (
    Date.now() < deadline &&
    (await collectorMetric("modeltap_captures_total", { model: "echo", complete: "false" })) === before
  ) {
    await new Promise((r) => setTimeout(r, 200));
  }
  expect(await collectorMetric("modeltap_captures_total", { model: "echo", complete: "false" })).toBe(
    before + 1,
  );
  expect(await collectorMetric("modeltap_active_exchanges")).toBe(0);
});
