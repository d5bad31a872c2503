/**
 * The label exporter: off the capture path, it claims due rows of the label-export queue (filled by
 * the worker with the captures chosen by label_rate), makes sure the model's project exists, and
 * creates the tasks in one batch per model. A claim is a lease: if the exporter dies mid-batch, the
 * rows come due again and the backend looks for tasks it already made, so a capture never becomes
 * two tasks. Failures retry with backoff, then end as "failed".
 */
import { setTimeout as sleep } from "node:timers/promises";
import { errorMessage } from "../core/errors.js";
import { taskKey, type LabelTask, type LabelingBackend } from "../core/ports.js";
import { ProjectGoneError } from "../core/errors.js";
import type {
  CaptureRepository,
  ExportClaim,
  LabelExportRepository,
  LabelingProject,
} from "../core/ports.js";
import { HUMAN_LABELED_TASKS, type Task } from "../core/canonical.js";
import type { Logger } from "../log.js";
import type { ApiMetrics } from "./metrics.js";

export interface ExporterDeps {
  queue: LabelExportRepository;
  captures: CaptureRepository;
  backend: LabelingBackend;
  mediaUrl(captureId: string, instance: number): string;
  metrics: ApiMetrics;
  log: Logger;
  batch: number;
  /** How long a claim holds before another exporter (or this one, restarted) may take it over. */
  leaseMs: number;
  maxAttempts: number;
  /** Models whose project this process has checked in the tool (exists, webhook current). Given,
   * each model's project is checked once per process, so a rotated secret or a new public URL
   * reaches the webhook after a restart. */
  verifiedProjects?: Set<string>;
}

export interface PassResult {
  claimed: number;
  exported: number;
  skipped: number;
  retried: number;
}

const backoffMs = (attempts: number) => Math.min(1000 * 2 ** (attempts - 1), 5 * 60_000);

type Built = { claim: ExportClaim; task: LabelTask; labels: string[] } | { claim: ExportClaim; skip: string };

async function build(claim: ExportClaim, deps: ExporterDeps): Promise<Built> {
  const row = await deps.captures.getCapture(claim.captureId);
  if (!row) return { claim, skip: "capture not found" };
  const task = row.task as Task;
  if (!HUMAN_LABELED_TASKS.has(task)) return { claim, skip: `task ${row.task} is not labeled by people` };
  const inst = row.analysis?.instances[claim.instance];
  if (!inst) return { claim, skip: `capture has no instance ${claim.instance}` };
  const input = inst.input as typeof inst.input & { text_uri?: string };
  let subject: LabelTask["subject"];
  if (input.image) {
    subject = {
      kind: "image",
      width: input.image.width,
      height: input.image.height,
      url: deps.mediaUrl(claim.captureId, claim.instance),
    };
  } else if (input.text !== undefined && input.text_uri === undefined) {
    subject = { kind: "text", text: input.text };
  } else if (input.text !== undefined) {
    return { claim, skip: "input text is stored in object storage (too long to label inline)" };
  } else {
    return { claim, skip: "instance has neither an image nor a text to label" };
  }
  return {
    claim,
    labels: row.labelSet,
    task: {
      captureId: claim.captureId,
      instance: claim.instance,
      model: row.model,
      version: row.version,
      task,
      subject,
      prediction: inst.prediction,
    },
  };
}

/** One pass: claim a batch, export it, settle every claimed row. */
export async function exportPass(deps: ExporterDeps): Promise<PassResult> {
  const claims = await deps.queue.claimExports(deps.batch, deps.leaseMs);
  const result: PassResult = { claimed: claims.length, exported: 0, skipped: 0, retried: 0 };
  if (claims.length === 0) return result;
  if (deps.backend.name === "none") {
    await deps.queue.markSkipped(claims, "labeling backend is none");
    result.skipped = claims.length;
    deps.metrics.exported.inc({ outcome: "skipped" }, claims.length);
    return result;
  }
  const built = await Promise.all(claims.map((c) => build(c, deps)));
  const skipped = built.filter((b): b is Extract<Built, { skip: string }> => "skip" in b);
  for (const s of skipped) {
    deps.log.warn({ capture_id: s.claim.captureId, reason: s.skip }, "capture not exported for labeling");
    await deps.queue.markSkipped([s.claim], s.skip);
  }
  result.skipped = skipped.length;
  deps.metrics.exported.inc({ outcome: "skipped" }, skipped.length);
  // One batch per model and task (a model whose task changed gets a project for the new task).
  const batches = new Map<string, Array<Extract<Built, { task: LabelTask }>>>();
  for (const b of built) {
    if (!("task" in b)) continue;
    const key = `${b.task.model}\n${b.task.task}`;
    const list = batches.get(key) ?? [];
    list.push(b);
    batches.set(key, list);
  }
  for (const items of batches.values()) {
    const started = performance.now();
    const claimsOf = items.map((i) => i.claim);
    const { model, task } = items[0]!.task;
    try {
      const labels = [...new Set(items.flatMap((i) => i.labels))];
      const project = async (existing: LabelingProject | undefined): Promise<string> => {
        const projectRef = await deps.backend.ensureProject(model, task, labels, existing);
        const labelSet = [...new Set([...(existing?.task === task ? existing.labelSet : []), ...labels])];
        await deps.queue.saveProject({ backend: deps.backend.name, model, projectRef, task, labelSet });
        deps.log.info({ model, project: projectRef }, "labeling project ready");
        return projectRef;
      };
      // Under a lock: two exporters meeting a new model must not make two projects.
      let projectRef = await deps.queue.withProjectLock(deps.backend.name, model, async () => {
        const existing = await deps.queue.getProject(deps.backend.name, model);
        const grows = existing && labels.some((l) => !existing.labelSet.includes(l));
        const unverified = deps.verifiedProjects !== undefined && !deps.verifiedProjects.has(model);
        return !existing || existing.task !== task || grows || unverified
          ? await project(existing)
          : existing.projectRef;
      });
      deps.verifiedProjects?.add(model);
      const mayExist = claimsOf.some((c) => c.attempts > 1);
      const tasks = items.map((i) => i.task);
      let refs;
      try {
        refs = await deps.backend.createTasks(projectRef, tasks, mayExist);
      } catch (err) {
        if (!(err instanceof ProjectGoneError)) throw err;
        // Someone deleted the project in the tool: make a new one and import there.
        deps.log.warn({ model, project: projectRef }, "labeling project is gone; creating it again");
        projectRef = await deps.queue.withProjectLock(deps.backend.name, model, () => project(undefined));
        refs = await deps.backend.createTasks(projectRef, tasks, mayExist);
      }
      await deps.queue.markExported(
        items.map((i) => ({
          captureId: i.claim.captureId,
          instance: i.claim.instance,
          taskRef: refs.get(taskKey(i.claim.captureId, i.claim.instance))!,
          projectRef,
        })),
      );
      result.exported += items.length;
      deps.metrics.exported.inc({ outcome: "exported" }, items.length);
      deps.metrics.exportSeconds.observe((performance.now() - started) / 1000);
    } catch (err) {
      const attempts = Math.max(...claimsOf.map((c) => c.attempts));
      const giveUp = attempts >= deps.maxAttempts;
      const retryAt = giveUp ? null : new Date(Date.now() + backoffMs(attempts));
      await deps.queue.markRetry(claimsOf, errorMessage(err), retryAt);
      result.retried += items.length;
      deps.metrics.exported.inc({ outcome: giveUp ? "failed" : "retried" }, items.length);
      deps.log.warn(
        { err, model, tasks: items.length, attempts, retry_at: retryAt?.toISOString() ?? null },
        giveUp ? "label export failed for good" : "label export failed; will retry",
      );
    }
  }
  return result;
}

/** Run passes until aborted: back to back while there is work, every intervalMs when idle. */
export async function runExporter(
  deps: ExporterDeps,
  intervalMs: number,
  signal: AbortSignal,
): Promise<void> {
  while (!signal.aborted) {
    let busy = false;
    try {
      const r = await exportPass(deps);
      busy = r.claimed > 0;
      if (busy) deps.log.info(r, "label export pass");
      for (const [state, n] of Object.entries(await deps.queue.exportCounts()))
        deps.metrics.queue.set({ state }, n);
    } catch (err) {
      deps.log.warn({ err }, "label export pass failed; retrying");
    }
    // An abort during the pass has already fired: sleep() still sees it, and leaves no listener behind.
    if (!busy) await sleep(intervalMs, undefined, { signal }).catch(() => undefined);
  }
}
