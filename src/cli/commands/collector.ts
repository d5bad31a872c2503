import { startOpsServer } from "../../adapters/http/ops-server.js";
import { connectNats } from "../../adapters/nats/connection.js";
import { JetStreamRecordPublisher } from "../../adapters/nats/record-publisher.js";
import { ensureTopology } from "../../adapters/nats/streams.js";
import { startCollector } from "../../collector/server.js";
import { createCollectorMetrics } from "../../collector/metrics.js";
import fs from "node:fs";
import type { Config } from "../../config.js";
import { ConfigError } from "../../core/errors.js";
import { PluginRegistry } from "../../plugins/registry.js";
import { loadUserPlugins } from "../../plugins/user-plugins.js";
import { collectorBindProblem } from "../../listen-address.js";
import type { RecordPublisher } from "../../core/ports.js";
import type { Command } from "../command.js";
import { onShutdown } from "../shutdown.js";

/** Read the TLS files named by config once, with a clear error for an unreadable one. */
function collectorTls(config: Config): { tls?: { cert: Buffer; key: Buffer; clientCa?: Buffer } } {
  const { cert, key, clientCa } = config.collectorTls;
  if (!cert) return {};
  const read = (name: string, file: string) => {
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw new ConfigError([`${name}: cannot read ${file}: ${(err as Error).message}`]);
    }
  };
  return {
    tls: {
      cert: read("MODELTAP_COLLECTOR_TLS_CERT", cert),
      key: read("MODELTAP_COLLECTOR_TLS_KEY", key),
      ...(clientCa ? { clientCa: read("MODELTAP_COLLECTOR_TLS_CLIENT_CA", clientCa) } : {}),
    },
  };
}

export const collectorCommand: Command = {
  name: "collector",
  summary: "Run the Envoy ext_proc collector (gRPC) and publish captures to NATS JetStream",
  logs: true,
  examples: ["MODELTAP_NATS_URL=nats://nats:4222 modeltap collector"],
  async run({ config, log }) {
    if (config.samplingSeed === 0n) {
      log.warn(
        "MODELTAP_SAMPLING_SEED is not set: the sampling hash is unseeded, so a client can choose x-request-ids that force or avoid capture (docs/config.md)",
      );
    }
    const insecureBind = collectorBindProblem(config);
    if (insecureBind) throw new ConfigError([insecureBind], "COLLECTOR_INSECURE_BIND");
    if (config.collectorInsecure && config.collectorTls.cert === "") {
      log.warn({ host: config.hosts.collector }, "MODELTAP_COLLECTOR_INSECURE=1: serving plaintext gRPC");
    }
    const metrics = createCollectorMetrics();
    const plugins = new PluginRegistry();
    const loaded = await loadUserPlugins(plugins, config.plugins);
    if (loaded.length) log.info({ plugins: loaded }, "user plugins loaded");
    // Serve Envoy at once; NATS may come later. Until it does, records wait in the bounded buffer.
    let publisher: JetStreamRecordPublisher | undefined;
    const lazy: RecordPublisher = {
      publish: (r) =>
        publisher ? publisher.publish(r) : Promise.reject(new Error("NATS not connected yet")),
      // Nothing is parked before the publisher exists.
      discard: (r) => publisher?.discard(r) ?? Promise.resolve(),
    };
    const collector = await startCollector(
      {
        host: config.hosts.collector,
        port: config.ports.collector,
        ...collectorTls(config),
        secretHeaders: config.secretHeaders,
        secretQueryParams: config.secretQueryParams,
        buffer: config.buffer,
        samplingSeed: config.samplingSeed,
        http2Window: config.collectorHttp2Window,
      },
      lazy,
      plugins,
      metrics,
      log,
    );
    const ops = await startOpsServer(
      config.hosts.collectorMetrics,
      config.ports.collectorMetrics,
      metrics.registry,
      () => publisher !== undefined,
    );
    const nc = connectNats(config.natsUrl, "modeltap-collector", log).then(async (conn) => {
      await ensureTopology(await conn.jetstreamManager(), 30_000);
      publisher = new JetStreamRecordPublisher(conn, config.natsInlineMaxBytes, 5000, () =>
        metrics.analysisParked.inc(),
      );
      log.info("publishing captures to JetStream");
      return conn;
    });
    nc.catch((err: unknown) => log.error({ err }, "NATS setup failed"));
    await onShutdown(log);
    await collector.stop(5000);
    ops.close();
    await (await nc.catch(() => undefined))?.drain();
  },
};
