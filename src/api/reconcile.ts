/**
 * The reconciler: the labeling tool sends each webhook once and never retries, so an annotation
 * made while `modeltap api` was down (or unreachable) would be lost. Periodically, and at start,
 * it reads every project's current annotations and applies them through the same path as the
 * webhook: new or changed ones are stored, repeats change nothing, and labels whose annotation is
 * gone from the tool are marked deleted.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { errorMessage } from "../core/errors.js";
import type { LabelExportRepository } from "../core/ports.js";
import { applyAnnotation, type HandlerDeps } from "./handlers.js";

export interface ReconcileResult {
  projects: number;
  stored: number;
  unchanged: number;
  deleted: number;
  rejected: number;
}

export async function reconcilePass(
  deps: HandlerDeps & { queue: LabelExportRepository },
): Promise<ReconcileResult> {
  const result: ReconcileResult = { projects: 0, stored: 0, unchanged: 0, deleted: 0, rejected: 0 };
  const source = deps.backend.source;
  for (const project of await deps.queue.listProjects(deps.backend.name)) {
    const snapshotAt = new Date();
    let annotations;
    try {
      annotations = await deps.backend.listAnnotations(project.projectRef);
    } catch (err) {
      deps.log.warn(
        { model: project.model, project: project.projectRef, err: errorMessage(err) },
        "could not read annotations to reconcile",
      );
      continue;
    }
    result.projects++;
    const current = annotations.filter((a) => !a.cancelled);
    const live = current.map((a) => a.sourceRef);
    // Only what the webhooks missed needs work: annotations not stored, or stored older.
    const stored = await deps.groundTruth.storedVersions(source, live);
    for (const a of current) {
      const have = stored.get(a.sourceRef);
      if (have && have.getTime() >= a.labeledAt.getTime()) {
        result.unchanged++;
        continue;
      }
      // The same checks as a webhook's: only the task modeltap exported, in this project.
      const applied = await applyAnnotation({ ...a, projectRef: project.projectRef }, deps);
      if (applied.outcome === "stored") result.stored++;
      else if (applied.outcome === "unchanged") result.unchanged++;
      else result.rejected++;
    }
    const deleted = await deps.groundTruth.deleteMissing(source, project.projectRef, live, snapshotAt);
    deps.metrics.groundTruth.inc({ source, outcome: "deleted" }, deleted);
    result.deleted += deleted;
  }
  return result;
}

/** Reconcile at start, then every intervalMs, until aborted. */
export async function runReconciler(
  deps: HandlerDeps & { queue: LabelExportRepository },
  intervalMs: number,
  signal: AbortSignal,
): Promise<void> {
  while (!signal.aborted) {
    try {
      const r = await reconcilePass(deps);
      const level = r.stored || r.deleted || r.rejected ? "info" : "debug";
      deps.log[level](r, "reconciled ground truth with the labeling tool");
    } catch (err) {
      deps.log.warn({ err }, "reconcile pass failed; retrying at the next interval");
    }
    await sleep(intervalMs, undefined, { signal }).catch(() => undefined);
  }
}
