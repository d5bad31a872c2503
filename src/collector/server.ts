/** The collector process: ext_proc gRPC server + publish buffer + health/metrics endpoint. */
import * as grpc from "@grpc/grpc-js";
import { captureId } from "../core/capture-id.js";
import type { RecordPublisher } from "../core/ports.js";
import { RouteResolver } from "../core/capture/route-resolver.js";
import type { PluginRegistry } from "../plugins/registry.js";
import type { Logger } from "../log.js";
import { hostPort } from "../listen-address.js";
import { loadExternalProcessorService, type ProcessCall } from "./ext-proc.js";
import { healthHandlers, loadHealthService } from "./health.js";
import { raiseReceiveWindows } from "./http2-window.js";
import { randomPool } from "./random-pool.js";
import type { CollectorMetrics } from "./metrics.js";
import { handleProcessStream } from "./process-stream.js";
import { PublishQueue } from "./publish-queue.js";

export interface CollectorOptions {
  host: string;
  port: number;
  /** PEM contents; undefined: plaintext. clientCa set: clients must present a certificate it signed. */
  tls?: { cert: Buffer; key: Buffer; clientCa?: Buffer };
  secretHeaders: ReadonlySet<string>;
  /** Query parameters redacted from captured paths (lower-case); default the built-in list. */
  secretQueryParams?: ReadonlySet<string>;
  buffer: { maxRecords: number; maxBytes: number; maxAttempts: number; window: number };
  /** Seed of the sampling hash (MODELTAP_SAMPLING_SEED). */
  samplingSeed: bigint;
  /** HTTP/2 receive window per stream and per connection, bytes (MODELTAP_COLLECTOR_HTTP2_WINDOW). */
  http2Window: number;
}

export interface Collector {
  readonly port: number;
  readonly queue: PublishQueue;
  stop(drainMs: number): Promise<void>;
}

function serverCredentials(tls: CollectorOptions["tls"]): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(
    tls.clientCa ?? null,
    [{ cert_chain: tls.cert, private_key: tls.key }],
    tls.clientCa !== undefined,
  );
}

export async function startCollector(
  options: CollectorOptions,
  publisher: RecordPublisher,
  plugins: PluginRegistry,
  metrics: CollectorMetrics,
  log: Logger,
): Promise<Collector> {
  const queue = new PublishQueue(
    publisher,
    { ...options.buffer, concurrency: options.buffer.window },
    metrics,
    log,
  );
  const resolver = new RouteResolver(plugins);
  const captureEntropy = randomPool(10);
  const parsers = plugins.detectionOrder();
  const server = new grpc.Server({
    "grpc.max_receive_message_length": 64 * 1024 * 1024,
    "grpc.keepalive_time_ms": 30_000,
    // Channelz (grpc-js's per-call introspection) is not served here; tracking it cost about 3%
    // of the collector's CPU at 1.0 sampling.
    "grpc.enable_channelz": 0,
  });
  const windowEveryConnection = raiseReceiveWindows(server, options.http2Window);
  server.addService(loadExternalProcessorService(), {
    Process: (call: ProcessCall) =>
      handleProcessStream(call, {
        resolver,
        parsers,
        secretHeaders: options.secretHeaders,
        ...(options.secretQueryParams ? { secretQueryParams: options.secretQueryParams } : {}),
        metrics,
        log,
        onRecord: (record) => queue.enqueue(record),
        samplingSeed: options.samplingSeed,
        newCaptureId: () => captureId(Date.now(), captureEntropy()),
        random: Math.random,
        nowUs: () => Math.round((performance.timeOrigin + performance.now()) * 1000),
      }),
  });
  let serving = true;
  server.addService(
    loadHealthService(),
    healthHandlers(() => serving),
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(hostPort(options.host, options.port), serverCredentials(options.tls), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  windowEveryConnection();
  log.info({ port, http2Window: options.http2Window }, "collector listening for Envoy ext_proc");
  return {
    port,
    queue,
    async stop(drainMs: number) {
      serving = false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000);
        server.tryShutdown(() => {
          clearTimeout(t);
          resolve();
        });
      });
      await queue.drain(drainMs);
    },
  };
}
