/* eslint-disable @typescript-eslint/no-explicit-any -- assertions on Label Studio's JSON */
/**
 * The ground-truth loop with real processes: traffic through Envoy, captured by the collector,
 * persisted by the worker, exported by `modeltap api` to the real Label Studio with the model's
 * prediction as a pre-annotation; an annotation made through Label Studio's own API comes back
 * through its webhook as a ground-truth row in canonical form. Plus the ground-truth API.
 */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { LabelStudioBackend } from "../../src/adapters/label-studio/backend.js";
import { PACKAGE_ROOT } from "../../src/config.js";
import { encodeRle } from "../../src/core/rle.js";
import { irisBody, pngImage as png } from "../../tools/demo/payloads.js";
import { send } from "../support/http.js";
import { localSecrets } from "../../tools/stack/services.js";
import { NORMAL, OBS, captureIdOf, config, db, poll, waitForRows } from "./helpers.js";

const pg = db();
afterAll(() => pg.end());
const secrets = localSecrets(config);
const API = `http://127.0.0.1:${config.ports.api}`;
const LS = `http://127.0.0.1:${config.ports.labelStudio}`;
const run = promisify(execFile);

async function ls(method: string, p: string, body?: unknown): Promise<any> {
  const res = await fetch(`${LS}${p}`, {
    method,
    headers: { authorization: `Token ${secrets.labelStudioToken}`, "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  expect(res.ok, `Label Studio ${method} ${p}: ${res.status} ${text.slice(0, 300)}`).toBe(true);
  return text ? JSON.parse(text) : undefined;
}

async function api(method: string, p: string, body?: unknown, auth = `Bearer ${secrets.apiToken}`) {
  const res = await fetch(`${API}${p}`, {
    method,
    headers: { ...(auth ? { authorization: auth } : {}), "content-type": "application/json" },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

/** The Label Studio task the exporter made for the capture of a request (sent on one hop). */
async function exportedTask(requestId: string): Promise<any> {
  const ref = await poll(`export of ${requestId}`, async () => {
    const r = await pg.query<{ state: string; task_ref: string | null; last_error: string }>(
      `SELECT state, task_ref, last_error FROM label_exports
        WHERE capture_id IN (SELECT id FROM captures WHERE request_id = $1) AND instance = 0`,
      [requestId],
    );
    const row = r.rows[0];
    if (row?.state === "failed" || row?.state === "skipped")
      throw new Error(`export ${row.state}: ${row.last_error}`);
    return row?.state === "exported" ? row.task_ref! : undefined;
  });
  return ls("GET", `/api/tasks/${ref}`);
}

/** The labels of a capture, by its capture id or by the request id it was sent with. */
async function truthRows(id: string) {
  const r = await pg.query<{
    source: string;
    source_ref: string;
    label: any;
    deleted: boolean;
    labeled_at: Date;
  }>(
    `SELECT source, source_ref, label, deleted, labeled_at FROM ground_truth
      WHERE capture_id = $1 OR request_id = $1 OR capture_id IN (SELECT id FROM captures WHERE request_id = $1)
      ORDER BY labeled_at`,
    [id],
  );
  return r.rows;
}

/** What Label Studio posts for an annotation on `task` (the task the exporter made). */
const ANNOTATION_WEBHOOK = (
  task: { id: number; project: number; data: { capture_id: string } },
  annotationId: number,
  updatedAt: string,
  result: unknown[],
) => ({
  action: "ANNOTATION_UPDATED",
  annotation: { id: annotationId, result, updated_at: updatedAt, was_cancelled: false, task: task.id },
  task: { id: task.id, project: task.project, data: { capture_id: task.data.capture_id, instance: 0 } },
  project: { id: task.project },
});

/** A webhook delivery as Label Studio makes it: Bearer MODELTAP_WEBHOOK_SECRET. */
const hook = (body: unknown, auth = `Bearer ${secrets.webhookSecret}`) =>
  api("POST", "/v1/labeling/webhook", body, auth);

describe("object detection through Label Studio", () => {
  it("exports the capture with its boxes as a pre-annotation, and the labeler's box comes back as ground truth", async () => {
    const image = png(1280, 720);
    const s = await send(`${OBS}/predictions/detector`, image, { contentType: "image/png" });
    expect(s.status).toBe(200);
    await waitForRows(pg, [s.id]);
    const stored = (await pg.query("SELECT predictions FROM captures WHERE request_id = $1", [s.id])).rows[0]
      .predictions[0];
    const task = await exportedTask(s.id);

    // The task: our capture, an image URL Label Studio can load, and the prediction in percent.
    expect(task.data).toMatchObject({
      capture_id: await captureIdOf(pg, s.id),
      instance: 0,
      model: "detector",
    });
    const img = await fetch(task.data.image);
    expect(img.status).toBe(200);
    expect(img.headers.get("content-type")).toBe("image/png");
    expect(Buffer.from(await img.arrayBuffer()).equals(image)).toBe(true);
    const forged = await fetch(task.data.image.replace(/sig=.*/, "sig=AAAA"));
    expect(forged.status).toBe(403);
    // Signed by the stack's media key k1, for MODELTAP_MEDIA_URL_TTL_SECONDS (7 days by default).
    const signed = new URL(task.data.image).searchParams;
    expect(signed.get("kid")).toBe("k1");
    const ttl = Number(signed.get("exp")) - Date.now() / 1000;
    expect(ttl).toBeGreaterThan(config.mediaUrlTtlSeconds - 600);
    expect(ttl).toBeLessThanOrEqual(config.mediaUrlTtlSeconds);
    const unknownKid = await fetch(task.data.image.replace("kid=k1", "kid=k0"));
    expect(unknownKid.status).toBe(403);
    expect(await unknownKid.json()).toEqual({ error: "media URL signed with an unknown key id" });
    const [pred] = task.predictions;
    const item = pred.result[0];
    expect(item).toMatchObject({ type: "rectanglelabels", original_width: 1280, original_height: 720 });
    const [x1, y1, x2, y2] = stored.boxes[0].xyxy;
    expect(item.value.x).toBeCloseTo((x1 / 1280) * 100, 6);
    expect(item.value.y).toBeCloseTo((y1 / 720) * 100, 6);
    expect(item.value.width).toBeCloseTo(((x2 - x1) / 1280) * 100, 6);
    expect(item.value.height).toBeCloseTo(((y2 - y1) / 720) * 100, 6);
    expect(item.value.rectanglelabels).toEqual([stored.boxes[0].label]);

    // A labeler corrects the box and the label, through Label Studio's own API.
    const t0 = performance.now();
    const ann = await ls("POST", `/api/tasks/${task.id}/annotations`, {
      result: [
        {
          from_name: item.from_name,
          to_name: item.to_name,
          type: "rectanglelabels",
          original_width: 1280,
          original_height: 720,
          value: { x: 10, y: 20, width: 25, height: 50, rotation: 0, rectanglelabels: ["person"] },
        },
      ],
    });
    const rows = await poll("ground truth row", async () => {
      const r = await truthRows(s.id);
      return r.length ? r : undefined;
    });
    console.log(
      `webhook-to-row latency (OD annotation created -> row visible): ${(performance.now() - t0).toFixed(0)} ms`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ source: "label_studio", source_ref: String(ann.id), deleted: false });
    expect(rows[0]!.label.kind).toBe("detection");
    expect(rows[0]!.label.boxes).toHaveLength(1);
    expect(rows[0]!.label.boxes[0].label).toBe("person");
    const got: number[] = rows[0]!.label.boxes[0].xyxy;
    [128, 144, 448, 504].forEach((v, i) => expect(got[i]).toBeCloseTo(v, 6));

    // The api's own metrics saw it.
    const metrics = await (await fetch(`${API}/metrics`)).text();
    expect(metrics).toMatch(/modeltap_ground_truth_total\{source="label_studio",outcome="stored"\} [1-9]/);
    expect(metrics).toMatch(/modeltap_api_request_seconds_count\{endpoint="webhook"\} [1-9]/);
    expect(metrics).toMatch(/modeltap_label_exports_total\{outcome="exported"\} [1-9]/);

    // `captures get` shows the ground truth next to the prediction.
    const cli = await run(process.execPath, [
      path.join(PACKAGE_ROOT, "bin", "modeltap.js"),
      "captures",
      "get",
      s.id,
      "--json",
    ]);
    const shown = JSON.parse(cli.stdout);
    expect(shown.analysis.instances[0].prediction.kind).toBe("detection");
    expect(shown.ground_truth).toHaveLength(1);
    expect(shown.ground_truth[0].label.boxes[0].label).toBe("person");

    // An update replaces the label; a deletion marks it deleted.
    await ls("PATCH", `/api/annotations/${ann.id}`, {
      result: [
        {
          from_name: item.from_name,
          to_name: item.to_name,
          type: "rectanglelabels",
          original_width: 1280,
          original_height: 720,
          value: { x: 50, y: 50, width: 10, height: 10, rotation: 0, rectanglelabels: ["vehicle"] },
        },
      ],
    });
    const updated = await poll("updated label", async () => {
      const r = await truthRows(s.id);
      return r[0]?.label.boxes[0].label === "vehicle" ? r : undefined;
    });
    expect(updated).toHaveLength(1);
    await ls("DELETE", `/api/annotations/${ann.id}`);
    const deleted = await poll("deletion", async () => {
      const r = await truthRows(s.id);
      return r[0]?.deleted ? r : undefined;
    });
    expect(deleted).toHaveLength(1);
  });

  it("never makes two tasks of one capture, even when an export is retried after a crash", async () => {
    const s = await send(`${OBS}/predictions/detector`, png(320, 240), { contentType: "image/png" });
    await waitForRows(pg, [s.id]);
    const task = await exportedTask(s.id);
    // As if the exporter had died after Label Studio made the task but before it recorded that.
    await pg.query(
      "UPDATE label_exports SET state = 'exporting', task_ref = NULL, next_attempt_at = now() WHERE capture_id = $1",
      [await captureIdOf(pg, s.id)],
    );
    const again = await exportedTask(s.id);
    expect(again.id).toBe(task.id);
    const q = JSON.stringify({
      filters: {
        conjunction: "and",
        items: [
          {
            filter: "filter:tasks:data.capture_id",
            operator: "equal",
            type: "String",
            value: await captureIdOf(pg, s.id),
          },
        ],
      },
    });
    const found = await ls(
      "GET",
      `/api/tasks?project=${task.project}&fields=all&query=${encodeURIComponent(q)}`,
    );
    expect(found.tasks.map((t: any) => t.id)).toEqual([task.id]);
  });
});

describe("image classification through Label Studio", () => {
  it("serves the image out of a base64 JSON and a multipart request, and takes the labeler's choice", async () => {
    const wide = png(400, 200);
    const b64 = await send(
      `${OBS}/models/image-classifier`,
      JSON.stringify({ inputs: wide.toString("base64") }),
    );
    const boundary = "modeltap-gt-boundary";
    const tall = png(100, 300);
    const form = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="data"; filename="tall.png"\r\n`),
      Buffer.from("Content-Type: image/png\r\n\r\n"),
      tall,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const multi = await send(`${OBS}/models/image-classifier`, form, {
      contentType: `multipart/form-data; boundary=${boundary}`,
    });
    for (const [s, image] of [
      [b64, wide],
      [multi, tall],
    ] as const) {
      expect(s.status).toBe(200);
      const task = await exportedTask(s.id);
      const img = await fetch(task.data.image);
      expect(img.headers.get("content-type")).toBe("image/png");
      expect(Buffer.from(await img.arrayBuffer()).equals(image)).toBe(true);
      const pre = task.predictions[0].result[0];
      expect(pre).toMatchObject({ type: "choices", value: { choices: [expect.any(String)] } });
      await ls("POST", `/api/tasks/${task.id}/annotations`, {
        result: [
          {
            from_name: pre.from_name,
            to_name: pre.to_name,
            type: "choices",
            value: { choices: ["portrait"] },
          },
        ],
      });
      const rows = await poll("classification ground truth", async () => {
        const r = await truthRows(s.id);
        return r.length ? r : undefined;
      });
      expect(rows[0]!.label).toEqual({ kind: "classification", label: "portrait", score: null });
    }
  });
});

describe("instance segmentation through Label Studio", () => {
  it("exports polygons in percent, and a labeler's polygon comes back in pixels with its box", async () => {
    const s = await send(`${OBS}/predictions/segmenter`, png(300, 200), { contentType: "image/png" });
    expect(s.status).toBe(200);
    const task = await exportedTask(s.id);
    const pre = task.predictions[0].result[0];
    expect(pre).toMatchObject({ type: "polygonlabels", original_width: 300, original_height: 200 });
    for (const [x, y] of pre.value.points as Array<[number, number]>) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThanOrEqual(100);
      expect(y).toBeGreaterThanOrEqual(0);
      expect(y).toBeLessThanOrEqual(100);
    }
    await ls("POST", `/api/tasks/${task.id}/annotations`, {
      result: [
        {
          from_name: pre.from_name,
          to_name: pre.to_name,
          type: "polygonlabels",
          original_width: 300,
          original_height: 200,
          value: {
            points: [
              [10, 10],
              [50, 10],
              [50, 50],
            ],
            closed: true,
            polygonlabels: ["blob"],
          },
        },
      ],
    });
    const rows = await poll("segmentation ground truth", async () => {
      const r = await truthRows(s.id);
      return r.length ? r : undefined;
    });
    const inst = rows[0]!.label.instances[0];
    expect(inst.label).toBe("blob");
    [30, 20, 150, 20, 150, 100].forEach((v, i) => expect(inst.polygons[0][i]).toBeCloseTo(v, 6));
    [30, 20, 150, 100].forEach((v, i) => expect(inst.xyxy[i]).toBeCloseTo(v, 6));
  });
});

describe("brush masks through Label Studio", () => {
  it("a mask-only segmentation goes in as Label Studio brush RLE and comes back as the same mask", async () => {
    const backend = new LabelStudioBackend({
      url: LS,
      token: secrets.labelStudioToken,
      webhookUrl: `${API}/v1/labeling/webhook`,
      webhookSecret: secrets.webhookSecret,
    });
    const [w, h] = [40, 30];
    const mask = new Uint8Array(w * h);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) mask[y * w + x] = (x - 20) ** 2 + (y - 15) ** 2 < 80 ? 1 : 0;
    const rle = encodeRle(mask, h, w);
    const project = await backend.ensureProject(
      `brush-${randomUUID().slice(0, 8)}`,
      "instance_segmentation",
      ["blob"],
    );
    const refs = await backend.createTasks(
      project,
      [
        {
          captureId: randomUUID(),
          instance: 0,
          model: "brush",
          version: "1",
          task: "instance_segmentation",
          subject: { kind: "image", width: w, height: h, url: `${API}/v1/media/none/0?sig=x` },
          prediction: {
            kind: "segmentation",
            instances: [{ label: "blob", score: 0.7, xyxy: [11, 6, 29, 24], rle }],
          },
        },
      ],
      false,
    );
    const task = await ls("GET", `/api/tasks/${[...refs.values()][0]}`);
    const item = task.predictions[0].result[0];
    expect(item.type).toBe("brushlabels");
    expect(item.value.format).toBe("rle");
    const back = backend.toLabel("instance_segmentation", task.predictions[0].result, {
      kind: "image",
      width: w,
      height: h,
    });
    expect(back.kind).toBe("segmentation");
    if (back.kind !== "segmentation") return;
    expect(back.instances[0]!.rle).toEqual(rle);
  });
});

describe("NER through Label Studio", () => {
  it("exports entity spans as a pre-annotation and stores the labeler's spans as canonical entities", async () => {
    const text = `Alice met Bob in Paris ${randomUUID().slice(0, 8)}`;
    const s = await send(`${OBS}/models/ner`, JSON.stringify({ inputs: text }));
    expect(s.status).toBe(200);
    const task = await exportedTask(s.id);
    expect(task.data.text).toBe(text);
    const spans = task.predictions[0].result.map((r: any) => [r.value.start, r.value.end, r.value.labels[0]]);
    expect(spans).toEqual([
      [0, 5, "PER"],
      [10, 13, "PER"],
      [17, 22, "LOC"],
    ]);
    const from = task.predictions[0].result[0];
    await ls("POST", `/api/tasks/${task.id}/annotations`, {
      result: [
        {
          from_name: from.from_name,
          to_name: from.to_name,
          type: "labels",
          value: { start: 0, end: 5, text: "Alice", labels: ["PER"] },
        },
        {
          from_name: from.from_name,
          to_name: from.to_name,
          type: "labels",
          value: { start: 17, end: 22, text: "Paris", labels: ["ORG"] },
        },
      ],
    });
    const rows = await poll("NER ground truth", async () => {
      const r = await truthRows(s.id);
      return r.length ? r : undefined;
    });
    expect(rows[0]!.label).toEqual({
      kind: "entities",
      entities: [
        { start: 0, end: 5, label: "PER", score: null, text: "Alice" },
        { start: 17, end: 22, label: "ORG", score: null, text: "Paris" },
      ],
    });
  });
});

describe("webhook receiver", () => {
  /** A NER capture, exported: its Label Studio task (the NER route labels every capture). */
  const someTask = async () => {
    const s = await send(`${OBS}/models/ner`, JSON.stringify({ inputs: "Bob lives in London" }));
    await waitForRows(pg, [s.id]);
    return exportedTask(s.id);
  };
  const result = [
    {
      from_name: "label",
      to_name: "text",
      type: "labels",
      value: { start: 0, end: 3, text: "Bob", labels: ["PER"] },
    },
  ];

  it("answers 401 to a missing or wrong secret, or to another purpose's secret, and writes nothing", async () => {
    const task = await someTask();
    const id = task.data.capture_id;
    const body = ANNOTATION_WEBHOOK(task, 900001, new Date().toISOString(), result);
    expect((await hook(body, "")).status).toBe(401);
    expect((await hook(body, "Bearer not-the-secret-at-all")).status).toBe(401);
    expect((await hook(body, `Token ${secrets.webhookSecret}`)).status).toBe(401);
    // The API token opens the ground-truth API only, the webhook secret the webhook only.
    expect((await hook(body, `Bearer ${secrets.apiToken}`)).status).toBe(401);
    const label = { capture_id: id, label: { kind: "entities", entities: [] } };
    expect((await api("POST", "/v1/ground-truth", label, "")).status).toBe(401);
    expect((await api("POST", "/v1/ground-truth", label, `Bearer ${secrets.webhookSecret}`)).status).toBe(
      401,
    );
    expect(
      (await api("GET", `/v1/ground-truth/${id}`, undefined, `Bearer ${secrets.webhookSecret}`)).status,
    ).toBe(401);
    expect(await truthRows(id)).toEqual([]);
  });

  it("Label Studio holds the webhook secret only: no API token, no media key", async () => {
    const task = await someTask();
    const hooks: any[] = await ls("GET", `/api/webhooks?project=${task.project}`);
    const mine = hooks.filter((h) => h.url === `${config.publicUrl}/v1/labeling/webhook`);
    expect(mine).toHaveLength(1);
    expect(mine[0].headers).toEqual({ Authorization: `Bearer ${secrets.webhookSecret}` });
    const everything = JSON.stringify(hooks);
    expect(everything).not.toContain(secrets.apiToken);
    expect(everything).not.toContain(secrets.mediaKey);
  });

  it("refuses an annotation on a task modeltap did not export, made in Label Studio itself", async () => {
    const task = await someTask();
    const id = task.data.capture_id;
    const refusedBefore = await refusedCount();
    // Someone with access to the project adds a task naming a real capture, and annotates it.
    const [foreign] = (
      await ls("POST", `/api/projects/${task.project}/import?return_task_ids=true`, [
        { data: { capture_id: id, instance: 0, text: "Bob lives in London" } },
      ])
    ).task_ids;
    const ann = await ls("POST", `/api/tasks/${foreign}/annotations`, {
      result: [{ ...result[0], from_name: "label", to_name: "text" }],
    });
    await poll("refused annotation counted", async () =>
      (await refusedCount()) > refusedBefore ? true : undefined,
    );
    expect((await truthRows(id)).filter((r) => r.source_ref === String(ann.id))).toEqual([]);
    // The same delivery replayed by hand: 403, with the reason.
    const replay = await hook(
      ANNOTATION_WEBHOOK({ ...task, id: foreign }, ann.id, new Date().toISOString(), result),
    );
    expect(replay.status).toBe(403);
    expect(replay.body).toMatchObject({
      outcome: "rejected",
      error: expect.stringMatching(/not the task modeltap exported/),
    });
    // And on the task modeltap did export, in another project's name.
    const elsewhere = await hook({
      ...ANNOTATION_WEBHOOK(task, 900010, new Date().toISOString(), result),
      project: { id: task.project + 100000 },
    });
    expect(elsewhere.status).toBe(403);
    expect(await truthRows(id)).toEqual([]);
  });

  it("answers 413 to a body over MODELTAP_API_MAX_BODY_BYTES and 415 to another content type", async () => {
    const big = JSON.stringify({ items: [], pad: "x".repeat(config.apiMaxBodyBytes) });
    expect((await api("POST", "/v1/ground-truth", big)).status).toBe(413);
    const res = await fetch(`${API}/v1/ground-truth`, {
      method: "POST",
      headers: { authorization: `Bearer ${secrets.apiToken}`, "content-type": "text/plain" },
      body: "{}",
    });
    expect(res.status).toBe(415);
  });

  it("answers 400 to malformed payloads, and keeps serving", async () => {
    const bad = [
      "{not json",
      { action: "ANNOTATION_CREATED" },
      {
        action: "ANNOTATION_CREATED",
        annotation: { id: 5, result: [], updated_at: "2026-01-01T00:00:00Z" },
        task: { data: {} },
      },
      { action: "ANNOTATIONS_DELETED", annotations: "all" },
      ANNOTATION_WEBHOOK(await someTask(), 900002, "2026-01-01T00:00:00Z", [
        {
          type: "labels",
          from_name: "label",
          to_name: "text",
          value: { start: 0, end: 999, labels: ["PER"] },
        },
      ]),
    ];
    for (const b of bad) {
      const r = await hook(b);
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(typeof r.body.error).toBe("string");
    }
    expect((await fetch(`${API}/healthz`)).status).toBe(200);
  });

  it("is idempotent under redelivery: a repeat or an older version changes nothing", async () => {
    const task = await someTask();
    const id = task.data.capture_id;
    const newer = ANNOTATION_WEBHOOK(task, 900003, "2026-06-01T10:00:00Z", result);
    const older = ANNOTATION_WEBHOOK(task, 900003, "2026-06-01T09:00:00Z", [
      { ...result[0], value: { ...result[0]!.value, labels: ["LOC"] } },
    ]);
    expect((await hook(newer)).body.outcome).toBe("stored");
    expect((await hook(newer)).body.outcome).toBe("unchanged");
    expect((await hook(older)).body.outcome).toBe("unchanged");
    const rows = await truthRows(id);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.label.entities[0].label).toBe("PER");
    // A deletion from another project reaches nothing; from the task's own, the label.
    const del = (project: number) => ({
      action: "ANNOTATIONS_DELETED",
      annotations: [{ id: 900003 }],
      project: { id: project },
    });
    expect((await hook(del(task.project + 100000))).body.deleted).toBe(0);
    expect((await hook(del(task.project))).body.deleted).toBe(1);
    expect((await hook(del(task.project))).body.deleted).toBe(0);
    // A late redelivery of the creation does not bring a deleted label back.
    expect((await hook(newer)).body.outcome).toBe("unchanged");
    expect((await truthRows(id))[0]!.deleted).toBe(true);
  });
});

async function refusedCount(): Promise<number> {
  const text = await (await fetch(`${API}/metrics`)).text();
  const m = /^modeltap_labeling_annotations_refused_total\{reason="not_exported"\} (\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}

describe("ground-truth API", () => {
  it("keeps a label that arrives before its capture, and joins it when the capture is persisted", async () => {
    const id = randomUUID();
    const label = { kind: "classification", label: "virginica" };
    const early = await api("POST", "/v1/ground-truth", { request_id: id, label, source: "crm" });
    expect(early.status).toBe(202);
    expect(early.body.outcome).toBe("pending");
    const s = await send(`${OBS}/v2/models/iris/infer`, irisBody(3), { id });
    expect(s.id).toBe(id);
    await waitForRows(pg, [id]);
    const captureId = await captureIdOf(pg, id);
    const got = await api("GET", `/v1/ground-truth/${captureId}`);
    expect(got.body.capture_persisted).toBe(true);
    expect(got.body.ground_truth).toEqual([
      expect.objectContaining({
        source: "crm",
        label: { kind: "classification", label: "virginica", score: null },
      }),
    ]);
    // Twice is fine; a label that does not fit the task is refused with the reason.
    expect(
      (await api("POST", "/v1/ground-truth", { capture_id: captureId, label, source: "crm" })).status,
    ).toBe(200);
    const wrong = await api("POST", "/v1/ground-truth", {
      capture_id: captureId,
      label: { kind: "regression", value: 3 },
    });
    expect(wrong.status).toBe(422);
    expect(wrong.body.problems.join(" ")).toMatch(/classification/);
  });

  it("labels every hop of a request posted by request id, and each hop by its own capture id", async () => {
    const id = randomUUID();
    // Two hops of one request: the observability listener and the normal-mode one each capture it.
    for (const base of [OBS, NORMAL]) await send(`${base}/v2/models/iris/infer`, irisBody(4), { id });
    const hops = await waitForRows(pg, [id], 2);
    expect(hops).toHaveLength(2);
    const label = { kind: "classification", label: "versicolor" };
    const posted = await api("POST", "/v1/ground-truth", { request_id: id, label, source: "crm" });
    expect(posted.status).toBe(200);
    expect(posted.body).toMatchObject({ request_id: id, outcome: "stored" });
    expect([...posted.body.capture_ids].sort()).toEqual(hops.map((h) => h.id).sort());
    for (const hop of hops) {
      const got = await api("GET", `/v1/ground-truth/${hop.id}`);
      expect(got.body.ground_truth).toEqual([
        expect.objectContaining({ source: "crm", label: { ...label, score: null } }),
      ]);
    }
    // One hop's own label stays its own.
    const own = await api("POST", "/v1/ground-truth", {
      capture_id: hops[0]!.id,
      label: { kind: "classification", label: "setosa" },
      source: "reviewer",
    });
    expect(own.status).toBe(200);
    const other = await api("GET", `/v1/ground-truth/${hops[1]!.id}`);
    expect(other.body.ground_truth.map((g: { source: string }) => g.source)).toEqual(["crm"]);
  });

  it("refuses a label for an unknown capture with 404 when require_capture is set", async () => {
    const r = await api("POST", "/v1/ground-truth", {
      capture_id: randomUUID(),
      label: { kind: "classification", label: "setosa" },
      require_capture: true,
    });
    expect(r.status).toBe(404);
    expect(r.body.problems).toEqual(["no capture with this id (require_capture is set)"]);
  });

  it("takes a batch, storing the good items and reporting the bad ones", async () => {
    const a = await send(`${OBS}/v2/models/iris/infer`, irisBody(1));
    await waitForRows(pg, [a.id]);
    const captureId = await captureIdOf(pg, a.id);
    const r = await api("POST", "/v1/ground-truth", {
      items: [
        { capture_id: captureId, label: { kind: "classification", label: "setosa" } },
        { capture_id: "", label: { kind: "classification", label: "setosa" } },
        { capture_id: captureId, label: { kind: "classification" } },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ accepted: 1, rejected: 2 });
    expect(r.body.items.map((i: any) => i.outcome)).toEqual(["stored", "rejected", "rejected"]);
  });
});
