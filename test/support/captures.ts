/**
 * Captures as the capture repository returns them (CaptureRow, its BodyRows and analysis
 * instances), for the tests of what reads captures back: the label exporter, the API handlers and
 * the reconciler.
 */
import { captureObjectPrefix } from "../../src/core/storage/object-key.js";
import type { Instance, Prediction, Task } from "../../src/core/canonical.js";
import type { BodyRow, CaptureRow } from "../../src/core/ports.js";

/**
 * A stored body of this content type: an object under objectKey (in bucket "bucket"), or, with no
 * key, a body stored nowhere (empty, or not captured).
 */
export function bodyRow(contentType: string, objectKey: string | null = null): BodyRow {
  return {
    contentType,
    contentEncoding: "",
    sizeBytes: 0,
    wireSizeBytes: 0,
    truncated: false,
    decoded: false,
    decodeError: "",
    objectKey,
    objectUri: objectKey && `s3://bucket/${objectKey}`,
    inline: null,
    headers: [],
  };
}

/** One image input of this size (what the analysis records of an image: its size and format). */
export function imageInstance(width = 640, height = 480, prediction: Prediction | null = null): Instance {
  return { input: { image: { width, height, format: "png" } }, prediction };
}

export function textInstance(text: string, prediction: Prediction | null = null): Instance {
  return { input: { text }, prediction };
}

/** Where the worker puts the objects of captureRow(id, ...) (model m, version 1, 2026-05-01 12:00 UTC). */
export function capturePrefix(id: string): string {
  return captureObjectPrefix({ model: "m", version: "1", id, startedAtUs: Date.UTC(2026, 4, 1, 12) * 1000 });
}

/**
 * A persisted capture of this task with these instances, both bodies JSON objects under
 * `<id>/request` and `<id>/response`, not chosen for labeling. `over` replaces any column.
 */
export function captureRow(
  id: string,
  task: Task,
  instances: Instance[],
  over: Partial<Omit<CaptureRow, "id" | "task">> = {},
): CaptureRow {
  return {
    id,
    requestId: id,
    sampledBy: "request_id",
    model: "m",
    version: "1",
    task,
    route: "route",
    cluster: "cluster",
    mode: "observability",
    method: "POST",
    path: "/predict",
    receivedAt: new Date("2026-05-01T12:00:00Z"),
    durationMs: 10,
    ttfbMs: 5,
    upstreamMs: null,
    statusCode: 200,
    complete: true,
    sampleRate: 1,
    request: bodyRow("application/json", `${id}/request`),
    response: bodyRow("application/json", `${id}/response`),
    protocol: "hf_pipeline",
    parseError: "",
    analysis: { schema_version: 1, task, protocol: "hf_pipeline", instances },
    features: null,
    predictions: instances.map((i) => i.prediction),
    labelRate: 0,
    labelSet: [],
    labelExports: [],
    ...over,
  };
}
