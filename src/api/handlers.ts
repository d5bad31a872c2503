/**
 * The request handlers of `modeltap api`, transport-free: each takes parsed input and returns a
 * status and a JSON body, so the HTTP layer (server.ts) stays a thin router.
 */
import type { Instance, Prediction } from "../core/canonical.js";
import { parseGroundTruthBody, type GroundTruthItem } from "../core/ground-truth/items.js";
import { labelFitsTask, labelsOutsideSet } from "../core/ground-truth/label.js";
import { type LabelingBackend } from "../core/ports.js";
import { LabelingPayloadError } from "../core/errors.js";
import type { CaptureRow } from "../core/ports.js";
import type { BlobStore, CaptureRepository, GroundTruthRepository, GroundTruthRow } from "../core/ports.js";
import type { PluginCatalog } from "../core/route-config.js";
import type { Task } from "../core/canonical.js";
import type { Logger } from "../log.js";
import type { ApiMetrics } from "./metrics.js";
import { storedImage } from "./stored-media.js";

export interface HandlerDeps {
  captures: CaptureRepository;
  groundTruth: GroundTruthRepository;
  blobs: BlobStore;
  backend: LabelingBackend;
  plugins: PluginCatalog;
  metrics: ApiMetrics;
  log: Logger;
}

export interface Reply {
  status: number;
  body: unknown;
  /** Raw bytes instead of JSON (media). */
  bytes?: { data: Uint8Array; contentType: string };
}

const problem = (status: number, error: string, extra: Record<string, unknown> = {}): Reply => ({
  status,
  body: { error, ...extra },
});

/** What a label is checked against: the capture's task, its input text or image size, its label set. */
function fitProblems(label: Prediction, row: CaptureRow, instance: number): string[] {
  const input: Instance["input"] | undefined = row.analysis?.instances[instance]?.input;
  if (row.analysis && !input) return [`capture has no instance ${instance}`];
  const text = input?.text !== undefined && !("text_uri" in input) ? input.text : undefined;
  return [
    ...labelFitsTask(label, row.task, {
      ...(text !== undefined ? { text } : {}),
      ...(input?.image ? { image: input.image } : {}),
    }),
    ...labelsOutsideSet(label, row.labelSet).map(
      (l) => `label ${JSON.stringify(l)} is not in the route's labels`,
    ),
  ];
}

const NO_CAPTURE = "no capture with this id (require_capture is set)";

type ItemOutcome =
  | { index: number; capture_id: string; instance: number; outcome: "stored" | "unchanged" | "pending" }
  | { index: number; outcome: "rejected"; problems: string[]; capture_id?: string };

/** POST /v1/ground-truth: one label or {"items": [...]}, from any system that knows the truth. */
export async function postGroundTruth(raw: unknown, deps: HandlerDeps): Promise<Reply> {
  const parsed = parseGroundTruthBody(raw, new Date());
  if (!parsed.ok) return problem(400, parsed.error);
  const outcomes: ItemOutcome[] = [];
  const accepted: Array<{ index: number; item: GroundTruthItem; pending: boolean }> = [];
  for (const [index, r] of parsed.items.entries()) {
    if (!r.ok) {
      outcomes.push({ index, outcome: "rejected", problems: r.problems });
      continue;
    }
    const row = await deps.captures.getCapture(r.item.captureId);
    const problems = row
      ? fitProblems(r.item.label, row, r.item.instance)
      : r.item.requireCapture
        ? [NO_CAPTURE]
        : [];
    if (problems.length > 0) {
      outcomes.push({ index, outcome: "rejected", problems, capture_id: r.item.captureId });
    } else accepted.push({ index, item: r.item, pending: !row });
  }
  for (const a of accepted) {
    // One statement per item: "unchanged" must be told apart from "stored" per item.
    const { captureId, instance, source, label, labeledAt } = a.item;
    const changed = await deps.groundTruth.upsertGroundTruth([
      { captureId, instance, source, sourceRef: "", label, labeledAt },
    ]);
    outcomes.push({
      index: a.index,
      capture_id: a.item.captureId,
      instance: a.item.instance,
      outcome: a.pending ? "pending" : changed ? "stored" : "unchanged",
    });
  }
  outcomes.sort((x, y) => x.index - y.index);
  // The metric's source label is "api" for every caller-named source: callers may invent many.
  for (const o of outcomes) deps.metrics.groundTruth.inc({ source: "api", outcome: o.outcome });
  const rejected = outcomes.filter((o) => o.outcome === "rejected").length;
  const pending = outcomes.filter((o) => o.outcome === "pending").length;
  if (!parsed.batch) {
    const o = outcomes[0]!;
    if (o.outcome === "rejected") {
      const missing = o.problems.length === 1 && o.problems[0] === NO_CAPTURE;
      return {
        status: missing ? 404 : 422,
        body: { error: missing ? "unknown capture" : "label rejected", ...o },
      };
    }
    return {
      status: o.outcome === "pending" ? 202 : 200,
      body: {
        ...o,
        ...(o.outcome === "pending"
          ? {
              note: "no capture with this id yet; the label is kept and joined when the capture is persisted",
            }
          : {}),
      },
    };
  }
  return {
    status: rejected === outcomes.length ? 422 : 200,
    body: { accepted: outcomes.length - rejected, rejected, pending, items: outcomes },
  };
}

/** GET /v1/ground-truth/<capture id>: every label version kept for a capture. */
export async function getGroundTruth(captureId: string, deps: HandlerDeps): Promise<Reply> {
  const rows = await deps.groundTruth.groundTruthFor(captureId);
  const capture = await deps.captures.getCapture(captureId);
  return {
    status: 200,
    body: {
      capture_id: captureId,
      capture_persisted: capture !== undefined,
      ground_truth: rows.map((r) => groundTruthJson(r, capture)),
    },
  };
}

/**
 * One stored label as JSON. With the capture at hand, a label that does not fit it (one that arrived
 * before its capture, so could not be checked then) carries its problems.
 */
export function groundTruthJson(r: GroundTruthRow, capture?: CaptureRow) {
  const problems = capture && r.label && !r.deleted ? fitProblems(r.label, capture, r.instance) : [];
  return {
    instance: r.instance,
    source: r.source,
    source_ref: r.sourceRef || null,
    label: r.deleted ? null : r.label,
    deleted: r.deleted,
    labeled_at: r.labeledAt.toISOString(),
    received_at: r.receivedAt.toISOString(),
    ...(problems.length ? { problems } : {}),
  };
}

/** POST /v1/labeling/webhook: the labeling tool's annotation events. */
export async function postWebhook(raw: unknown, deps: HandlerDeps): Promise<Reply> {
  const source = deps.backend.source;
  let event;
  try {
    event = deps.backend.parseWebhook(raw);
  } catch (err) {
    if (!(err instanceof LabelingPayloadError)) throw err;
    deps.metrics.groundTruth.inc({ source, outcome: "rejected" });
    deps.log.warn({ reason: err.message }, "malformed labeling webhook payload");
    return problem(400, err.message);
  }
  if (event.kind === "ignored") return { status: 200, body: { outcome: "ignored", reason: event.reason } };
  if (event.kind === "delete") {
    const n = await deps.groundTruth.deleteGroundTruth(source, event.sourceRefs, event.at);
    deps.metrics.groundTruth.inc({ source, outcome: "deleted" }, n);
    return { status: 200, body: { outcome: "deleted", deleted: n } };
  }
  const applied = await applyAnnotation(event, deps);
  if (applied.outcome === "unknown") return problem(404, applied.reason);
  if (applied.outcome === "rejected") return problem(400, applied.reason);
  return {
    status: 200,
    body: { outcome: applied.outcome, capture_id: event.captureId, instance: event.instance },
  };
}

export type AppliedAnnotation =
  { outcome: "stored" | "unchanged" } | { outcome: "unknown" | "rejected"; reason: string };

/**
 * Store one annotation from the labeling tool as ground truth: converted against the capture's
 * task and input, kept only if not older than what is stored. Used by the webhook and the
 * reconciler alike.
 */
export async function applyAnnotation(
  a: { captureId: string; instance: number; sourceRef: string; labeledAt: Date; result: unknown },
  deps: HandlerDeps,
): Promise<AppliedAnnotation> {
  const source = deps.backend.source;
  const row = await deps.captures.getCapture(a.captureId);
  const input = row?.analysis?.instances[a.instance]?.input;
  if (!row || !input) {
    deps.metrics.groundTruth.inc({ source, outcome: "rejected" });
    deps.log.warn({ request_id: a.captureId, instance: a.instance }, "annotation for an unknown capture");
    return { outcome: "unknown", reason: `no capture ${a.captureId} instance ${a.instance}` };
  }
  const subject = input.image
    ? { kind: "image" as const, width: input.image.width, height: input.image.height }
    : { kind: "text" as const, text: input.text ?? "" };
  let label: Prediction;
  try {
    label = deps.backend.toLabel(row.task as Task, a.result, subject);
  } catch (err) {
    if (!(err instanceof LabelingPayloadError)) throw err;
    deps.metrics.groundTruth.inc({ source, outcome: "rejected" });
    deps.log.warn({ request_id: a.captureId, reason: err.message }, "annotation could not be converted");
    return { outcome: "rejected", reason: err.message };
  }
  const changed = await deps.groundTruth.upsertGroundTruth([
    {
      captureId: a.captureId,
      instance: a.instance,
      source,
      sourceRef: a.sourceRef,
      label,
      labeledAt: a.labeledAt,
    },
  ]);
  const outcome = changed ? "stored" : "unchanged";
  deps.metrics.groundTruth.inc({ source, outcome });
  deps.log.info(
    { request_id: a.captureId, annotation: a.sourceRef, outcome },
    "ground truth from labeling tool",
  );
  return { outcome };
}

/**
 * GET /v1/media?capture=<id>&instance=<n>: the input image of one instance (signature checked by
 * the caller): its stored object, or for older captures the image re-read from the request.
 */
export async function getMedia(captureId: string, instance: number, deps: HandlerDeps): Promise<Reply> {
  const row = await deps.captures.getCapture(captureId);
  if (!row) return problem(404, "no image for this capture instance");
  const found = await storedImage(row, instance, deps.blobs, deps.plugins.parsers);
  if ("missing" in found) {
    if (found.cause !== undefined) {
      deps.log.warn(
        { request_id: captureId, err: found.cause },
        "could not re-read the image from the request",
      );
    }
    return problem(404, found.missing);
  }
  return { status: 200, body: null, bytes: found };
}
