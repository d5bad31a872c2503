/**
 * src/api/exporter.ts: the label exporter against in-memory fakes of the export queue, the capture
 * index and the labeling backend.
 */
import { getEventListeners } from "node:events";
import { describe, expect, it } from "vitest";
import { noneBackend } from "../../src/adapters/none-labeling.js";
import { exportPass, runExporter, type ExporterDeps } from "../../src/api/exporter.js";
import { createApiMetrics, type ApiMetrics } from "../../src/api/metrics.js";
import type { Instance, Prediction, Task } from "../../src/core/canonical.js";
import { ProjectGoneError } from "../../src/core/errors.js";
import { taskKey, type CaptureRow, type ExportClaim, type LabelingBackend } from "../../src/core/ports.js";
import { bodyRow, captureRow, imageInstance, textInstance } from "../support/captures.js";
import {
  FakeCaptureRepository,
  FakeLabelExportQueue,
  FakeLabelingBackend,
  taskKeys,
} from "../support/fakes.js";
import { captureLog } from "../support/log.js";

const CAT: Prediction = { kind: "classification", label: "cat", score: 0.9 };
const catImage = (): Instance => imageInstance(640, 480, CAT);

/** A resnet image capture, every instance chosen for labeling; its bodies are not read. */
function capture(
  id: string,
  over: { model?: string; task?: Task; labelSet?: string[]; instances?: Instance[] } = {},
): CaptureRow {
  const instances = over.instances ?? [catImage()];
  return captureRow(id, over.task ?? "image_classification", instances, {
    model: over.model ?? "resnet",
    version: "3",
    request: bodyRow("image/png"),
    response: bodyRow("application/json"),
    labelRate: 1,
    labelSet: over.labelSet ?? ["cat", "dog"],
    labelExports: instances.map((_, i) => i),
  });
}

const claim = (captureId: string, instance = 0, attempts = 1, model = "resnet"): ExportClaim => ({
  captureId,
  instance,
  model,
  attempts,
});

function setup(
  rows: CaptureRow[],
  claims: ExportClaim[][],
  over: Partial<ExporterDeps> & { backend?: LabelingBackend } = {},
) {
  const { log, lines } = captureLog();
  const queue = new FakeLabelExportQueue(claims);
  const captures = new FakeCaptureRepository(rows);
  const backend = new FakeLabelingBackend();
  const metrics = createApiMetrics();
  const deps: ExporterDeps = {
    queue,
    captures,
    backend,
    mediaUrl: (id, i) => `https://mt.example/v1/media/${encodeURIComponent(id)}/${i}?sig=x`,
    metrics,
    log,
    batch: 50,
    leaseMs: 60_000,
    maxAttempts: 5,
    ...over,
  };
  return { deps, queue, captures, backend, metrics, lines };
}

async function exportedCount(metrics: ApiMetrics, outcome: string): Promise<number> {
  const { values } = await metrics.exported.get();
  return values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
}

async function outcomes(metrics: ApiMetrics): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const outcome of ["exported", "skipped", "retried", "failed"]) {
    out[outcome] = await exportedCount(metrics, outcome);
  }
  return out;
}

describe("exportPass: grouping, projects and tasks", () => {
  it("does nothing but claim when no row is due", async () => {
    const { deps, queue, backend } = setup([], [[]]);
    expect(await exportPass(deps)).toEqual({ claimed: 0, exported: 0, skipped: 0, retried: 0 });
    expect(queue.claimCalls).toEqual([{ limit: 50, leaseMs: 60_000 }]);
    expect(backend.ensured).toEqual([]);
    expect(backend.created).toEqual([]);
  });

  it("makes one project and one task batch per model, and marks every claim exported", async () => {
    const rows = [
      capture("a", { instances: [catImage(), catImage()] }),
      capture("b"),
      capture("c", { model: "bert", task: "text_classification", labelSet: ["pos", "neg"] }),
    ];
    rows[2]!.analysis!.instances = [textInstance("great film")];
    const { deps, queue, backend, metrics } = setup(rows, [
      [claim("a", 0), claim("c", 0, 1, "bert"), claim("a", 1), claim("b", 0)],
    ]);

    expect(await exportPass(deps)).toEqual({ claimed: 4, exported: 4, skipped: 0, retried: 0 });

    expect(backend.ensured.map((e) => [e.model, e.task, e.labels, e.existing])).toEqual([
      ["resnet", "image_classification", ["cat", "dog"], undefined],
      ["bert", "text_classification", ["pos", "neg"], undefined],
    ]);
    expect(queue.saved).toEqual([
      {
        backend: "fake",
        model: "resnet",
        projectRef: "100",
        task: "image_classification",
        labelSet: ["cat", "dog"],
      },
      {
        backend: "fake",
        model: "bert",
        projectRef: "101",
        task: "text_classification",
        labelSet: ["pos", "neg"],
      },
    ]);
    expect(backend.created.map((c) => [c.projectRef, taskKeys(c.tasks), c.mayExist])).toEqual([
      ["100", ["a#0", "a#1", "b#0"], false],
      ["101", ["c#0"], false],
    ]);
    expect(queue.exported).toEqual([
      { captureId: "a", instance: 0, taskRef: "t-a-0", projectRef: "100" },
      { captureId: "a", instance: 1, taskRef: "t-a-1", projectRef: "100" },
      { captureId: "b", instance: 0, taskRef: "t-b-0", projectRef: "100" },
      { captureId: "c", instance: 0, taskRef: "t-c-0", projectRef: "101" },
    ]);
    expect(queue.skipped).toEqual([]);
    expect(queue.retried).toEqual([]);
    expect(await outcomes(metrics)).toEqual({ exported: 4, skipped: 0, retried: 0, failed: 0 });
    expect(
      (await metrics.exportSeconds.get()).values.find((v) => v.metricName?.endsWith("_count"))?.value,
    ).toBe(2);
  });

  it("reuses a project of the same task whose label set covers the batch", async () => {
    const { deps, queue, backend } = setup([capture("a", { labelSet: ["dog"] })], [[claim("a")]]);
    const project = {
      backend: "fake",
      model: "resnet",
      projectRef: "7",
      task: "image_classification",
      labelSet: ["cat", "dog", "bird"],
    };
    queue.projects.set("fake/resnet", project);

    await exportPass(deps);

    expect(backend.ensured).toEqual([]);
    expect(queue.saved).toEqual([]);
    expect(backend.created.map((c) => c.projectRef)).toEqual(["7"]);
    expect(queue.exported).toEqual([{ captureId: "a", instance: 0, taskRef: "t-a-0", projectRef: "7" }]);
  });

  it("adapts the existing project when the label set grows, and saves the union", async () => {
    const rows = [capture("a", { labelSet: ["cat", "fox"] }), capture("b", { labelSet: ["owl"] })];
    const { deps, queue, backend } = setup(rows, [[claim("a"), claim("b")]]);
    const project = {
      backend: "fake",
      model: "resnet",
      projectRef: "7",
      task: "image_classification",
      labelSet: ["cat", "dog"],
    };
    queue.projects.set("fake/resnet", project);

    await exportPass(deps);

    expect(backend.ensured).toEqual([
      { model: "resnet", task: "image_classification", labels: ["cat", "fox", "owl"], existing: project },
    ]);
    expect(queue.saved).toEqual([{ ...project, labelSet: ["cat", "dog", "fox", "owl"] }]);
    expect(backend.created.map((c) => c.projectRef)).toEqual(["7"]);
  });

  it("makes a new project when the model's task changed, keeping only the new labels", async () => {
    const row = capture("a", { task: "object_detection", labelSet: ["car"] });
    row.analysis!.instances = [imageInstance(640, 480, { kind: "detection", boxes: [] })];
    const { deps, queue, backend } = setup([row], [[claim("a")]]);
    const project = {
      backend: "fake",
      model: "resnet",
      projectRef: "7",
      task: "image_classification",
      labelSet: ["cat", "dog"],
    };
    queue.projects.set("fake/resnet", project);

    await exportPass(deps);

    expect(backend.ensured).toEqual([
      { model: "resnet", task: "object_detection", labels: ["car"], existing: project },
    ]);
    expect(queue.saved).toEqual([
      { backend: "fake", model: "resnet", projectRef: "100", task: "object_detection", labelSet: ["car"] },
    ]);
    expect(queue.exported.map((e) => e.projectRef)).toEqual(["100"]);
  });

  it("does not look for existing projects of another backend", async () => {
    const { deps, queue, backend } = setup([capture("a")], [[claim("a")]]);
    queue.projects.set("label_studio/resnet", {
      backend: "label_studio",
      model: "resnet",
      projectRef: "7",
      task: "image_classification",
      labelSet: ["cat", "dog"],
    });
    await exportPass(deps);
    expect(backend.ensured.map((e) => e.existing)).toEqual([undefined]);
  });
});

describe("exportPass: mayExist", () => {
  const table: Array<[string, number[], boolean]> = [
    ["every claim on its first attempt", [1, 1, 1], false],
    ["one claim on its second attempt", [1, 2, 1], true],
    ["every claim retried", [3, 4, 2], true],
  ];

  it.each(table)("%s → mayExist %s", async (_name, attempts, mayExist) => {
    const ids = attempts.map((_, i) => `c${i}`);
    const { deps, backend } = setup(
      ids.map((id) => capture(id)),
      [ids.map((id, i) => claim(id, 0, attempts[i]))],
    );
    await exportPass(deps);
    expect(backend.created.map((c) => c.mayExist)).toEqual([mayExist]);
  });

  it("is decided per model batch", async () => {
    const rows = [capture("a"), capture("b", { model: "vit" })];
    const { deps, backend } = setup(rows, [[claim("a", 0, 1), claim("b", 0, 2, "vit")]]);
    await exportPass(deps);
    expect(backend.created.map((c) => [taskKeys(c.tasks), c.mayExist])).toEqual([
      [["a#0"], false],
      [["b#0"], true],
    ]);
  });
});

describe("exportPass: failures", () => {
  const table: Array<[string, number[], number]> = [
    ["first attempt", [1, 1], 1000],
    ["second attempt", [2, 1], 2000],
    ["fourth attempt", [1, 4], 8000],
    ["backoff is capped at five minutes", [20, 1], 300_000],
  ];

  it.each(table)("%s: retries later (%j → +%i ms)", async (_name, attempts, delay) => {
    const { deps, queue, backend, metrics, lines } = setup(
      [capture("a"), capture("b")],
      [[claim("a", 0, attempts[0]), claim("b", 0, attempts[1])]],
      { maxAttempts: 30 },
    );
    backend.failWith = new Error("Label Studio is down");
    const before = Date.now();
    const r = await exportPass(deps);
    const after = Date.now();

    expect(r).toEqual({ claimed: 2, exported: 0, skipped: 0, retried: 2 });
    expect(queue.exported).toEqual([]);
    expect(queue.retried).toHaveLength(1);
    const retry = queue.retried[0]!;
    expect(retry.keys).toEqual(["a#0", "b#0"]);
    expect(retry.error).toBe("Label Studio is down");
    expect(retry.retryAt).toBeInstanceOf(Date);
    expect(retry.retryAt!.getTime()).toBeGreaterThanOrEqual(before + delay);
    expect(retry.retryAt!.getTime()).toBeLessThanOrEqual(after + delay);
    expect(await outcomes(metrics)).toEqual({ exported: 0, skipped: 0, retried: 2, failed: 0 });
    expect(lines.find((l) => l.msg === "label export failed; will retry")).toMatchObject({
      model: "resnet",
      tasks: 2,
      attempts: Math.max(...attempts),
    });
  });

  it("gives up (failed, retryAt null) once a claim reaches maxAttempts", async () => {
    const { deps, queue, backend, metrics, lines } = setup(
      [capture("a"), capture("b")],
      [[claim("a", 0, 2), claim("b", 0, 5)]],
      { maxAttempts: 5 },
    );
    backend.failWith = new Error("import refused");
    const r = await exportPass(deps);
    expect(r.retried).toBe(2);
    expect(queue.retried).toEqual([{ keys: ["a#0", "b#0"], error: "import refused", retryAt: null }]);
    expect(await outcomes(metrics)).toEqual({ exported: 0, skipped: 0, retried: 0, failed: 2 });
    expect(lines.some((l) => l.msg === "label export failed for good")).toBe(true);
  });

  it("retries when the project cannot be made, without creating tasks", async () => {
    const { deps, queue, backend } = setup([capture("a")], [[claim("a")]]);
    backend.ensureProject = () => Promise.reject(new Error("no such organization"));
    await exportPass(deps);
    expect(backend.created).toEqual([]);
    expect(queue.saved).toEqual([]);
    expect(queue.retried.map((r) => [r.keys, r.error])).toEqual([[["a#0"], "no such organization"]]);
  });

  it("a failing model does not hold back another model's batch", async () => {
    const rows = [capture("a"), capture("b", { model: "vit" })];
    const { deps, queue, backend, metrics } = setup(rows, [[claim("a"), claim("b", 0, 1, "vit")]]);
    const create = backend.createTasks.bind(backend);
    backend.createTasks = (ref, tasks, mayExist) =>
      tasks[0]!.model === "resnet" ? Promise.reject(new Error("boom")) : create(ref, tasks, mayExist);
    expect(await exportPass(deps)).toEqual({ claimed: 2, exported: 1, skipped: 0, retried: 1 });
    expect(queue.exported.map((e) => e.captureId)).toEqual(["b"]);
    expect(queue.retried.map((r) => r.keys)).toEqual([["a#0"]]);
    expect(await outcomes(metrics)).toEqual({ exported: 1, skipped: 0, retried: 1, failed: 0 });
  });
});

describe("exportPass: skipped claims", () => {
  const tabular = capture("tab", { task: "tabular_classification" });
  tabular.analysis!.instances = [{ input: { features: { x: 1 } }, prediction: CAT }];
  const long = capture("long", { task: "text_classification" });
  // As planPersist stores a long text: a prefix in the row, the whole text in object storage.
  const stored = { text: "prefix", text_chars: 40_000, text_uri: "s3://b/long-text-0" };
  long.analysis!.instances = [{ input: stored, prediction: null }];

  const table: Array<[string, CaptureRow[], ExportClaim, string]> = [
    ["a missing capture", [], claim("gone"), "capture not found"],
    [
      "a task not labeled by people",
      [tabular],
      claim("tab"),
      "task tabular_classification is not labeled by people",
    ],
    ["an instance the capture lacks", [capture("a")], claim("a", 3), "capture has no instance 3"],
    [
      "a text kept in object storage",
      [long],
      claim("long"),
      "input text is stored in object storage (too long to label inline)",
    ],
  ];

  it.each(table)("%s is skipped with a reason", async (_name, rows, c, reason) => {
    const { deps, queue, backend, metrics, lines } = setup(rows, [[c]]);
    expect(await exportPass(deps)).toEqual({ claimed: 1, exported: 0, skipped: 1, retried: 0 });
    expect(queue.skipped).toEqual([{ keys: [taskKey(c.captureId, c.instance)], reason }]);
    expect(backend.ensured).toEqual([]);
    expect(backend.created).toEqual([]);
    expect(queue.exported).toEqual([]);
    expect(await outcomes(metrics)).toEqual({ exported: 0, skipped: 1, retried: 0, failed: 0 });
    expect(lines.find((l) => l.msg === "capture not exported for labeling")).toMatchObject({
      level: 40,
      capture_id: c.captureId,
      reason,
    });
  });

  it("skips the bad claims and still exports the good ones", async () => {
    const { deps, queue, backend } = setup(
      [capture("a"), tabular],
      [[claim("gone"), claim("a"), claim("tab")]],
    );
    expect(await exportPass(deps)).toEqual({ claimed: 3, exported: 1, skipped: 2, retried: 0 });
    expect(queue.skipped.map((s) => s.keys)).toEqual([["gone#0"], ["tab#0"]]);
    expect(backend.created.map((c) => taskKeys(c.tasks))).toEqual([["a#0"]]);
  });

  it("the none backend marks every claim skipped without reading captures", async () => {
    const { deps, queue, metrics } = setup([capture("a")], [[claim("a"), claim("gone")]], {
      backend: noneBackend,
    });
    deps.captures.getCapture = () => Promise.reject(new Error("must not be read"));
    expect(await exportPass(deps)).toEqual({ claimed: 2, exported: 0, skipped: 2, retried: 0 });
    expect(queue.skipped).toEqual([{ keys: ["a#0", "gone#0"], reason: "labeling backend is none" }]);
    expect(queue.exported).toEqual([]);
    expect(queue.retried).toEqual([]);
    expect(await outcomes(metrics)).toEqual({ exported: 0, skipped: 2, retried: 0, failed: 0 });
  });
});

describe("exportPass: the tasks sent", () => {
  it("an image task carries the signed media URL, the image size and the prediction", async () => {
    const box: Prediction = {
      kind: "detection",
      boxes: [{ label: "car", score: 0.8, xyxy: [1, 2, 30, 40] }],
    };
    const row = capture("img:1", { task: "object_detection", labelSet: ["car"] });
    row.analysis!.instances = [imageInstance(10, 10), imageInstance(1920, 1080, box)];
    const { deps, backend } = setup([row], [[claim("img:1", 1)]]);
    await exportPass(deps);
    expect(backend.created[0]!.tasks).toEqual([
      {
        captureId: "img:1",
        instance: 1,
        model: "resnet",
        version: "3",
        task: "object_detection",
        subject: {
          kind: "image",
          width: 1920,
          height: 1080,
          url: "https://mt.example/v1/media/img%3A1/1?sig=x",
        },
        prediction: box,
      },
    ]);
  });

  it("a text task carries the text; a missing prediction is null", async () => {
    const row = capture("txt", { model: "bert", task: "text_classification", labelSet: ["pos", "neg"] });
    row.analysis!.instances = [textInstance("meh"), textInstance("loved it", CAT)];
    const { deps, backend } = setup([row], [[claim("txt", 0, 1, "bert"), claim("txt", 1, 1, "bert")]]);
    await exportPass(deps);
    expect(backend.created[0]!.tasks.map((t) => [t.instance, t.subject, t.prediction])).toEqual([
      [0, { kind: "text", text: "meh" }, null],
      [1, { kind: "text", text: "loved it" }, CAT],
    ]);
  });

  it("an empty text is still a text subject", async () => {
    const row = capture("e", { task: "ner", labelSet: ["PER"] });
    row.analysis!.instances = [textInstance("")];
    const { deps, backend } = setup([row], [[claim("e")]]);
    await exportPass(deps);
    expect(backend.created[0]!.tasks[0]!.subject).toEqual({ kind: "text", text: "" });
  });
});

describe("runExporter", () => {
  it("runs passes back to back while busy, samples the queue gauge, and stops on abort", async () => {
    const abort = new AbortController();
    const { deps, queue, metrics, lines } = setup([capture("a")], [[claim("a")]]);
    Object.assign(queue.counts, { pending: 3, exported: 9 });
    const claimExports = queue.claimExports.bind(queue);
    queue.claimExports = async (limit, leaseMs) => {
      if (queue.claimCalls.length === 1) abort.abort();
      return claimExports(limit, leaseMs);
    };
    await runExporter(deps, 60_000, abort.signal);
    expect(queue.claimCalls).toHaveLength(2);
    expect(queue.exported.map((e) => e.captureId)).toEqual(["a"]);
    const gauge = (await metrics.queue.get()).values.map((v) => [v.labels.state, v.value]);
    expect(gauge).toEqual([
      ["pending", 3],
      ["exported", 9],
    ]);
    expect(lines.find((l) => l.msg === "label export pass")).toMatchObject({ claimed: 1, exported: 1 });
  });

  it("leaves no abort listener behind on the signal after idle waits", async () => {
    const abort = new AbortController();
    const { deps, queue } = setup([], []);
    const listeners: number[] = [];
    queue.claimExports = async () => {
      listeners.push(getEventListeners(abort.signal, "abort").length);
      if (listeners.length === 12) abort.abort();
      return [];
    };
    await runExporter(deps, 1, abort.signal);
    expect(listeners).toEqual(new Array(12).fill(0));
  });

  it("logs a failed pass and keeps going", async () => {
    const abort = new AbortController();
    const { deps, queue, lines } = setup([], []);
    let calls = 0;
    queue.claimExports = async () => {
      calls++;
      if (calls === 1) throw new Error("database restarting");
      abort.abort();
      return [];
    };
    await runExporter(deps, 1, abort.signal);
    expect(calls).toBe(2);
    expect(lines.find((l) => l.msg === "label export pass failed; retrying")).toMatchObject({
      level: 40,
      err: { message: "database restarting" },
    });
  });
});

describe("exportPass: projects that change under it", () => {
  it("makes a new project when the tool says the project is gone, and imports there", async () => {
    const { deps, queue, backend } = setup([capture("a")], [[claim("a")]]);
    await queue.saveProject({
      backend: "fake",
      model: "resnet",
      projectRef: "7",
      task: "image_classification",
      labelSet: ["cat", "dog"],
    });
    let calls = 0;
    const create = backend.createTasks.bind(backend);
    backend.createTasks = async (ref, tasks, mayExist) => {
      calls++;
      if (ref === "7") throw new ProjectGoneError("project 7 does not exist");
      return create(ref, tasks, mayExist);
    };
    const r = await exportPass(deps);
    expect(r.exported).toBe(1);
    expect(calls).toBe(2);
    expect(backend.ensured).toHaveLength(1);
    expect(backend.ensured[0]!.existing).toBeUndefined();
    const saved = await queue.getProject("fake", "resnet");
    expect(saved?.projectRef).not.toBe("7");
  });

  it("keeps a model's captures of different tasks in separate batches", async () => {
    const rows = [
      capture("a"),
      capture("b", {
        task: "object_detection",
        instances: [imageInstance(640, 480, { kind: "detection", boxes: [] })],
      }),
    ];
    const { deps, backend } = setup(rows, [[claim("a"), claim("b")]]);
    await exportPass(deps);
    expect(backend.created.map((c) => c.tasks.map((t) => `${t.captureId}:${t.task}`))).toEqual([
      ["a:image_classification"],
      ["b:object_detection"],
    ]);
  });
});

describe("exportPass: checking projects once per process", () => {
  it("re-checks a saved project once when given verifiedProjects (webhook secret may have changed)", async () => {
    const verifiedProjects = new Set<string>();
    const { deps, queue, backend } = setup([capture("a"), capture("b")], [[claim("a")], [claim("b")]], {
      verifiedProjects,
    });
    await queue.saveProject({
      backend: "fake",
      model: "resnet",
      projectRef: "7",
      task: "image_classification",
      labelSet: ["cat", "dog"],
    });
    await exportPass(deps);
    await exportPass(deps);
    expect(backend.ensured.map((e) => e.existing?.projectRef)).toEqual(["7"]);
    expect(verifiedProjects.has("resnet")).toBe(true);
  });
});
