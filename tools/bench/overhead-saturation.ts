/**
 * The saturation cell of `npm run bench:overhead`: sample rate 1.0 (/bench/s1 on the observability
 * listener) with autocannon at many connections, the worker running. Counts what Envoy started, what
 * the collector captured and dropped, the peak publish buffer and collector RSS, and, once the load
 * ends, waits for the buffer to drain so streams Envoy reset before the collector read them show as
 * lost.
 */
import autocannon from "autocannon";
import { sleep } from "./common.js";
import { CLK_TCK, cpuTicks, envoyStat, metricSum, rssMb, type Body } from "./overhead-cells.js";

export interface SaturationSetup {
  url: string;
  body: Body;
  connections: number;
  seconds: number;
  envoyAdminPort: number;
  /** Envoy's stat prefix of the observability listener's ext_proc filter. */
  extProcStats: string;
  collectorMetricsPort: number;
  workerMetricsPort: number;
  collectorPid: number;
  /** Envoy, collector, NATS, worker, Postgres, SeaweedFS: the whole capture and persistence path. */
  cpuPids: () => number[];
}

export interface SaturationResult {
  requests: number;
  rps: number;
  non2xx: number;
  errors: number;
  streamsStarted: number;
  streamsFailed: number;
  failureModeAllowed: number;
  captured: number;
  collectorDrops: number;
  lost: number;
  /** collector drops + failure_mode_allowed + lost. */
  drops: number;
  peakBufferRecords: number;
  peakCollectorRssMb: number;
  /** Buffer empty and no exchange open, within 120 s of the load's end. */
  drained: boolean;
  /** Seconds after the load until the buffer first read 0 (undefined: not within 120 s). */
  bufferDrainSeconds: number | undefined;
  /** Seconds after the load until the buffer was empty and no exchange was open. */
  drainSeconds: number;
  workerCaughtUp: boolean;
  cpuUsPerExchange: number;
  cpuSecondsMeasured: number;
}

interface Counters {
  started: number;
  failed: number;
  allowed: number;
  captured: number;
  drops: number;
}

async function counters(s: SaturationSetup): Promise<Counters> {
  return {
    started: await envoyStat(s.envoyAdminPort, `${s.extProcStats}.streams_started`),
    failed: await envoyStat(s.envoyAdminPort, `${s.extProcStats}.streams_failed`),
    allowed: await envoyStat(s.envoyAdminPort, `${s.extProcStats}.failure_mode_allowed`),
    captured: await metricSum(s.collectorMetricsPort, "modeltap_captures_total"),
    drops: await metricSum(s.collectorMetricsPort, "modeltap_capture_drops_total"),
  };
}

export async function saturation(s: SaturationSetup): Promise<SaturationResult> {
  const before = await counters(s);
  const cpuBefore = cpuTicks(s.cpuPids());
  let peakBuffer = 0;
  let peakRss = rssMb(s.collectorPid) ?? 0;
  const started = Date.now();
  let lastProgress = started;
  const poll = setInterval(() => {
    void (async () => {
      try {
        const buffer = await metricSum(s.collectorMetricsPort, "modeltap_publish_buffer_records");
        peakBuffer = Math.max(peakBuffer, buffer);
        peakRss = Math.max(peakRss, rssMb(s.collectorPid) ?? 0);
        if (Date.now() - lastProgress >= 10_000 && Date.now() - started < s.seconds * 1000) {
          lastProgress = Date.now();
          const captured =
            (await metricSum(s.collectorMetricsPort, "modeltap_captures_total")) - before.captured;
          console.error(
            `[bench] saturation ${Math.round((Date.now() - started) / 1000)}/${s.seconds} s: buffer ${buffer} records (peak ${peakBuffer}), collector RSS ${peakRss.toFixed(0)} MB peak, ${captured} captured`,
          );
        }
      } catch {
        /* a missed poll: the next one counts */
      }
    })();
  }, 1000);
  let result: autocannon.Result;
  try {
    result = await autocannon({
      url: s.url,
      method: "POST",
      headers: { "content-type": s.body.contentType },
      body: s.body.data,
      connections: s.connections,
      duration: s.seconds,
    });
    // After the load: until the collector's buffer is empty and no exchange is open, in the
    // collector or still held in Envoy (at most 120 s). The buffer's drain time is when it first
    // reads 0; streams Envoy still holds (up to deferred_close_timeout) are waited for too, so none
    // is counted lost while still readable.
    const drainStart = Date.now();
    let bufferDrainSeconds: number | undefined;
    let drained = false;
    while (Date.now() - drainStart < 120_000) {
      const buffer = await metricSum(s.collectorMetricsPort, "modeltap_publish_buffer_records");
      // Streams Envoy still holds for the collector: not read yet, not lost either.
      const open =
        (await metricSum(s.collectorMetricsPort, "modeltap_active_exchanges")) +
        (await envoyStat(s.envoyAdminPort, "cluster.modeltap_collector.upstream_rq_active"));
      if (buffer === 0) bufferDrainSeconds ??= (Date.now() - drainStart) / 1000;
      if (buffer + open === 0) {
        drained = true;
        break;
      }
      await sleep(500);
    }
    const drainSeconds = (Date.now() - drainStart) / 1000;
    clearInterval(poll);
    // The worker's share of the persistence of these exchanges, within the same 120 s.
    let workerCaughtUp = false;
    while (Date.now() - drainStart < 120_000) {
      const pending =
        (await metricSum(s.workerMetricsPort, "modeltap_worker_consumer_pending")) +
        (await metricSum(s.workerMetricsPort, "modeltap_worker_consumer_ack_pending"));
      if (pending === 0) {
        workerCaughtUp = true;
        break;
      }
      await sleep(500);
    }
    const cpuTicksUsed = cpuTicks(s.cpuPids()) - cpuBefore;
    const after = await counters(s);
    const streamsStarted = after.started - before.started;
    const captured = after.captured - before.captured;
    const collectorDrops = after.drops - before.drops;
    const failureModeAllowed = after.allowed - before.allowed;
    const lost = Math.max(0, streamsStarted - captured);
    const requests = result.requests.total;
    return {
      requests,
      rps: result.requests.average,
      non2xx: result.non2xx,
      errors: result.errors,
      streamsStarted,
      streamsFailed: after.failed - before.failed,
      failureModeAllowed,
      captured,
      collectorDrops,
      lost,
      drops: collectorDrops + failureModeAllowed + lost,
      peakBufferRecords: peakBuffer,
      peakCollectorRssMb: peakRss,
      drained,
      bufferDrainSeconds,
      drainSeconds,
      workerCaughtUp,
      cpuUsPerExchange: requests ? ((cpuTicksUsed / CLK_TCK) * 1e6) / requests : 0,
      cpuSecondsMeasured: cpuTicksUsed / CLK_TCK,
    };
  } finally {
    clearInterval(poll);
  }
}
