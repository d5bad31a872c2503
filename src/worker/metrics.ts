/** The worker's Prometheus metrics (documented in docs/metrics.md). */
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export function createWorkerMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "modeltap_worker_" });
  return {
    registry,
    batchSize: new Histogram({
      name: "modeltap_worker_batch_size",
      help: "Messages per fetched batch",
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000],
      registers: [registry],
    }),
    persisted: new Counter({
      name: "modeltap_worker_persisted_total",
      help: "Capture records persisted (rows inserted; redelivered duplicates not counted)",
      registers: [registry],
    }),
    duplicates: new Counter({
      name: "modeltap_worker_duplicates_total",
      help: "Redelivered records whose row already existed",
      registers: [registry],
    }),
    redeliveries: new Counter({
      name: "modeltap_worker_redeliveries_total",
      help: "Messages handed back for redelivery after a failure",
      registers: [registry],
    }),
    deadLettered: new Counter({
      name: "modeltap_worker_dead_lettered_total",
      help: "Messages moved to the dead-letter subject, by reason",
      labelNames: ["reason"] as const,
      registers: [registry],
    }),
    persistSeconds: new Histogram({
      name: "modeltap_worker_persist_seconds",
      help: "Time to persist one batch (objects + rows)",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    lagSeconds: new Histogram({
      name: "modeltap_worker_capture_lag_seconds",
      help: "From the exchange's end to its row being committed",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
