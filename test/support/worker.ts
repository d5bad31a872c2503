/** The worker's dependencies for processBatch, with in-memory ports and quick outage timings. */
import { createLogger } from "../../src/log.js";
import type { BatchDeps } from "../../src/worker/batch.js";
import { createWorkerMetrics } from "../../src/worker/metrics.js";
import { FakeLargeBodyStore } from "./fakes.js";

/**
 * Deps around the given object store and capture index: no large bodies, silent logs, fresh
 * metrics, dependencies up, and outage waits of milliseconds so an outage test ends at once.
 */
export function batchDeps(deps: Pick<BatchDeps, "blobs" | "repo"> & Partial<BatchDeps>): BatchDeps {
  return {
    largeBodies: new FakeLargeBodyStore(),
    metrics: createWorkerMetrics(),
    log: createLogger("silent", "test"),
    maxDeliver: 3,
    concurrency: 4,
    rowInlineMaxBytes: 0,
    dependenciesUp: async () => true,
    outagePollMs: 1,
    outageMaxWaitMs: 5,
    ...deps,
  };
}
