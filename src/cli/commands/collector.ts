import { startOpsServer } from "../../adapters/http/ops-server.js";
import { connectNats } from "../../adapters/nats/connection.js";
import { JetStreamRecordPublisher } from "../../adapters/nats/record-publisher.js";
import { ensureTopology } from "../../adapters/nats/streams.js";
import { startCollector } from "../../collector/server.js";
import { createCollectorMetrics } from "../../collector/metrics.js";
import { loadConfig } from "../../config.js";
import { PluginRegistry } from "../../plugins/registry.js";
import { loadUserPlugins } from "../../plugins/user-plugins.js";
import type { RecordPublisher } from "../../core/ports.js";
import { createLogger } from "../../log.js";
import { parseArgs } from "../args.js";
import type { Command } from "../command.js";
import { onShutdown } from "../shutdown.js";

export const collectorCommand: Command = {
  name: "collector",
  usage: "collector",
  summary: "Run the Envoy ext_proc collector (gRPC) and publish captures to NATS JetStream",
  async run(args) {
    parseArgs(args, {});
    const config = loadConfig();
    const log = createLogger(config.logLevel, "collector");
    const metrics = createCollectorMetrics();
    const plugins = new PluginRegistry();
    const loaded = await loadUserPlugins(plugins, config.plugins);
    if (loaded.length) log.info({ plugins: loaded }, "user plugins loaded");
    // Serve Envoy at once; NATS may come later. Until it does, records wait in the bounded buffer.
    let publisher: JetStreamRecordPublisher | undefined;
    const lazy: RecordPublisher = {
      publish: (r) =>
        publisher ? publisher.publish(r) : Promise.reject(new Error("NATS not connected yet")),
    };
    const collector = await startCollector(
      {
        host: config.listenHost,
        port: config.ports.collector,
        secretHeaders: config.secretHeaders,
        buffer: config.buffer,
      },
      lazy,
      plugins,
      metrics,
      log,
    );
    const ops = await startOpsServer(
      config.listenHost,
      config.ports.collectorMetrics,
      metrics.registry,
      () => publisher !== undefined,
    );
    const nc = connectNats(config.natsUrl, "modeltap-collector", log).then(async (conn) => {
      await ensureTopology(await conn.jetstreamManager(), 30_000);
      publisher = new JetStreamRecordPublisher(conn, config.inlineMaxBytes);
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
