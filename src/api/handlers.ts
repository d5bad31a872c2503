/**
 * The request handlers of `modeltap api`, transport-free: each takes parsed input and returns a
 * status and a JSON body, so the HTTP layer (server.ts) stays a thin router.
 */
import type { Instance, Prediction } from "../core/canonical.js";
import { isCaptureId } from "../core/capture-id.js";
import { parseGroundTruthBody, type GroundTruthItem } from "../core/ground-truth/items.js";
import { labelFitsTask, labelsOutsideSet } from "../core/ground-truth/label.js";
import { type LabelingBackend } from "../core/ports.js";
import { LabelingPayloadError } from "../core/errors.js";
import type { CaptureRow } from "../core/ports.js";
import type {
  BlobStore,
  CaptureRepository,
  GroundTruthRepository,
  GroundTruthRow,
  LabelExportRepository,
} from "../core/ports.js";
import type { PluginCatalog } from "../core/route-config.js";
import type { Task } from "../core/canonical.js";
import type { Logger } from "../log.js";
import type { ApiMetrics } from "./metrics.js";
import { storedImage } from "./stored-media.js";

export interface HandlerDeps {
  captures: CaptureRepository;
  groundTruth: GroundTruthRepository;
  /** What modeltap exported to the labeling tool: an annotation is taken only for those tasks. */
  exports: Pick<LabelExportRepository, "exportedTask">;
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

/** A request has at most this many captured hops looked at when a label is posted by request id. */
export const MAX_HOPS = 100;

/** Which capture, or which request (every hop of it), an item is for: as the response names it. */
type Target = { capture_id: string } | { request_id: string; capture_ids: string[] };

type ItemOutcome =
  | ({ index: number; instance: number; outcome: "stored" | "unchanged" | "pending" } & Target)
  | ({ index: number; outcome: "rejected"; problems: string[] } & Partial<Target>);

/**
 * Where an item's label goes, and what stops it. By capture id: that capture. By request id: the
 * request, so every hop of it; the label must fit at least one hop persisted so far (a hop it does
 * not fit, say another model's, shows it with its problems, as any label that does not fit).
 *
 * Before capture ids, a capture's id was its x-request-id, and callers were told to post it as
 * capture_id: a capture_id that names no capture and is not a capture id (a UUIDv7) is taken as the
 * request id it is, so those callers' labels still reach their captures.
 */
async function itemTarget(
  given: GroundTruthItem,
  deps: HandlerDeps,
): Promise<{ item: GroundTruthItem; target: Target; problems: string[]; pending: boolean }> {
  let item = given;
  const missing = item.requireCapture ? [NO_CAPTURE] : [];
  if (item.captureId) {
    const row = await deps.captures.getCapture(item.captureId);
    if (row || isCaptureId(item.captureId)) {
      const problems = row ? fitProblems(item.label, row, item.instance) : missing;
      return { item, target: { capture_id: item.captureId }, problems, pending: !row };
    }
    item = { ...item, requestId: item.captureId, captureId: "" };
  }
  const hops = await deps.captures.listCaptures({ requestId: item.requestId, limit: MAX_HOPS });
  const fits = hops.filter((row) => fitProblems(item.label, row, item.instance).length === 0);
  const problems =
    hops.length === 0
      ? missing
      : fits.length > 0
        ? []
        : hops.flatMap((row) =>
            fitProblems(item.label, row, item.instance).map((p) => `capture ${row.id}: ${p}`),
          );
  return {
    item,
    target: { request_id: item.requestId, capture_ids: fits.map((row) => row.id) },
    problems,
    pending: hops.length === 0,
  };
}

/**
 * POST /v1/ground-truth: one label or {"items": [...]}, from any system that knows the truth.
 * `caller` is the name of the API token used: logged with every write, for audit.
 */
export async function postGroundTruth(raw: unknown, deps: HandlerDeps, caller: string): Promise<Reply> {
  const parsed = parseGroundTruthBody(raw, new Date());
  if (!parsed.ok) return problem(400, parsed.error);
  const outcomes: ItemOutcome[] = [];
  const accepted: Array<{ index: number; item: GroundTruthItem; pending: boolean; target: Target }> = [];
  for (const [index, r] of parsed.items.entries()) {
    if (!r.ok) {
      outcomes.push({ index, outcome: "rejected", problems: r.problems });
      continue;
    }
    const { item, target, problems, pending } = await itemTarget(r.item, deps);
    if (problems.length > 0) outcomes.push({ index, outcome: "rejected", problems, ...target });
    else accepted.push({ index, item, pending, target });
  }
  for (const a of accepted) {
    // One statement per item: "unchanged" must be told apart from "stored" per item.
    const { captureId, requestId, instance, source, label, labeledAt } = a.item;
    const changed = await deps.groundTruth.upsertGroundTruth([
      { captureId, requestId, instance, source, sourceRef: "", label, labeledAt },
    ]);
    const outcome = a.pending ? "pending" : changed ? "stored" : "unchanged";
    outcomes.push({ index: a.index, ...a.target, instance, outcome });
    deps.log.info(
      {
        token: caller,
        capture_id: captureId || undefined,
        request_id: requestId || undefined,
        instance,
        source,
        outcome,
      },
      "ground truth from the api",
    );
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
              note: "no capture with this id yet; the label is kept and joined when the capture is persisted (by request id: every hop of the request)",
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
  const capture = await deps.captures.getCapture(captureId);
  // No such capture: the id may be a request's, with labels posted for it ahead of its captures.
  const requestId = capture ? capture.requestId : isCaptureId(captureId) ? "" : captureId;
  const rows = await deps.groundTruth.groundTruthFor(captureId, requestId);
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
    // Only labels of tasks exported to the sending project: a delivery cannot reach other projects'.
    const n = await deps.groundTruth.deleteGroundTruth(source, event.sourceRefs, event.at, event.projectRef);
    deps.metrics.groundTruth.inc({ source, outcome: "deleted" }, n);
    return { status: 200, body: { outcome: "deleted", deleted: n } };
  }
  const applied = await applyAnnotation(event, deps);
  if (applied.outcome === "unknown") return problem(404, applied.reason);
  if (applied.outcome === "refused") return problem(403, applied.reason, { outcome: "rejected" });
  if (applied.outcome === "rejected") return problem(400, applied.reason);
  return {
    status: 200,
    body: { outcome: applied.outcome, capture_id: event.captureId, instance: event.instance },
  };
}

export type AppliedAnnotation =
  { outcome: "stored" | "unchanged" } | { outcome: "unknown" | "rejected" | "refused"; reason: string };

/** An annotation as the webhook and the reconciler hand it over. */
export interface IncomingAnnotation {
  captureId: string;
  instance: number;
  taskRef: string;
  projectRef: string;
  sourceRef: string;
  labeledAt: Date;
  result: unknown;
}

/**
 * Store one annotation from the labeling tool as ground truth: only on a task modeltap exported for
 * that capture instance, in that project (anyone who can add tasks to a project could otherwise
 * label any capture); converted against the capture's task and input, kept only if not older than
 * what is stored. Used by the webhook and the reconciler alike.
 */
export async function applyAnnotation(a: IncomingAnnotation, deps: HandlerDeps): Promise<AppliedAnnotation> {
  const source = deps.backend.source;
  const exported = await deps.exports.exportedTask(a.captureId, a.instance);
  if (exported?.taskRef !== a.taskRef || exported.projectRef !== a.projectRef) {
    deps.metrics.groundTruth.inc({ source, outcome: "rejected" });
    deps.metrics.webhookRefused.inc({ reason: "not_exported" });
    deps.log.warn(
      {
        capture_id: a.captureId,
        instance: a.instance,
        task: a.taskRef,
        project: a.projectRef,
        annotation: a.sourceRef,
        exported_task: exported?.taskRef ?? null,
        exported_project: exported?.projectRef ?? null,
      },
      "annotation on a task modeltap did not export; ignored",
    );
    return {
      outcome: "refused",
      reason: `task ${a.taskRef} of project ${a.projectRef} is not the task modeltap exported for capture ${a.captureId} instance ${a.instance}`,
    };
  }
  const row = await deps.captures.getCapture(a.captureId);
  const input = row?.analysis?.instances[a.instance]?.input;
  if (!row || !input) {
    deps.metrics.groundTruth.inc({ source, outcome: "rejected" });
    deps.log.warn({ capture_id: a.captureId, instance: a.instance }, "annotation for an unknown capture");
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
    deps.log.warn({ capture_id: a.captureId, reason: err.message }, "annotation could not be converted");
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
    { capture_id: a.captureId, annotation: a.sourceRef, outcome },
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
        { capture_id: captureId, err: found.cause },
        "could not re-read the image from the request",
      );
    }
    return problem(404, found.missing);
  }
  return { status: 200, body: null, bytes: found };
}
