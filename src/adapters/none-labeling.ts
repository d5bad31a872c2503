/**
 * The "none" labeling backend: no labeling tool. Captures chosen by label_rate are marked skipped;
 * ground truth still arrives through POST /v1/ground-truth.
 */
import { type LabelingBackend } from "../core/ports.js";
import { LabelingPayloadError } from "../core/errors.js";

const refuse = (): never => {
  throw new LabelingPayloadError("no labeling tool is configured (MODELTAP_LABELING=none)");
};

export const noneBackend: LabelingBackend = {
  name: "none",
  source: "none",
  ensureProject: () => Promise.reject(new Error("MODELTAP_LABELING=none has no projects")),
  createTasks: () => Promise.reject(new Error("MODELTAP_LABELING=none has no tasks")),
  listAnnotations: () => Promise.resolve([]),
  parseWebhook: refuse,
  toLabel: refuse,
};
