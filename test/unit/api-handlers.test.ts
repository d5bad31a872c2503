/**
 * src/api/handlers.ts: the ground-truth API handlers (POST/GET ground truth, the labeling webhook,
 * media) on in-memory fakes.
 */
import { describe, expect, it } from "vitest";
import { LabelStudioBackend } from "../../src/adapters/label-studio/backend.js";
import { noneBackend } from "../../src/adapters/none-labeling.js";
import {
  getGroundTruth,
  getMedia,
  postGroundTruth,
  postWebhook,
  type HandlerDeps,
} from "../../src/api/handlers.js";
import { createApiMetrics, type ApiMetrics } from "../../src/api/metrics.js";
import type { Prediction } from "../../src/core/canonical.js";
import type { CaptureRow, LabelingBackend, LabelingEvent } from "../../src/core/ports.js";
import { PluginRegistry } from "../../src/plugins/registry.js";
import { b64, png, utf8 } from "../support/bytes.js";
import { bodyRow, capturePrefix, captureRow, imageInstance, textInstance } from "../support/captures.js";
import {
  FakeBlobStore,
  FakeCaptureRepository,
  FakeGroundTruthRepository,
  FakeLabelExportQueue,
} from "../support/fakes.js";
import { captureLog } from "../support/log.js";

const PNG = png(3, 2);

const NER_TEXT = "Ada Lovelace met Charles Babbage in London.";

const CAPTURES: CaptureRow[] = [
  captureRow("img-1", "image_classification", [imageInstance()], { labelSet: ["cat", "dog"] }),
  captureRow("det-1", "object_detection", [imageInstance(100, 50)]),
  captureRow("ner-1", "ner", [textInstance(NER_TEXT)], { labelSet: ["PER", "LOC"] }),
  captureRow("ner-long", "ner", [
    { input: Object.assign({ text: "Ada" }, { text_uri: "s3://b/t", text_chars: 40_000 }), prediction: null },
  ]),
  captureRow("tab-1", "tabular_regression", [{ input: { features: { x: 1 } }, prediction: null }]),
];

const lsBackend = () =>
  new LabelStudioBackend({
    url: "http://label-studio.invalid",
    token: "legacy-token",
    webhookUrl: "http://modeltap.invalid/v1/labeling/webhook",
    webhookSecret: "s3cret-0123456789abcdef",
  });

function setup(over: { backend?: LabelingBackend; captures?: CaptureRow[] } = {}) {
  const { log, lines } = captureLog();
  const captures = new FakeCaptureRepository(over.captures ?? CAPTURES);
  const groundTruth = new FakeGroundTruthRepository();
  // Every capture's first instance was exported as task 9 of project 3 (the webhook fixture's).
  const exports = new FakeLabelExportQueue();
  for (const c of CAPTURES) {
    void exports.markExported([{ captureId: c.id, instance: 0, taskRef: "9", projectRef: "3" }]);
    groundTruth.exportedTo.set(`${c.id}#0`, "3");
  }
  const blobs = new FakeBlobStore();
  const metrics = createApiMetrics();
  const deps: HandlerDeps = {
    captures,
    groundTruth,
    exports,
    blobs,
    backend: over.backend ?? lsBackend(),
    plugins: new PluginRegistry(),
    metrics,
    log,
  };
  return { deps, captures, groundTruth, exports, blobs, metrics, lines };
}

async function counts(metrics: ApiMetrics): Promise<Array<[string, string, number]>> {
  const { values } = await metrics.groundTruth.get();
  return values.map((v) => [String(v.labels.source), String(v.labels.outcome), v.value]);
}

const AT = "2026-05-01T12:00:00Z";
const cls = (label: string) => ({ kind: "classification", label });
const item = (captureId: string, label: unknown, extra: Record<string, unknown> = {}) => ({
  capture_id: captureId,
  label,
  labeled_at: AT,
  ...extra,
});

describe("postGroundTruth by request id: every hop of the request", () => {
  // One request (x-request-id req-7) captured on two hops: an image classifier, then a detector.
  const hops = [
    captureRow("hop-a", "image_classification", [imageInstance()], { requestId: "req-7", labelSet: ["cat"] }),
    captureRow("hop-b", "object_detection", [imageInstance(100, 50)], { requestId: "req-7" }),
    ...CAPTURES,
  ];

  it("stores the label for the request and names the hops it fits; each hop shows it, the other with its problems", async () => {
    const { deps, groundTruth } = setup({ captures: hops });
    const reply = await postGroundTruth(
      { request_id: "req-7", label: cls("cat"), labeled_at: AT },
      deps,
      "crm",
    );
    expect(reply).toEqual({
      status: 200,
      body: { index: 0, request_id: "req-7", capture_ids: ["hop-a"], instance: 0, outcome: "stored" },
    });
    expect(groundTruth.upserts[0]![0]).toMatchObject({ captureId: "", requestId: "req-7" });
    const a = await getGroundTruth("hop-a", deps);
    const b = await getGroundTruth("hop-b", deps);
    expect((a.body as { ground_truth: unknown[] }).ground_truth).toEqual([
      expect.objectContaining({ label: { kind: "classification", label: "cat", score: null } }),
    ]);
    const onB = (b.body as { ground_truth: Array<{ problems?: string[] }> }).ground_truth;
    expect(onB).toHaveLength(1);
    expect(onB[0]!.problems?.join()).toMatch(/task object_detection takes "detection" labels/);
    // Another capture's labels stay its own.
    expect(((await getGroundTruth("img-1", deps)).body as { ground_truth: unknown[] }).ground_truth).toEqual(
      [],
    );
  });

  it("takes a capture_id that names no capture but a request (as callers sent before capture ids) as that request", async () => {
    const { deps, groundTruth } = setup({ captures: hops });
    const reply = await postGroundTruth(
      { capture_id: "req-7", label: cls("cat"), labeled_at: AT },
      deps,
      "crm",
    );
    expect(reply.body).toMatchObject({ request_id: "req-7", capture_ids: ["hop-a"], outcome: "stored" });
    const early = await postGroundTruth(
      { capture_id: "req-8", label: cls("cat"), labeled_at: AT },
      deps,
      "crm",
    );
    expect(early).toMatchObject({
      status: 202,
      body: { request_id: "req-8", capture_ids: [], outcome: "pending" },
    });
    expect(groundTruth.upserts.map((u) => [u[0]!.captureId, u[0]!.requestId])).toEqual([
      ["", "req-7"],
      ["", "req-8"],
    ]);
    // GET by that request id shows the label kept for it before any capture.
    const got = await getGroundTruth("req-8", deps);
    expect((got.body as { ground_truth: unknown[] }).ground_truth).toHaveLength(1);
    // A capture id (a UUIDv7) that is not stored yet stays a capture's label.
    const uuid7 = "0190b6a2-1c3d-7e4f-8a5b-6c7d8e9f0a1b";
    const own = await postGroundTruth({ capture_id: uuid7, label: cls("cat"), labeled_at: AT }, deps, "crm");
    expect(own.body).toMatchObject({ capture_id: uuid7, outcome: "pending" });
  });

  it("refuses a label that fits none of the hops persisted so far, naming each hop's problem", async () => {
    const { deps, groundTruth } = setup({ captures: hops });
    const reply = await postGroundTruth(
      { request_id: "req-7", label: { kind: "regression", value: 3 }, labeled_at: AT },
      deps,
      "crm",
    );
    expect(reply.status).toBe(422);
    const problems = (reply.body as { problems: string[] }).problems;
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^capture hop-a: label\.kind: task image_classification/);
    expect(problems[1]).toMatch(/^capture hop-b: label\.kind: task object_detection/);
    expect(groundTruth.upserts).toEqual([]);
  });
});

describe("postGroundTruth: one item", () => {
  it("stores a label for an existing capture", async () => {
    const { deps, groundTruth, metrics } = setup();
    const reply = await postGroundTruth(item("img-1", cls("cat")), deps, "crm");
    expect(reply).toEqual({
      status: 200,
      body: { index: 0, capture_id: "img-1", instance: 0, outcome: "stored" },
    });
    expect(groundTruth.upserts).toEqual([
      [
        {
          captureId: "img-1",
          requestId: "",
          instance: 0,
          source: "api",
          sourceRef: "",
          label: { kind: "classification", label: "cat", score: null },
          labeledAt: new Date(AT),
        },
      ],
    ]);
    expect(await counts(metrics)).toEqual([["api", "stored", 1]]);
  });

  it("logs the name of the API token with each write, never a token", async () => {
    const { deps, lines } = setup();
    await postGroundTruth(
      { items: [item("img-1", cls("cat")), item("later-9", cls("cat")), item("img-1", { kind: "x" })] },
      deps,
      "crm-sync",
    );
    const writes = lines.filter((l) => l.msg === "ground truth from the api");
    expect(writes.map((l) => [l.token, l.capture_id ?? l.request_id, l.outcome])).toEqual([
      ["crm-sync", "img-1", "stored"],
      ["crm-sync", "later-9", "pending"],
    ]);
  });

  const versions: Array<[string, "stored" | "unchanged", Record<string, unknown>]> = [
    ["the same label again", "unchanged", item("img-1", cls("cat"))],
    ["an older label", "unchanged", item("img-1", cls("dog"), { labeled_at: "2026-05-01T11:00:00Z" })],
    ["a newer label", "stored", item("img-1", cls("dog"), { labeled_at: "2026-05-01T13:00:00Z" })],
    ["the same label, newer", "unchanged", item("img-1", cls("cat"), { labeled_at: "2026-05-02T00:00:00Z" })],
    ["another label, same time", "stored", item("img-1", cls("dog"))],
    ["the same label from another source", "stored", item("img-1", cls("cat"), { source: "crm" })],
  ];

  it.each(versions)("after a stored label, %s → %s", async (_name, outcome, second) => {
    const { deps, metrics } = setup();
    await postGroundTruth(item("img-1", cls("cat")), deps, "crm");
    const reply = await postGroundTruth(second, deps, "crm");
    expect(reply).toEqual({ status: 200, body: { index: 0, capture_id: "img-1", instance: 0, outcome } });
    // Every API source counts under "api" (callers may name any number of sources).
    const expected = new Map([[`api/stored`, 1]]);
    const key = `api/${outcome}`;
    expected.set(key, (expected.get(key) ?? 0) + 1);
    const got = new Map((await counts(metrics)).map(([s, o, n]) => [`${s}/${o}`, n]));
    expect(got).toEqual(expected);
  });

  it("keeps a label for a capture not persisted yet (202 pending, with a note)", async () => {
    const { deps, groundTruth, metrics } = setup();
    const reply = await postGroundTruth(
      { request_id: "later-1", instance: 2, label: cls("cat") },
      deps,
      "crm",
    );
    expect(reply.status).toBe(202);
    expect(reply.body).toMatchObject({
      index: 0,
      request_id: "later-1",
      capture_ids: [],
      instance: 2,
      outcome: "pending",
    });
    expect((reply.body as { note: string }).note).toMatch(/no capture with this id yet/);
    expect(
      [...groundTruth.rows.values()].map((r) => [r.captureId, r.requestId, r.instance, r.label]),
    ).toEqual([["", "later-1", 2, { kind: "classification", label: "cat", score: null }]]);
    expect(await counts(metrics)).toEqual([["api", "pending", 1]]);
  });

  const rejected: Array<[string, Record<string, unknown>, RegExp]> = [
    [
      "a label of the wrong kind for the capture's task",
      item("img-1", { kind: "detection", boxes: [] }),
      /^label\.kind: task image_classification takes "classification" labels, got "detection"$/,
    ],
    [
      "a label name outside the route's label set",
      item("img-1", cls("fox")),
      /^label "fox" is not in the route's labels$/,
    ],
    [
      "an entity whose text does not match the capture text",
      item("ner-1", {
        kind: "entities",
        entities: [{ start: 0, end: 3, label: "PER", text: "Bob" }],
      }),
      /^label\.entities\[0\]\.text: does not match the capture text at \[0, 3\)$/,
    ],
    [
      "an entity past the end of the capture text",
      item("ner-1", {
        kind: "entities",
        entities: [{ start: 40, end: 90, label: "LOC", text: "x" }],
      }),
      /past the end of the 43-character capture text/,
    ],
    [
      "a box outside the image",
      item("det-1", { kind: "detection", boxes: [{ label: "car", xyxy: [0, 0, 101, 20] }] }),
      /is outside the 100x50 image/,
    ],
    [
      "an instance the capture lacks",
      item("img-1", cls("cat"), { instance: 3 }),
      /^capture has no instance 3$/,
    ],
    [
      "a task that takes no labels from people",
      item("tab-1", cls("cat")),
      /^label\.kind: task tabular_regression takes "regression" labels/,
    ],
    [
      "a label with an unknown key",
      item("img-1", { ...cls("cat"), lable: "x" }),
      /^label\.lable: unknown key/,
    ],
    ["no label at all", { capture_id: "img-1" }, /^label: required/],
  ];

  it.each(rejected)("rejects %s (422, with problems)", async (_name, raw, problem) => {
    const { deps, groundTruth, metrics } = setup();
    const reply = await postGroundTruth(raw, deps, "crm");
    expect(reply.status).toBe(422);
    const b = reply.body as { error: string; outcome: string; index: number; problems: string[] };
    expect(b).toMatchObject({ error: "label rejected", outcome: "rejected", index: 0 });
    expect(b.problems.some((p) => problem.test(p))).toBe(true);
    expect(groundTruth.upserts).toEqual([]);
    expect(await counts(metrics)).toEqual([["api", "rejected", 1]]);
  });

  it("reports every problem at once, with the capture id when it is known", async () => {
    const { deps } = setup();
    const reply = await postGroundTruth(
      item("ner-1", {
        kind: "entities",
        entities: [
          { start: 0, end: 3, label: "ORG", text: "Ada" },
          { start: 4, end: 12, label: "PER", text: "Lovelace" },
          { start: 17, end: 24, label: "PER", text: "Charlie" },
        ],
      }),
      deps,
      "crm",
    );
    expect(reply.body).toMatchObject({
      capture_id: "ner-1",
      problems: [
        "label.entities[2].text: does not match the capture text at [17, 24)",
        'label "ORG" is not in the route\'s labels',
      ],
    });
  });

  it("does not check entity texts against a capture text kept in object storage", async () => {
    const { deps } = setup();
    const label = { kind: "entities", entities: [{ start: 100, end: 105, label: "LOC", text: "Paris" }] };
    expect((await postGroundTruth(item("ner-long", label), deps, "crm")).status).toBe(200);
  });

  it("does not quote the capture's text in problems", async () => {
    const { deps } = setup();
    const reply = await postGroundTruth(
      item("ner-1", { kind: "entities", entities: [{ start: 0, end: 12, label: "PER", text: "x" }] }),
      deps,
      "crm",
    );
    expect(JSON.stringify(reply.body)).not.toContain("Lovelace");
  });
});

describe("postGroundTruth: batches", () => {
  it("judges every item on its own and answers in index order", async () => {
    const { deps, groundTruth, metrics } = setup();
    await postGroundTruth(item("ner-1", { kind: "entities", entities: [] }), deps, "crm");
    const reply = await postGroundTruth(
      {
        items: [
          item("nope", cls("cat")),
          item("img-1", cls("fox")),
          item("img-1", cls("dog"), { source: "crm" }),
          { capture_id: "bad id!", label: cls("cat") },
          item("ner-1", { kind: "entities", entities: [] }),
        ],
      },
      deps,
      "crm",
    );
    expect(reply.status).toBe(200);
    expect(reply.body).toEqual({
      accepted: 3,
      rejected: 2,
      pending: 1,
      items: [
        // No capture has this id, and it is no capture id: kept for the request it names.
        { index: 0, request_id: "nope", capture_ids: [], instance: 0, outcome: "pending" },
        {
          index: 1,
          outcome: "rejected",
          capture_id: "img-1",
          problems: ['label "fox" is not in the route\'s labels'],
        },
        { index: 2, capture_id: "img-1", instance: 0, outcome: "stored" },
        {
          index: 3,
          outcome: "rejected",
          problems: [expect.stringMatching(/^items\[3\]\.capture_id: must be 1 to 200 characters/)],
        },
        { index: 4, capture_id: "ner-1", instance: 0, outcome: "unchanged" },
      ],
    });
    expect(groundTruth.upserts.flat().map((w) => [w.captureId || w.requestId, w.source])).toEqual([
      ["ner-1", "api"],
      ["nope", "api"],
      ["img-1", "crm"],
      ["ner-1", "api"],
    ]);
    expect((await counts(metrics)).sort()).toEqual([
      ["api", "pending", 1],
      ["api", "rejected", 2],
      ["api", "stored", 2],
      ["api", "unchanged", 1],
    ]);
  });

  it("answers 422 when every item is rejected", async () => {
    const { deps, groundTruth } = setup();
    const reply = await postGroundTruth(
      { items: [item("img-1", cls("fox")), { capture_id: "img-1" }] },
      deps,
      "crm",
    );
    expect(reply.status).toBe(422);
    expect(reply.body).toMatchObject({ accepted: 0, rejected: 2, pending: 0 });
    expect(groundTruth.upserts).toEqual([]);
  });

  it("a batch of pending items is accepted (200)", async () => {
    const { deps } = setup();
    const reply = await postGroundTruth({ items: [item("x1", cls("a")), item("x2", cls("b"))] }, deps, "crm");
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ accepted: 2, rejected: 0, pending: 2 });
  });
});

describe("postGroundTruth: malformed bodies (400)", () => {
  const table: Array<[string, unknown, RegExp]> = [
    ["a number", 42, /^body: must be a JSON object/],
    ["a string", "cat", /^body: must be a JSON object/],
    ["null", null, /^body: must be a JSON object/],
    ["a list", [item("img-1", cls("cat"))], /^body: must be a JSON object/],
    ["items not a list", { items: "x" }, /^items: must be a list/],
    ["no items", { items: [] }, /^items: must hold at least one item/],
    ["items with other keys", { items: [item("img-1", cls("cat"))], source: "x" }, /got also source/],
    ["too many items", { items: new Array(1001).fill(item("img-1", cls("cat"))) }, /at most 1000 items/],
  ];

  it.each(table)("%s", async (_name, raw, error) => {
    const { deps, groundTruth, metrics } = setup();
    const reply = await postGroundTruth(raw, deps, "crm");
    expect(reply.status).toBe(400);
    expect((reply.body as { error: string }).error).toMatch(error);
    expect(groundTruth.upserts).toEqual([]);
    expect(await counts(metrics)).toEqual([]);
  });
});

describe("getGroundTruth", () => {
  it("flags a label that arrived before its capture and does not fit it, once the capture is there", async () => {
    const { deps, groundTruth } = setup();
    await groundTruth.upsertGroundTruth([
      {
        captureId: "img-1",
        instance: 0,
        source: "api",
        sourceRef: "",
        label: { kind: "regression", value: 3 },
        labeledAt: new Date(AT),
      },
    ]);
    const body = (await getGroundTruth("img-1", deps)).body as {
      ground_truth: Array<{ problems?: string[] }>;
    };
    expect(body.ground_truth[0]!.problems?.join(" ")).toMatch(/classification/);
  });

  it("lists every version, deleted ones without their label", async () => {
    const { deps, groundTruth } = setup();
    await groundTruth.upsertGroundTruth([
      {
        captureId: "img-1",
        instance: 0,
        source: "api",
        sourceRef: "",
        label: { kind: "classification", label: "cat", score: null },
        labeledAt: new Date(AT),
      },
      {
        captureId: "img-1",
        instance: 0,
        source: "label_studio",
        sourceRef: "41",
        label: { kind: "classification", label: "dog", score: null },
        labeledAt: new Date(AT),
      },
    ]);
    await groundTruth.deleteGroundTruth("label_studio", ["41"], new Date("2026-05-03T00:00:00Z"));
    expect(await getGroundTruth("img-1", deps)).toEqual({
      status: 200,
      body: {
        capture_id: "img-1",
        capture_persisted: true,
        ground_truth: [
          {
            instance: 0,
            source: "api",
            source_ref: null,
            label: { kind: "classification", label: "cat", score: null },
            deleted: false,
            labeled_at: "2026-05-01T12:00:00.000Z",
            received_at: "2026-06-01T00:00:00.000Z",
          },
          {
            instance: 0,
            source: "label_studio",
            source_ref: "41",
            label: null,
            deleted: true,
            labeled_at: "2026-05-03T00:00:00.000Z",
            received_at: "2026-06-01T00:00:00.000Z",
          },
        ],
      },
    });
  });

  it("says when the capture is not persisted", async () => {
    const { deps } = setup();
    expect((await getGroundTruth("later", deps)).body).toEqual({
      capture_id: "later",
      capture_persisted: false,
      ground_truth: [],
    });
  });
});

const choice = (label: string) => [
  { id: "r1", from_name: "label", to_name: "image", type: "choices", value: { choices: [label] } },
];
const annotation = (over: Record<string, unknown> = {}, data: Record<string, unknown> = {}) => ({
  action: "ANNOTATION_CREATED",
  annotation: { id: 41, updated_at: "2026-05-02T08:30:00.123456Z", result: choice("dog"), ...over },
  task: { id: 9, data: { capture_id: "img-1", instance: 0, image: "http://x/1", ...data } },
  project: { id: 3 },
});

describe("postWebhook (Label Studio backend)", () => {
  it("stores an annotation as ground truth of source label_studio", async () => {
    const { deps, groundTruth, metrics, lines } = setup();
    const reply = await postWebhook(annotation(), deps);
    expect(reply).toEqual({ status: 200, body: { outcome: "stored", capture_id: "img-1", instance: 0 } });
    expect(groundTruth.upserts).toEqual([
      [
        {
          captureId: "img-1",
          instance: 0,
          source: "label_studio",
          sourceRef: "41",
          label: { kind: "classification", label: "dog", score: null },
          labeledAt: new Date("2026-05-02T08:30:00.123Z"),
        },
      ],
    ]);
    expect(await counts(metrics)).toEqual([["label_studio", "stored", 1]]);
    expect(lines.find((l) => l.msg === "ground truth from labeling tool")).toMatchObject({
      capture_id: "img-1",
      annotation: "41",
      outcome: "stored",
    });
  });

  it("a redelivery is unchanged; an update replaces it", async () => {
    const { deps, groundTruth } = setup();
    await postWebhook(annotation(), deps);
    expect((await postWebhook(annotation(), deps)).body).toMatchObject({ outcome: "unchanged" });
    const update = {
      ...annotation({ updated_at: "2026-05-02T09:00:00Z", result: choice("cat") }),
      action: "ANNOTATION_UPDATED",
    };
    expect((await postWebhook(update, deps)).body).toMatchObject({ outcome: "stored" });
    expect([...groundTruth.rows.values()].map((r) => r.label)).toEqual([
      { kind: "classification", label: "cat", score: null },
    ]);
  });

  it("converts entity spans against the capture's text", async () => {
    const { deps, groundTruth } = setup();
    const result = [
      { from_name: "label", to_name: "text", type: "labels", value: { start: 36, end: 42, labels: ["LOC"] } },
    ];
    const reply = await postWebhook(annotation({ result }, { capture_id: "ner-1" }), deps);
    expect(reply.status).toBe(200);
    expect([...groundTruth.rows.values()][0]!.label).toEqual({
      kind: "entities",
      entities: [{ start: 36, end: 42, label: "LOC", score: null, text: "London" }],
    });
  });

  const notFound: Array<[string, Record<string, unknown>]> = [
    ["an unknown capture", { capture_id: "nope" }],
    ["an instance the capture lacks", { instance: 4 }],
  ];

  it.each(notFound)("answers 404 for %s", async (_name, data) => {
    const { deps, groundTruth, exports, metrics, lines } = setup();
    // Exported once, gone since (say, aged out by retention).
    const key = { captureId: String(data.capture_id ?? "img-1"), instance: Number(data.instance ?? 0) };
    await exports.markExported([{ ...key, taskRef: "9", projectRef: "3" }]);
    const reply = await postWebhook(annotation({}, data), deps);
    expect(reply.status).toBe(404);
    expect((reply.body as { error: string }).error).toMatch(/^no capture \S+ instance \d+$/);
    expect(groundTruth.upserts).toEqual([]);
    expect(await counts(metrics)).toEqual([["label_studio", "rejected", 1]]);
    expect(lines.some((l) => l.msg === "annotation for an unknown capture")).toBe(true);
  });

  const malformed: Array<[string, unknown, RegExp]> = [
    ["an empty object", {}, /action/],
    ["a list", [], /action/],
    ["a created event without a task", { ...annotation(), task: undefined }, /capture_id missing/],
    [
      "a result with two choices",
      annotation({ result: [...choice("cat"), ...choice("dog")] }),
      /exactly one/,
    ],
    ["a result that is not a list", annotation({ result: { choices: ["cat"] } }), /must be an array/],
  ];

  it.each(malformed)("answers 400 for %s", async (_name, raw, error) => {
    const { deps, groundTruth, metrics } = setup();
    const reply = await postWebhook(raw, deps);
    expect(reply.status).toBe(400);
    expect((reply.body as { error: string }).error).toMatch(error);
    expect(groundTruth.upserts).toEqual([]);
    expect(await counts(metrics)).toEqual([["label_studio", "rejected", 1]]);
  });

  it("deletes the labels of deleted annotations", async () => {
    const { deps, groundTruth, metrics } = setup();
    await postWebhook(annotation(), deps);
    const reply = await postWebhook(
      { action: "ANNOTATIONS_DELETED", annotations: [{ id: 41 }, { id: 77 }], project: { id: 3 } },
      deps,
    );
    expect(reply).toEqual({ status: 200, body: { outcome: "deleted", deleted: 1 } });
    expect(groundTruth.deletes.map((d) => [d.source, d.sourceRefs])).toEqual([
      ["label_studio", ["41", "77"]],
    ]);
    expect([...groundTruth.rows.values()].map((r) => r.deleted)).toEqual([true]);
    expect(await counts(metrics)).toContainEqual(["label_studio", "deleted", 1]);
  });

  it("a skipped (cancelled) annotation withdraws that annotation's label", async () => {
    const { deps, groundTruth } = setup();
    await postWebhook(annotation(), deps);
    const reply = await postWebhook(
      annotation({ was_cancelled: true, updated_at: "2026-05-03T00:00:00Z", result: [] }),
      deps,
    );
    expect(reply.body).toEqual({ outcome: "deleted", deleted: 1 });
    expect(groundTruth.deletes).toEqual([
      {
        source: "label_studio",
        sourceRefs: ["41"],
        at: new Date("2026-05-03T00:00:00Z"),
        projectRef: "3",
      },
    ]);
  });

  const foreign: Array<[string, unknown]> = [
    ["a task modeltap did not make", { ...annotation(), task: { ...annotation().task, id: 10 } }],
    ["another project", { ...annotation(), project: { id: 4 } }],
    ["a capture never exported", annotation({}, { capture_id: "never-exported" })],
  ];

  it.each(foreign)(
    "refuses an annotation on %s (403), stores nothing, counts and logs it",
    async (_n, raw) => {
      const { deps, groundTruth, metrics, lines } = setup({
        captures: [...CAPTURES, captureRow("never-exported", "image_classification", [imageInstance()])],
      });
      const reply = await postWebhook(raw, deps);
      expect(reply.status).toBe(403);
      expect(reply.body).toMatchObject({
        outcome: "rejected",
        error: expect.stringMatching(/not the task modeltap exported/),
      });
      expect(groundTruth.upserts).toEqual([]);
      expect(await counts(metrics)).toEqual([["label_studio", "rejected", 1]]);
      expect((await metrics.webhookRefused.get()).values).toEqual([
        expect.objectContaining({ labels: { reason: "not_exported" }, value: 1 }),
      ]);
      const line = lines.find((l) => l.msg === "annotation on a task modeltap did not export; ignored");
      expect(line).toMatchObject({ annotation: "41", instance: 0 });
      expect(line).toHaveProperty("task");
      expect(line).toHaveProperty("project");
    },
  );

  it("a deletion reaches only labels of tasks exported to the sending project", async () => {
    const { deps, groundTruth } = setup();
    await postWebhook(annotation(), deps);
    const from = (project: number) => ({
      action: "ANNOTATIONS_DELETED",
      annotations: [{ id: 41 }],
      project: { id: project },
    });
    expect((await postWebhook(from(4), deps)).body).toEqual({ outcome: "deleted", deleted: 0 });
    expect([...groundTruth.rows.values()].map((r) => r.deleted)).toEqual([false]);
    expect((await postWebhook(from(3), deps)).body).toEqual({ outcome: "deleted", deleted: 1 });
  });

  const unplaced: Array<[string, unknown, RegExp]> = [
    [
      "an annotation without a task id",
      { ...annotation(), task: { data: annotation().task.data } },
      /task\.id missing/,
    ],
    ["an annotation without a project", { ...annotation(), project: undefined }, /project\.id missing/],
    [
      "a deletion without a project",
      { action: "ANNOTATIONS_DELETED", annotations: [{ id: 41 }] },
      /project\.id missing/,
    ],
  ];

  it.each(unplaced)("answers 400 to %s", async (_n, raw, error) => {
    const { deps, groundTruth } = setup();
    const reply = await postWebhook(raw, deps);
    expect(reply.status).toBe(400);
    expect((reply.body as { error: string }).error).toMatch(error);
    expect(groundTruth.upserts).toEqual([]);
    expect(groundTruth.deletes).toEqual([]);
  });

  it("ignores actions it does not handle (200)", async () => {
    const { deps, groundTruth, metrics } = setup();
    const reply = await postWebhook({ action: "PROJECT_UPDATED", project: { id: 3 } }, deps);
    expect(reply).toEqual({
      status: 200,
      body: { outcome: "ignored", reason: "action PROJECT_UPDATED is not handled" },
    });
    expect(groundTruth.upserts).toEqual([]);
    expect(groundTruth.deletes).toEqual([]);
    expect(await counts(metrics)).toEqual([]);
  });

  it("with the none backend every delivery is a 400", async () => {
    const { deps } = setup({ backend: noneBackend });
    const reply = await postWebhook(annotation(), deps);
    expect(reply.status).toBe(400);
    expect((reply.body as { error: string }).error).toMatch(/no labeling tool is configured/);
  });
});

describe("postWebhook (any backend)", () => {
  it("passes the capture's task, the backend's result and the instance's subject to toLabel", async () => {
    const seen: unknown[] = [];
    const event: LabelingEvent = {
      kind: "upsert",
      captureId: "det-1",
      instance: 0,
      taskRef: "9",
      projectRef: "3",
      sourceRef: "a-1",
      labeledAt: new Date(AT),
      result: { boxes: "tool format" },
    };
    const backend: LabelingBackend = {
      ...noneBackend,
      name: "toy",
      source: "toy_tool",
      parseWebhook: () => event,
      toLabel: (...args) => {
        seen.push(args);
        return { kind: "detection", boxes: [] } satisfies Prediction;
      },
    };
    const { deps, groundTruth } = setup({ backend });
    expect((await postWebhook({}, deps)).status).toBe(200);
    expect(seen).toEqual([
      ["object_detection", { boxes: "tool format" }, { kind: "image", width: 100, height: 50 }],
    ]);
    expect(groundTruth.upserts[0]![0]).toMatchObject({ source: "toy_tool", sourceRef: "a-1" });
  });

  it("a backend error that is not a payload error is not swallowed", async () => {
    const backend: LabelingBackend = {
      ...noneBackend,
      parseWebhook: () => {
        throw new TypeError("bug");
      },
    };
    const { deps } = setup({ backend });
    await expect(postWebhook({}, deps)).rejects.toThrow("bug");
  });
});

describe("getMedia", () => {
  const rawPng = captureRow("raw-1", "image_classification", [imageInstance(3, 2)], {
    request: bodyRow("image/png", "raw-1/request"),
  });
  const twoImages = [png(3, 2), png(5, 4)];
  const jsonImage = captureRow("json-1", "image_classification", [imageInstance(3, 2), imageInstance(5, 4)]);

  it("serves the image object the worker stored, without reading the request", async () => {
    const key = `${capturePrefix("obj-1")}/input-1.png`;
    const [first, second] = [imageInstance(3, 2), imageInstance(5, 4)];
    const stored = captureRow("obj-1", "image_classification", [
      first,
      { ...second, input: { image: { ...second.input.image!, uri: `s3://bucket/${key}` } } },
    ]);
    const { deps, blobs } = setup({ captures: [stored] });
    await blobs.put(key, twoImages[1]!);
    const reply = await getMedia("obj-1", 1, deps);
    expect(reply.status).toBe(200);
    expect(reply.bytes?.contentType).toBe("image/png");
    expect(Buffer.from(reply.bytes!.data).equals(Buffer.from(twoImages[1]!))).toBe(true);
    // Its image object is gone and the request is not stored either: 404, naming the object.
    blobs.objects.delete(key);
    const gone = await getMedia("obj-1", 1, deps);
    expect(gone.status).toBe(404);
    expect((gone.body as { error: string }).error).toMatch(/is not in object storage/);
  });

  it("serves a raw image request as it was sent, with its content type", async () => {
    const { deps, blobs } = setup({ captures: [rawPng] });
    await blobs.put("raw-1/request", PNG);
    const reply = await getMedia("raw-1", 0, deps);
    expect(reply.status).toBe(200);
    expect(reply.bytes?.contentType).toBe("image/png");
    expect(Buffer.from(reply.bytes!.data).equals(Buffer.from(PNG))).toBe(true);
  });

  it("decodes base64 images out of a JSON request (hf_pipeline), per instance", async () => {
    const { deps, blobs } = setup({ captures: [jsonImage] });
    await blobs.put("json-1/request", utf8(JSON.stringify({ inputs: twoImages.map(b64) })));
    await blobs.put(
      "json-1/response",
      utf8(JSON.stringify([[{ label: "cat", score: 0.9 }], [{ label: "dog", score: 0.8 }]])),
    );
    for (const i of [0, 1]) {
      const reply = await getMedia("json-1", i, deps);
      expect(reply.status).toBe(200);
      expect(reply.bytes?.contentType).toBe("image/png");
      expect(Buffer.from(reply.bytes!.data).equals(Buffer.from(twoImages[i]!))).toBe(true);
    }
  });

  it('decodes a single {"inputs": "<base64>"} request', async () => {
    const one = captureRow("json-2", "image_classification", [imageInstance(3, 2)]);
    const { deps, blobs } = setup({ captures: [one] });
    await blobs.put("json-2/request", utf8(JSON.stringify({ inputs: b64(PNG) })));
    await blobs.put("json-2/response", utf8(JSON.stringify([{ label: "cat", score: 0.9 }])));
    const reply = await getMedia("json-2", 0, deps);
    expect(reply.status).toBe(200);
    expect(Buffer.from(reply.bytes!.data).equals(Buffer.from(PNG))).toBe(true);
  });

  it("reads a request and response kept in the row (small bodies are not objects)", async () => {
    const one = captureRow("json-3", "image_classification", [imageInstance(3, 2)]);
    const inRow: CaptureRow = {
      ...one,
      request: { ...one.request, objectKey: null, inline: utf8(JSON.stringify({ inputs: b64(PNG) })) },
      response: {
        ...one.response,
        objectKey: null,
        inline: utf8(JSON.stringify([{ label: "cat", score: 0.9 }])),
      },
    };
    const { deps } = setup({ captures: [inRow] });
    const reply = await getMedia("json-3", 0, deps);
    expect(reply.status).toBe(200);
    expect(Buffer.from(reply.bytes!.data).equals(Buffer.from(PNG))).toBe(true);
  });

  const missing: Array<[string, CaptureRow[], string, number, RegExp]> = [
    ["an unknown capture", [rawPng], "nope", 0, /no image for this capture instance/],
    ["an instance the capture lacks", [rawPng], "raw-1", 1, /no image for this capture instance/],
    ["a text instance", CAPTURES, "ner-1", 0, /no image for this capture instance/],
    ["a request body that is not stored", [rawPng], "raw-1", 0, /not stored/],
    [
      "a request with no object",
      [{ ...rawPng, request: bodyRow("image/png", null) }],
      "raw-1",
      0,
      /not stored/,
    ],
  ];

  it.each(missing)("answers 404 for %s", async (_name, rows, id, instance, error) => {
    const { deps } = setup({ captures: rows });
    const reply = await getMedia(id, instance, deps);
    expect(reply.status).toBe(404);
    expect(reply.bytes).toBeUndefined();
    expect((reply.body as { error: string }).error).toMatch(error);
  });

  it("answers 404 and logs when the stored request no longer yields the image", async () => {
    const { deps, blobs, lines } = setup({ captures: [jsonImage] });
    await blobs.put("json-1/request", utf8("{not json"));
    const reply = await getMedia("json-1", 0, deps);
    expect(reply.status).toBe(404);
    expect((reply.body as { error: string }).error).toMatch(/could not be read/);
    expect(lines.find((l) => l.msg === "could not re-read the image from the request")).toMatchObject({
      level: 40,
      capture_id: "json-1",
    });
  });
});
