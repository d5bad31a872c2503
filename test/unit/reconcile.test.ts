/** src/api/reconcile.ts: reconcilePass against in-memory fakes and a Label Studio backend whose annotations are given. */
import { describe, expect, it } from "vitest";
import { LabelStudioBackend } from "../../src/adapters/label-studio/backend.js";
import { createApiMetrics } from "../../src/api/metrics.js";
import { reconcilePass } from "../../src/api/reconcile.js";
import type { Prediction } from "../../src/core/canonical.js";
import { PluginRegistry } from "../../src/plugins/registry.js";
import { captureRow, imageInstance } from "../support/captures.js";
import {
  FakeBlobStore,
  FakeCaptureRepository,
  FakeGroundTruthRepository,
  FakeLabelExportQueue,
} from "../support/fakes.js";
import { captureLog } from "../support/log.js";

const AT = new Date("2026-05-01T12:00:00Z");
const cls = (label: string): Prediction => ({ kind: "classification", label, score: null });
const choice = (label: string) => [
  { from_name: "label", to_name: "image", type: "choices", value: { choices: [label] } },
];

function setup() {
  const backend = new LabelStudioBackend({
    url: "http://label-studio.invalid",
    token: "legacy-token",
    webhookUrl: "http://modeltap.invalid/v1/labeling/webhook",
    webhookSecret: "s3cret-0123456789abcdef",
  });
  const groundTruth = new FakeGroundTruthRepository();
  const queue = new FakeLabelExportQueue();
  const deps = {
    captures: new FakeCaptureRepository([
      captureRow("img-1", "image_classification", [imageInstance()], { labelSet: ["cat", "dog"] }),
    ]),
    groundTruth,
    blobs: new FakeBlobStore(),
    backend,
    plugins: new PluginRegistry(),
    metrics: createApiMetrics(),
    log: captureLog().log,
    queue,
    exports: queue,
  };
  return { deps, backend, groundTruth, queue };
}

describe("reconcilePass", () => {
  it("stores what the webhooks missed, skips what is stored, and marks vanished annotations deleted", async () => {
    const { deps, backend, groundTruth, queue } = setup();
    await queue.saveProject({
      backend: "label_studio",
      model: "m",
      projectRef: "9",
      task: "image_classification",
      labelSet: [],
    });
    // Stored earlier through webhooks: annotation 1 (still there), annotation 2 (since deleted in the tool).
    const stored = { captureId: "img-1", instance: 0, source: "label_studio", labeledAt: AT };
    await groundTruth.upsertGroundTruth([
      { ...stored, sourceRef: "1", label: cls("cat") },
      { ...stored, sourceRef: "2", label: cls("dog") },
    ]);
    await queue.markExported([
      { captureId: "img-1", instance: 0, taskRef: "70", projectRef: "9" },
      { captureId: "gone", instance: 0, taskRef: "71", projectRef: "9" },
    ]);
    const annotation = { captureId: "img-1", instance: 0, taskRef: "70", labeledAt: AT, cancelled: false };
    backend.listAnnotations = async () => [
      { ...annotation, sourceRef: "1", result: choice("cat") },
      { ...annotation, sourceRef: "3", result: choice("dog") },
      { ...annotation, sourceRef: "4", result: [], cancelled: true },
      { ...annotation, captureId: "gone", taskRef: "71", sourceRef: "5", result: choice("cat") },
      // A task someone added to the project by hand, naming a capture modeltap exported elsewhere.
      { ...annotation, taskRef: "99", sourceRef: "6", result: choice("dog") },
    ];

    const r = await reconcilePass(deps);

    expect(r).toEqual({ projects: 1, stored: 1, unchanged: 1, deleted: 1, rejected: 2 });
    expect((await deps.metrics.webhookRefused.get()).values).toEqual([
      expect.objectContaining({ labels: { reason: "not_exported" }, value: 1 }),
    ]);
    const rows = await groundTruth.groundTruthFor("img-1");
    expect(rows.map((x) => [x.sourceRef, x.deleted]).sort()).toEqual([
      ["1", false],
      ["2", true],
      ["3", false],
    ]);
  });
});
