/** The worker's Prometheus metrics (documented in docs/metrics.md). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** What the durable consumer still has to deliver and to have acknowledged (read at scrape time). */
export type ConsumerBacklog = () => Promise<{ pending: number; ackPending: number; dlq: number } | undefined>;

export function createWorkerMetrics() {
  const registry = new Registry();
  let backlog: ConsumerBacklog = async () => undefined;
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
    profilePartials: new Counter({
      name: "modeltap_worker_profile_partials_total",
      help: "Partial monitoring profiles built for the captures a batch inserted (one per model, version and minute), written in the same transaction",
      registers: [registry],
    }),
    profileErrors: new Counter({
      name: "modeltap_worker_profile_errors_total",
      help: "Captures that could not be profiled for monitoring (stored all the same)",
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
    outageBatches: new Counter({
      name: "modeltap_worker_outage_batches_total",
      help: "Batches put back because the database or the object store did not answer",
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
    consumerPending: new Gauge({
      name: "modeltap_worker_consumer_pending",
      help: "Capture messages in the stream not yet delivered to the workers' durable consumer (consumer lag)",
      registers: [registry],
      async collect() {
        const b = await backlog().catch(() => undefined);
        if (b) this.set(b.pending);
      },
    }),
    consumerAckPending: new Gauge({
      name: "modeltap_worker_consumer_ack_pending",
      help: "Capture messages delivered to a worker and not yet acknowledged",
      registers: [registry],
      async collect() {
        const b = await backlog().catch(() => undefined);
        if (b) this.set(b.ackPending);
      },
    }),
    dlqMessages: new Gauge({
      name: "modeltap_worker_dlq_messages",
      help: "Messages held in the dead-letter stream MODELTAP_DLQ",
      registers: [registry],
      async collect() {
        const b = await backlog().catch(() => undefined);
        if (b) this.set(b.dlq);
      },
    }),
    /** Where the consumer gauges read from (set once the worker is connected). */
    setBacklogSource(source: ConsumerBacklog): void {
      backlog = source;
    },
    lagSeconds: new Histogram({
      name: "modeltap_worker_capture_lag_seconds",
      help: "From the exchange's end to its row being committed",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
