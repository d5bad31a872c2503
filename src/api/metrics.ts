/** Metrics of `modeltap api`: the ground-truth API, the labeling webhook and the label exporter (docs/metrics.md). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export function createApiMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "modeltap_api_" });
  return {
    registry,
    requests: new Counter({
      name: "modeltap_api_requests_total",
      help: "HTTP requests by endpoint and status code",
      labelNames: ["endpoint", "code"],
      registers: [registry],
    }),
    requestSeconds: new Histogram({
      name: "modeltap_api_request_seconds",
      help: "Time from a request's arrival to its answer (for the webhook: to the ground-truth row committed)",
      labelNames: ["endpoint"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    groundTruth: new Counter({
      name: "modeltap_ground_truth_total",
      help: "Ground-truth labels received, by source and outcome (stored, pending, unchanged, deleted, rejected)",
      labelNames: ["source", "outcome"],
      registers: [registry],
    }),
    webhookRefused: new Counter({
      name: "modeltap_labeling_annotations_refused_total",
      help: "Annotations from the labeling tool (webhook or reconciler) refused because their task or project is not the one modeltap exported, by reason",
      labelNames: ["reason"],
      registers: [registry],
    }),
    exported: new Counter({
      name: "modeltap_label_exports_total",
      help: "Capture instances handled by the label exporter, by outcome (exported, skipped, retried, failed)",
      labelNames: ["outcome"],
      registers: [registry],
    }),
    exportSeconds: new Histogram({
      name: "modeltap_label_export_batch_seconds",
      help: "Time to export one batch to the labeling tool (project check + task import)",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    queue: new Gauge({
      name: "modeltap_label_export_queue",
      help: "Label-export queue rows by state (sampled every exporter pass)",
      labelNames: ["state"],
      registers: [registry],
    }),
  };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;
