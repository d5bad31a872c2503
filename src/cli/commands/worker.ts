import { startOpsServer } from "../../adapters/http/ops-server.js";
import { connectNats } from "../../adapters/nats/connection.js";
import { consumeCaptures, prefetchFor } from "../../adapters/nats/consumer.js";
import { JetStreamLargeBodyStore } from "../../adapters/nats/record-publisher.js";
import { DLQ_STREAM, STREAM, WORKER_DURABLE, ensureTopology } from "../../adapters/nats/streams.js";
import { createObjectStore, openDatabase } from "../../adapters/registry.js";
import { processBatch } from "../../worker/batch.js";
import { createWorkerMetrics } from "../../worker/metrics.js";
import { WorkerProfiles } from "../../worker/profiles.js";
import type { Command } from "../command.js";
import { onShutdown } from "../shutdown.js";

export const workerCommand: Command = {
  name: "worker",
  summary: "Persist captures from JetStream: bodies to object storage, rows to the database",
  logs: true,
  examples: ["MODELTAP_DATABASE_URL=postgres://modeltap@db/modeltap MODELTAP_S3_ENDPOINT= modeltap worker"],
  async run({ config, log }) {
    const metrics = createWorkerMetrics();
    const db = openDatabase(config, config.worker.parallel + 4);
    await db.assertMigrated();
    const blobs = createObjectStore(config);
    await blobs.ready();
    let ready = false;
    const ops = config.ports.workerMetrics
      ? await startOpsServer(
          config.hosts.workerMetrics,
          config.ports.workerMetrics,
          metrics.registry,
          () => ready,
        )
      : undefined;
    const nc = await connectNats(config.natsUrl, "modeltap-worker", log);
    const jsm = await nc.jetstreamManager();
    await ensureTopology(jsm, 30_000);
    metrics.setBacklogSource(async () => {
      const [c, dlq] = await Promise.all([
        jsm.consumers.info(STREAM, WORKER_DURABLE),
        jsm.streams.info(DLQ_STREAM),
      ]);
      return { pending: c.num_pending, ackPending: c.num_ack_pending, dlq: dlq.state.messages };
    });
    const deps = {
      blobs,
      repo: db.captures,
      largeBodies: new JetStreamLargeBodyStore(nc.jetstream()),
      metrics,
      log,
      maxDeliver: config.worker.maxDeliver,
      concurrency: config.worker.concurrency,
      rowInlineMaxBytes: config.worker.rowInlineMaxBytes,
      dependenciesUp: async () => {
        const answers = await Promise.allSettled([db.ping(), blobs.ping()]);
        return answers.every((a) => a.status === "fulfilled");
      },
      outagePollMs: 1000,
      outageMaxWaitMs: 15_000,
      profiles: new WorkerProfiles(db.monitor, {
        metrics,
        log,
        refusalPatterns: config.monitor.refusalPatterns,
        refreshMs: 15_000,
      }),
    };
    const abort = new AbortController();
    ready = true;
    log.info({ batch: config.worker.batch }, "worker consuming captures");
    const loop = consumeCaptures(
      nc,
      {
        batch: config.worker.batch,
        lingerMs: 20,
        parallel: config.worker.parallel,
        prefetch: prefetchFor(config.worker.batch, config.worker.parallel, config.natsInlineMaxBytes),
      },
      (batch) => processBatch(batch, deps),
      log,
      abort.signal,
    );
    await onShutdown(log);
    abort.abort();
    await loop;
    await nc.drain();
    await db.close();
    blobs.destroy();
    ops?.close();
  },
};
