/**
 * src/adapters/label-studio/backend.ts: webhook parsing (pure), and projects, webhooks and task
 * imports against a small fake Label Studio 1.23 API on 127.0.0.1.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- the fake Label Studio's JSON */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LabelStudioBackend, WEBHOOK_ACTIONS } from "../../src/adapters/label-studio/backend.js";
import { LabelStudioError } from "../../src/adapters/label-studio/client.js";
import { labelConfig, toLsResult } from "../../src/adapters/label-studio/convert.js";
import type { Prediction } from "../../src/core/canonical.js";
import { taskKey, type LabelTask } from "../../src/core/ports.js";
import { LabelingPayloadError, ProjectGoneError } from "../../src/core/errors.js";
import { thrown } from "../support/errors.js";

const SECRET = "webhook-s3cret-0123456789";
const WEBHOOK_URL = "http://modeltap.test:8092/v1/labeling/webhook";

const offline = () =>
  new LabelStudioBackend({
    url: "http://ls.invalid",
    token: "t",
    webhookUrl: WEBHOOK_URL,
    webhookSecret: SECRET,
  });

describe("parseWebhook: understood events", () => {
  const ls = offline();
  const result = [{ from_name: "label", to_name: "image", type: "choices", value: { choices: ["cat"] } }];
  const event = (action: string, ann: Record<string, unknown> = {}, data: Record<string, unknown> = {}) => ({
    action,
    annotation: { id: 41, updated_at: "2026-05-02T08:30:00.000000Z", result, ...ann },
    task: { id: 9, data: { capture_id: "req-1", instance: 2, ...data } },
    project: { id: 3 },
  });

  const table: Array<[string, unknown, unknown]> = [
    [
      "ANNOTATION_CREATED",
      event("ANNOTATION_CREATED"),
      {
        kind: "upsert",
        captureId: "req-1",
        instance: 2,
        taskRef: "9",
        projectRef: "3",
        sourceRef: "41",
        labeledAt: new Date("2026-05-02T08:30:00Z"),
        result,
      },
    ],
    [
      "ANNOTATION_UPDATED",
      event("ANNOTATION_UPDATED", { id: 7, updated_at: "2026-05-03T00:00:00+02:00", result: [] }),
      {
        kind: "upsert",
        captureId: "req-1",
        instance: 2,
        taskRef: "9",
        projectRef: "3",
        sourceRef: "7",
        labeledAt: new Date("2026-05-02T22:00:00Z"),
        result: [],
      },
    ],
    [
      "a task without an instance (instance 0)",
      event("ANNOTATION_CREATED", {}, { instance: undefined }),
      expect.objectContaining({ kind: "upsert", instance: 0 }),
    ],
    [
      "a cancelled (skipped) annotation",
      event("ANNOTATION_UPDATED", { was_cancelled: true }),
      { kind: "delete", sourceRefs: ["41"], at: new Date("2026-05-02T08:30:00Z"), projectRef: "3" },
    ],
    [
      "ANNOTATIONS_DELETED",
      { action: "ANNOTATIONS_DELETED", annotations: [{ id: 41 }, { id: 42 }], project: { id: 3 } },
      { kind: "delete", sourceRefs: ["41", "42"], at: expect.any(Date), projectRef: "3" },
    ],
    [
      "ANNOTATIONS_DELETED of nothing",
      { action: "ANNOTATIONS_DELETED", annotations: [], project: { id: 3 } },
      { kind: "delete", sourceRefs: [], at: expect.any(Date), projectRef: "3" },
    ],
    [
      "the task and project ids where only the annotation carries them",
      {
        ...event("ANNOTATION_CREATED", { task: 12, project: 5 }),
        task: { data: { capture_id: "req-1" } },
        project: undefined,
      },
      expect.objectContaining({ taskRef: "12", projectRef: "5" }),
    ],
    [
      "PROJECT_UPDATED",
      { action: "PROJECT_UPDATED", project: { id: 3 } },
      { kind: "ignored", reason: "action PROJECT_UPDATED is not handled" },
    ],
    [
      "TASKS_CREATED",
      { action: "TASKS_CREATED", tasks: [] },
      { kind: "ignored", reason: "action TASKS_CREATED is not handled" },
    ],
  ];

  it.each(table)("%s", (_name, body, expected) => {
    expect(ls.parseWebhook(body)).toEqual(expected);
  });

  it("dates a deletion when it is received", () => {
    const before = Date.now();
    const e = ls.parseWebhook({
      action: "ANNOTATIONS_DELETED",
      annotations: [{ id: 1 }],
      project: { id: 3 },
    });
    expect(e.kind === "delete" && e.at.getTime()).toBeGreaterThanOrEqual(before);
    expect(e.kind === "delete" && e.at.getTime()).toBeLessThanOrEqual(Date.now());
  });
});

describe("parseWebhook: malformed payloads", () => {
  const ls = offline();
  const created = (ann: unknown, task: unknown = { id: 9, data: { capture_id: "req-1" } }) => ({
    action: "ANNOTATION_CREATED",
    annotation: ann,
    task,
    project: { id: 3 },
  });
  const ok = { id: 41, updated_at: "2026-05-02T08:30:00Z", result: [] };

  const table: Array<[string, unknown, RegExp]> = [
    ["a number", 42, /^body must be a JSON object with an action$/],
    ["null", null, /^body must be a JSON object with an action$/],
    ["a list", [{ action: "ANNOTATION_CREATED" }], /^body must be a JSON object with an action$/],
    ["no action", { annotation: ok }, /^body must be a JSON object with an action$/],
    ["a non-string action", { action: 3 }, /^body must be a JSON object with an action$/],
    ["no annotation", created(undefined), /^ANNOTATION_CREATED: annotation\.id missing$/],
    ["an annotation without id", created({ ...ok, id: undefined }), /annotation\.id missing/],
    ["an annotation id that is a string", created({ ...ok, id: "41" }), /annotation\.id missing/],
    ["no task", created(ok, null), /task\.data\.capture_id missing \(not a modeltap task\)$/],
    ["a task without data", created(ok, { id: 9 }), /task\.data\.capture_id missing/],
    ["a task without capture_id", created(ok, { id: 9, data: { image: "x" } }), /capture_id missing/],
    ["an empty capture_id", created(ok, { id: 9, data: { capture_id: "" } }), /capture_id missing/],
    ["a numeric capture_id", created(ok, { id: 9, data: { capture_id: 5 } }), /capture_id missing/],
    [
      "a negative instance",
      created(ok, { id: 9, data: { capture_id: "r", instance: -1 } }),
      /task\.data\.instance must be a non-negative integer$/,
    ],
    [
      "a fractional instance",
      created(ok, { id: 9, data: { capture_id: "r", instance: 1.5 } }),
      /task\.data\.instance must be a non-negative integer/,
    ],
    [
      "a non-numeric instance",
      created(ok, { id: 9, data: { capture_id: "r", instance: "two" } }),
      /task\.data\.instance must be a non-negative integer/,
    ],
    [
      "no updated_at",
      created({ ...ok, updated_at: undefined }),
      /^ANNOTATION_CREATED: annotation\.updated_at missing$/,
    ],
    [
      "an unparsable updated_at",
      created({ ...ok, updated_at: "yesterday" }),
      /annotation\.updated_at missing/,
    ],
    [
      "deleted annotations that are not a list",
      { action: "ANNOTATIONS_DELETED", annotations: { id: 1 } },
      /^ANNOTATIONS_DELETED: annotations must be a list of \{id\}$/,
    ],
    [
      "deleted annotations without ids",
      { action: "ANNOTATIONS_DELETED", annotations: [{ id: 1 }, { pk: 2 }] },
      /annotations must be a list of \{id\}/,
    ],
    [
      "deleted annotations missing",
      { action: "ANNOTATIONS_DELETED" },
      /annotations must be a list of \{id\}/,
    ],
    // Where the annotation was made: checked against what modeltap exported, so required.
    [
      "a task without an id",
      created(ok, { data: { capture_id: "r" } }),
      /^ANNOTATION_CREATED: task\.id missing$/,
    ],
    ["a task id that is a string", created(ok, { id: "9", data: { capture_id: "r" } }), /task\.id missing/],
    ["no project", { ...created(ok), project: undefined }, /^ANNOTATION_CREATED: project\.id missing$/],
    [
      "deleted annotations without a project",
      { action: "ANNOTATIONS_DELETED", annotations: [{ id: 1 }] },
      /^ANNOTATIONS_DELETED: project\.id missing$/,
    ],
  ];

  it.each(table)("%s", (_name, body, message) => {
    const err = thrown(LabelingPayloadError, () => ls.parseWebhook(body));
    expect(err.name).toBe("LabelingPayloadError");
    expect(err.message).toMatch(message);
  });
});

describe("toLabel", () => {
  const ls = offline();

  it("reads a Label Studio result back into the canonical schema", () => {
    const result = [{ from_name: "label", to_name: "text", type: "choices", value: { choices: ["pos"] } }];
    expect(ls.toLabel("text_classification", result, { kind: "text", text: "great" })).toEqual({
      kind: "classification",
      label: "pos",
      score: null,
    });
  });

  it("turns a format error into a LabelingPayloadError", () => {
    expect(() => ls.toLabel("image_classification", "nope", { kind: "image", width: 2, height: 2 })).toThrow(
      LabelingPayloadError,
    );
    expect(() => ls.toLabel("tabular_regression", [], { kind: "text", text: "" })).toThrow(
      /cannot be labeled in Label Studio/,
    );
  });
});

// --- A fake Label Studio 1.23 -------------------------------------------------------------------

interface Seen {
  method: string;
  /** As sent: path and query string. */
  url: string;
  path: string;
  query: URLSearchParams;
  authorization: string | undefined;
  contentType: string | undefined;
  body: unknown;
}

interface Reply {
  status: number;
  body: unknown;
}

interface StoredTask {
  id: number;
  project: number;
  data: Record<string, unknown>;
}

class FakeLabelStudio {
  readonly seen: Seen[] = [];
  readonly projects = new Map<number, { id: number; label_config: string; title: string }>();
  readonly hooks: Array<Record<string, unknown> & { id: number }> = [];
  readonly tasks: StoredTask[] = [];
  /** Accepted Authorization headers; undefined: all. */
  accept: ((authorization: string | undefined) => boolean) | undefined;
  /** Answers before the default routes; return undefined to fall through. */
  override: ((s: Seen) => Reply | undefined) | undefined;
  issued = 0;
  refuseRefresh = false;
  maxPageSize = 100;
  private nextId = { project: 1, hook: 1, task: 1000 };
  private server: http.Server | undefined;
  url = "";

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const u = new URL(req.url ?? "/", "http://ls");
        const text = Buffer.concat(chunks).toString("utf8");
        const s: Seen = {
          method: req.method ?? "GET",
          url: req.url ?? "/",
          path: u.pathname,
          query: u.searchParams,
          authorization: req.headers.authorization,
          contentType: req.headers["content-type"],
          body: text ? (JSON.parse(text) as unknown) : undefined,
        };
        this.seen.push(s);
        const reply = this.answer(s);
        const out = JSON.stringify(reply.body);
        res.writeHead(reply.status, { "content-type": "application/json" });
        res.end(out);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  /** The requests after token refreshes, as "METHOD /path". */
  calls(): string[] {
    return this.seen.filter((s) => s.path !== "/api/token/refresh").map((s) => `${s.method} ${s.path}`);
  }

  private answer(s: Seen): Reply {
    if (s.method === "POST" && s.path === "/api/token/refresh") {
      const refresh = (s.body as { refresh?: string }).refresh;
      if (!refresh) return { status: 400, body: { refresh: ["This field is required."] } };
      if (this.refuseRefresh) return { status: 401, body: { detail: "Token is invalid or expired" } };
      return { status: 200, body: { access: `access-${++this.issued}` } };
    }
    if (this.accept && !this.accept(s.authorization)) {
      return { status: 401, body: { detail: "Authentication credentials were not provided." } };
    }
    const custom = this.override?.(s);
    if (custom) return custom;
    const notFound = { status: 404, body: { detail: "Not found." } };
    let m: RegExpExecArray | null;
    if (s.method === "POST" && s.path === "/api/projects") {
      const b = s.body as { title: string; label_config: string };
      const p = { id: this.nextId.project++, title: b.title, label_config: b.label_config };
      this.projects.set(p.id, p);
      return { status: 201, body: p };
    }
    if ((m = /^\/api\/projects\/(\d+)$/.exec(s.path))) {
      const p = this.projects.get(Number(m[1]));
      if (!p) return notFound;
      if (s.method === "PATCH") Object.assign(p, s.body);
      return { status: 200, body: p };
    }
    if (s.method === "GET" && s.path === "/api/webhooks") {
      const project = Number(s.query.get("project"));
      return { status: 200, body: this.hooks.filter((h) => h.project === project) };
    }
    if (s.method === "POST" && s.path === "/api/webhooks") {
      const hook = { id: this.nextId.hook++, ...(s.body as Record<string, unknown>) };
      this.hooks.push(hook);
      return { status: 201, body: hook };
    }
    if ((m = /^\/api\/webhooks\/(\d+)$/.exec(s.path)) && s.method === "PATCH") {
      const hook = this.hooks.find((h) => h.id === Number(m![1]));
      if (!hook) return notFound;
      Object.assign(hook, s.body);
      return { status: 200, body: hook };
    }
    if ((m = /^\/api\/projects\/(\d+)\/import$/.exec(s.path)) && s.method === "POST") {
      const project = Number(m[1]);
      if (!this.projects.has(project)) return notFound;
      const items = s.body as Array<{ data: Record<string, unknown> }>;
      const ids = items.map((t) => {
        const task = { id: this.nextId.task++, project, data: t.data };
        this.tasks.push(task);
        return task.id;
      });
      return {
        status: 201,
        body: { task_count: ids.length, annotation_count: 0, prediction_count: 0, task_ids: ids },
      };
    }
    if (s.method === "GET" && s.path === "/api/tasks") {
      const project = Number(s.query.get("project"));
      const query = JSON.parse(s.query.get("query") ?? "{}") as {
        filters?: { conjunction: string; items: Array<{ filter: string; operator: string; value: string }> };
      };
      const wanted = (query.filters?.items ?? [])
        .filter((f) => f.filter === "filter:tasks:data.capture_id" && f.operator === "equal")
        .map((f) => f.value);
      const all = this.tasks.filter(
        (t) => t.project === project && wanted.includes(t.data.capture_id as string),
      );
      const page = Number(s.query.get("page") ?? 1);
      const size = Math.min(Number(s.query.get("page_size") ?? 100), this.maxPageSize);
      if (page > 1 && (page - 1) * size >= all.length)
        return { status: 404, body: { detail: "Invalid page." } };
      const tasks = all.slice((page - 1) * size, page * size);
      return { status: 200, body: { tasks, total: all.length, total_annotations: 0, total_predictions: 0 } };
    }
    return notFound;
  }
}

const CAT: Prediction = {
  kind: "classification",
  label: "cat",
  score: 0.8,
  classes: [
    { label: "cat", score: 0.8 },
    { label: "dog", score: 0.2 },
  ],
};
const BOXES: Prediction = {
  kind: "detection",
  boxes: [
    { label: "car", score: 0.9, xyxy: [10, 20, 110, 70] },
    { label: "car", score: 0.5, xyxy: [0, 0, 5, 5] },
    { label: "bus", score: null, xyxy: [50, 50, 60, 60] },
  ],
};

function imageTask(captureId: string, instance = 0, prediction: Prediction | null = BOXES): LabelTask {
  return {
    captureId,
    instance,
    model: "yolo",
    version: "8",
    task: "object_detection",
    subject: {
      kind: "image",
      width: 200,
      height: 100,
      url: `https://mt.test/v1/media/${captureId}/${instance}?sig=s`,
    },
    prediction,
  };
}

function textTask(captureId: string, text: string, prediction: Prediction | null): LabelTask {
  return {
    captureId,
    instance: 0,
    model: "bert",
    version: "2",
    task: "text_classification",
    subject: { kind: "text", text },
    prediction,
  };
}

describe("LabelStudioBackend against a fake Label Studio", () => {
  let ls: FakeLabelStudio;
  const backend = (token = "0123456789abcdef0123456789abcdef01234567") =>
    new LabelStudioBackend({ url: `${ls.url}/`, token, webhookUrl: WEBHOOK_URL, webhookSecret: SECRET });

  beforeEach(async () => {
    ls = new FakeLabelStudio();
    await ls.start();
  });
  afterEach(async () => {
    await ls.stop();
  });

  describe("ensureProject", () => {
    it("creates a project with the task's labeling config and registers the webhook", async () => {
      const ref = await backend().ensureProject("yolo", "object_detection", ["car", "bus"]);
      expect(ref).toBe("1");
      expect(ls.calls()).toEqual(["POST /api/projects", "GET /api/webhooks", "POST /api/webhooks"]);
      expect(ls.seen.every((s) => s.authorization === "Token 0123456789abcdef0123456789abcdef01234567")).toBe(
        true,
      );
      const [create, list, hook] = ls.seen;
      expect(create!.contentType).toBe("application/json");
      expect(create!.body).toMatchObject({
        title: "modeltap: yolo",
        label_config: labelConfig("object_detection", ["car", "bus"]),
      });
      expect(list!.query.get("project")).toBe("1");
      expect(hook!.body).toEqual({
        project: 1,
        url: WEBHOOK_URL,
        send_payload: true,
        send_for_all_actions: false,
        is_active: true,
        headers: { Authorization: `Bearer ${SECRET}` },
        actions: ["ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_DELETED"],
      });
      expect([...WEBHOOK_ACTIONS]).toEqual((hook!.body as { actions: string[] }).actions);
    });

    it("keeps project titles within Label Studio's 50 characters", async () => {
      await backend().ensureProject("m".repeat(80), "image_classification", ["a"]);
      expect((ls.seen[0]!.body as { title: string }).title).toHaveLength(50);
    });

    it("rewrites its existing webhook (the secret may have rotated) instead of adding one", async () => {
      ls.projects.set(4, { id: 4, title: "modeltap: yolo", label_config: "<View/>" });
      ls.hooks.push(
        { id: 8, project: 4, url: "http://someone-else/hook", headers: {} },
        { id: 9, project: 4, url: WEBHOOK_URL, headers: { Authorization: "Bearer old" } },
      );
      const existing = {
        backend: "label_studio",
        model: "yolo",
        projectRef: "4",
        task: "object_detection",
        labelSet: ["car"],
      };
      expect(await backend().ensureProject("yolo", "object_detection", ["car"], existing)).toBe("4");
      expect(ls.calls()).toEqual(["GET /api/projects/4", "GET /api/webhooks", "PATCH /api/webhooks/9"]);
      expect(ls.hooks.map((h) => h.headers)).toEqual([{}, { Authorization: `Bearer ${SECRET}` }]);
    });

    it("adds new labels to the existing project's config (the union, old labels first)", async () => {
      ls.projects.set(4, { id: 4, title: "modeltap: yolo", label_config: "<View/>" });
      const existing = {
        backend: "label_studio",
        model: "yolo",
        projectRef: "4",
        task: "object_detection",
        labelSet: ["car", "bus"],
      };
      expect(await backend().ensureProject("yolo", "object_detection", ["truck", "car"], existing)).toBe("4");
      expect(ls.calls()).toEqual([
        "GET /api/projects/4",
        "PATCH /api/projects/4",
        "GET /api/webhooks",
        "POST /api/webhooks",
      ]);
      expect(ls.seen[1]!.body).toEqual({
        label_config: labelConfig("object_detection", ["car", "bus", "truck"]),
      });
    });

    it("makes a new project when the saved one is gone from Label Studio", async () => {
      const existing = {
        backend: "label_studio",
        model: "yolo",
        projectRef: "77",
        task: "object_detection",
        labelSet: ["car"],
      };
      expect(await backend().ensureProject("yolo", "object_detection", ["car"], existing)).toBe("1");
      expect(ls.calls()).toEqual([
        "GET /api/projects/77",
        "POST /api/projects",
        "GET /api/webhooks",
        "POST /api/webhooks",
      ]);
    });

    it("makes a new project when the model's task changed", async () => {
      ls.projects.set(4, { id: 4, title: "modeltap: yolo", label_config: "<View/>" });
      const existing = {
        backend: "label_studio",
        model: "yolo",
        projectRef: "4",
        task: "image_classification",
        labelSet: ["car"],
      };
      expect(await backend().ensureProject("yolo", "object_detection", ["car"], existing)).not.toBe("4");
      expect(ls.calls()[0]).toBe("POST /api/projects");
      expect(ls.seen[0]!.body).toMatchObject({ label_config: labelConfig("object_detection", ["car"]) });
    });

    it("an error from Label Studio is a LabelStudioError with its status", async () => {
      ls.override = (s) =>
        s.path === "/api/projects" ? { status: 400, body: { label_config: ["bad config"] } } : undefined;
      const err = await backend()
        .ensureProject("yolo", "object_detection", ["car"])
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LabelStudioError);
      expect(err).toMatchObject({ status: 400, code: "LABELING_FAILED" });
      expect((err as Error).message).toMatch(/^Label Studio POST \/api\/projects: 400 .*bad config/);
    });
  });

  describe("createTasks", () => {
    it("imports one batch with the data and the prediction as a pre-annotation", async () => {
      ls.projects.set(4, { id: 4, title: "t", label_config: "<View/>" });
      const tasks = [imageTask("a"), imageTask("a", 1, null), imageTask("b")];
      const refs = await backend().createTasks("4", tasks, false);

      expect(ls.calls()).toEqual(["POST /api/projects/4/import"]);
      const imp = ls.seen[0]!;
      expect(imp.query.get("return_task_ids")).toBe("true");
      const subject = { kind: "image" as const, width: 200, height: 100 };
      expect(imp.body).toEqual([
        {
          data: {
            capture_id: "a",
            instance: 0,
            model: "yolo",
            version: "8",
            image: "https://mt.test/v1/media/a/0?sig=s",
          },
          predictions: [
            {
              model_version: "yolo:8",
              score: 0.7,
              result: toLsResult("object_detection", BOXES, subject),
            },
          ],
        },
        {
          data: {
            capture_id: "a",
            instance: 1,
            model: "yolo",
            version: "8",
            image: "https://mt.test/v1/media/a/1?sig=s",
          },
        },
        {
          data: {
            capture_id: "b",
            instance: 0,
            model: "yolo",
            version: "8",
            image: "https://mt.test/v1/media/b/0?sig=s",
          },
          predictions: [
            { model_version: "yolo:8", score: 0.7, result: toLsResult("object_detection", BOXES, subject) },
          ],
        },
      ]);
      expect(refs).toEqual(
        new Map([
          [taskKey("a", 0), "1000"],
          [taskKey("a", 1), "1001"],
          [taskKey("b", 0), "1002"],
        ]),
      );
    });

    it("a text task carries its text; a prediction without scores has no score", async () => {
      ls.projects.set(4, { id: 4, title: "t", label_config: "<View/>" });
      const label: Prediction = { kind: "classification", label: "pos", score: null };
      await backend().createTasks(
        "4",
        [textTask("t1", "loved it", label), textTask("t2", "meh", CAT)],
        false,
      );
      const subject = (text: string) => ({ kind: "text" as const, text });
      expect(ls.seen[0]!.body).toEqual([
        {
          data: { capture_id: "t1", instance: 0, model: "bert", version: "2", text: "loved it" },
          predictions: [
            {
              model_version: "bert:2",
              result: toLsResult("text_classification", label, subject("loved it")),
            },
          ],
        },
        {
          data: { capture_id: "t2", instance: 0, model: "bert", version: "2", text: "meh" },
          predictions: [
            {
              model_version: "bert:2",
              score: 0.8,
              result: toLsResult("text_classification", CAT, subject("meh")),
            },
          ],
        },
      ]);
    });

    it("with mayExist, finds the tasks an earlier attempt made and imports only the rest", async () => {
      ls.projects.set(4, { id: 4, title: "t", label_config: "<View/>" });
      ls.tasks.push(
        { id: 50, project: 4, data: { capture_id: "a", instance: 0 } },
        { id: 51, project: 4, data: { capture_id: "b" } },
        { id: 52, project: 5, data: { capture_id: "c", instance: 0 } },
      );
      const refs = await backend().createTasks("4", [imageTask("a"), imageTask("b"), imageTask("c")], true);

      expect(ls.calls()).toEqual(["GET /api/tasks", "POST /api/projects/4/import"]);
      const find = ls.seen[0]!;
      expect(find.query.get("project")).toBe("4");
      expect(JSON.parse(find.query.get("query")!)).toEqual({
        filters: {
          conjunction: "or",
          items: ["a", "b", "c"].map((value) => ({
            filter: "filter:tasks:data.capture_id",
            operator: "equal",
            type: "String",
            value,
          })),
        },
      });
      expect(
        (ls.seen[1]!.body as Array<{ data: { capture_id: string } }>).map((t) => t.data.capture_id),
      ).toEqual(["c"]);
      expect(refs.get(taskKey("a", 0))).toBe("50");
      expect(refs.get(taskKey("b", 0))).toBe("51");
      expect(refs.get(taskKey("c", 0))).toBe("1000");
    });

    it.each([100, 30])(
      "with mayExist, pages through every task of a capture with many instances (pages of %i)",
      async (maxPageSize) => {
        ls.maxPageSize = maxPageSize;
        ls.projects.set(4, { id: 4, title: "t", label_config: "<View/>" });
        const tasks = Array.from({ length: 150 }, (_, i) => imageTask("batch", i));
        for (const t of tasks)
          ls.tasks.push({
            id: 5000 + t.instance,
            project: 4,
            data: { capture_id: "batch", instance: t.instance },
          });
        const refs = await backend().createTasks("4", [...tasks, imageTask("new")], true);
        const imported = ls.seen.filter((s) => s.path.endsWith("/import"));
        expect(imported.map((s) => (s.body as unknown[]).length)).toEqual([1]);
        expect(refs.get(taskKey("batch", 149))).toBe("5149");
        expect(refs.size).toBe(151);
      },
    );

    const manyIds: Array<[string, (i: number) => string]> = [
      ["UUIDs", (i) => `${String(i).padStart(8, "0")}-6a4f-4f5e-9c1d-3b0f8e2a7c51`],
      ["200-character ids with escaped characters", (i) => `${i}:`.padEnd(200, "a:b")],
    ];

    it.each(manyIds)("with mayExist, keeps every task query URL short for 100 %s", async (_name, idOf) => {
      ls.projects.set(4, { id: 4, title: "t", label_config: "<View/>" });
      const ids = Array.from({ length: 100 }, (_, i) => idOf(i));
      ids.forEach((id, i) =>
        ls.tasks.push({ id: 7000 + i, project: 4, data: { capture_id: id, instance: 0 } }),
      );
      const refs = await backend().createTasks(
        "4",
        ids.map((id) => imageTask(id)),
        true,
      );
      const queries = ls.seen.filter((s) => s.path === "/api/tasks");
      expect(queries.length).toBeGreaterThan(1);
      for (const q of queries) expect(q.url.length).toBeLessThan(7000);
      expect(ls.calls().filter((c) => c.endsWith("/import"))).toEqual([]);
      expect(refs.size).toBe(100);
      expect(refs.get(taskKey(ids[99]!, 0))).toBe("7099");
    });

    it("with mayExist and every task found, imports nothing", async () => {
      ls.projects.set(4, { id: 4, title: "t", label_config: "<View/>" });
      ls.tasks.push({ id: 50, project: 4, data: { capture_id: "a", instance: 1 } });
      const refs = await backend().createTasks("4", [imageTask("a", 1)], true);
      expect(ls.calls()).toEqual(["GET /api/tasks"]);
      expect(refs.get(taskKey("a", 1))).toBe("50");
    });

    it("a second export of the same captures after a crash makes no duplicate tasks", async () => {
      ls.projects.set(4, { id: 4, title: "t", label_config: "<View/>" });
      const tasks = [imageTask("a"), imageTask("a", 1)];
      const first = await backend().createTasks("4", tasks, false);
      const again = await backend().createTasks("4", tasks, true);
      expect(again).toEqual(first);
      expect(ls.tasks).toHaveLength(2);
    });

    it("without mayExist, does not look for existing tasks", async () => {
      ls.projects.set(4, { id: 4, title: "t", label_config: "<View/>" });
      await backend().createTasks("4", [imageTask("a")], false);
      expect(ls.calls()).toEqual(["POST /api/projects/4/import"]);
    });

    const short: Array<[string, unknown]> = [
      ["fewer task ids than tasks", { task_count: 1, task_ids: [1000] }],
      ["no task ids at all", { task_count: 2 }],
    ];

    it.each(short)("throws when the import answers %s", async (_name, answer) => {
      ls.projects.set(4, { id: 4, title: "t", label_config: "<View/>" });
      ls.override = (s) => (s.path.endsWith("/import") ? { status: 201, body: answer } : undefined);
      const err = await backend()
        .createTasks("4", [imageTask("a"), imageTask("b")], false)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LabelStudioError);
      expect((err as Error).message).toMatch(/returned (1|no) task ids for 2 tasks/);
    });

    it("imports a task whose prediction Label Studio cannot show without it, and says why", async () => {
      ls.projects.set(4, { id: 4, title: "t", label_config: "<View/>" });
      const bad = imageTask("odd", 0, {
        kind: "segmentation",
        instances: [{ label: "car", score: 0.5, xyxy: [0, 0, 1, 1], rle: { size: [3, 3], counts: [9] } }],
      });
      bad.task = "instance_segmentation";
      const refs = await backend().createTasks("4", [bad, imageTask("fine")], false);
      expect(refs.size).toBe(2);
      const body = ls.seen.find((s) => s.path.endsWith("/import"))!.body as Array<Record<string, any>>;
      expect(body[0]!.predictions).toBeUndefined();
      expect(body[0]!.data.prediction_error).toMatch(/size|mask/i);
      expect(body[1]!.predictions).toHaveLength(1);
    });

    it("an import into a missing project fails with ProjectGoneError (the exporter makes a new one)", async () => {
      const err = await backend()
        .createTasks("99", [imageTask("a")], false)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProjectGoneError);
      expect((err as Error).message).toMatch(/project 99 does not exist/);
    });
  });

  describe("authentication", () => {
    const JWT = "eyJhbGciOiJIUzI1NiJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCJ9.c2lnbmF0dXJlLXBhcnQ";

    it("a legacy token is sent as 'Token <token>' and a 401 is not retried", async () => {
      ls.accept = () => false;
      const err = await backend("legacy-abc")
        .createTasks("4", [imageTask("a")], false)
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ status: 401 });
      expect(ls.seen.map((s) => [s.path, s.authorization])).toEqual([
        ["/api/projects/4/import", "Token legacy-abc"],
      ]);
    });

    it("a personal access token is exchanged for an access token, then sent as Bearer", async () => {
      ls.accept = (auth) => auth === "Bearer access-1";
      ls.projects.set(4, { id: 4, title: "t", label_config: "<View/>" });
      const b = backend(JWT);
      await b.createTasks("4", [imageTask("a")], false);
      await b.createTasks("4", [imageTask("b")], false);
      expect(ls.seen.map((s) => [s.method, s.path, s.authorization])).toEqual([
        ["POST", "/api/token/refresh", undefined],
        ["POST", "/api/projects/4/import", "Bearer access-1"],
        ["POST", "/api/projects/4/import", "Bearer access-1"],
      ]);
      expect(ls.seen[0]!.body).toEqual({ refresh: JWT });
    });

    it("on a 401 it refreshes the access token once and retries", async () => {
      ls.projects.set(4, { id: 4, title: "t", label_config: "<View/>" });
      ls.accept = (auth) => auth === "Bearer access-2";
      const refs = await backend(JWT).createTasks("4", [imageTask("a")], false);
      expect(refs.get(taskKey("a", 0))).toBe("1000");
      expect(ls.seen.map((s) => [s.path, s.authorization])).toEqual([
        ["/api/token/refresh", undefined],
        ["/api/projects/4/import", "Bearer access-1"],
        ["/api/token/refresh", undefined],
        ["/api/projects/4/import", "Bearer access-2"],
      ]);
      expect(ls.tasks).toHaveLength(1);
    });

    it("a second 401 fails without refreshing again", async () => {
      ls.accept = () => false;
      const err = await backend(JWT)
        .createTasks("4", [imageTask("a")], false)
        .catch((e: unknown) => e);
      expect(err).toMatchObject({ status: 401 });
      expect(ls.seen.map((s) => s.path)).toEqual([
        "/api/token/refresh",
        "/api/projects/4/import",
        "/api/token/refresh",
        "/api/projects/4/import",
      ]);
    });

    it("a refused personal access token fails with Label Studio's status, before any API call", async () => {
      ls.refuseRefresh = true;
      const err = await backend(JWT)
        .createTasks("4", [imageTask("a")], false)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LabelStudioError);
      expect(err).toMatchObject({ status: 401 });
      expect((err as Error).message).toMatch(/refused the personal access token \(401\)/);
      expect(ls.calls()).toEqual([]);
    });
  });
});
