import { createLabelingBackend, createObjectStore, openDatabase } from "../../adapters/registry.js";
import { signedMediaUrl } from "../../api/auth.js";
import { runExporter } from "../../api/exporter.js";
import { runReconciler } from "../../api/reconcile.js";
import { createApiMetrics } from "../../api/metrics.js";
import { startApiServer } from "../../api/server.js";
import { ConfigError } from "../../core/errors.js";
import { PluginRegistry } from "../../plugins/registry.js";
import { loadUserPlugins } from "../../plugins/user-plugins.js";
import type { Command } from "../command.js";
import { onShutdown } from "../shutdown.js";

export const apiCommand: Command = {
  name: "api",
  summary:
    "Serve the ground-truth API and the labeling webhook; export sampled captures to the labeling tool",
  logs: true,
  examples: [
    "MODELTAP_API_SECRET=$(openssl rand -hex 24) MODELTAP_LABELING=label_studio MODELTAP_LABEL_STUDIO_TOKEN=... modeltap api",
  ],
  async run({ config, log }) {
    if (config.apiSecret === "") {
      throw new ConfigError(["MODELTAP_API_SECRET: required by `modeltap api` (16+ characters)"]);
    }
    const metrics = createApiMetrics();
    const db = openDatabase(config, 8);
    await db.assertMigrated();
    const blobs = createObjectStore(config);
    await blobs.ready();
    const plugins = new PluginRegistry();
    await loadUserPlugins(plugins, config.plugins);
    const backend = createLabelingBackend(config);
    let ready = false;
    const handlerDeps = {
      captures: db.captures,
      groundTruth: db.groundTruth,
      blobs,
      backend,
      plugins,
      metrics,
      log,
    };
    const server = await startApiServer(handlerDeps, {
      host: config.listenHost,
      port: config.ports.api,
      secret: config.apiSecret,
      maxBodyBytes: config.apiMaxBodyBytes,
      ready: () => ready,
    });
    const abort = new AbortController();
    const exporter = runExporter(
      {
        queue: db.labelExports,
        captures: db.captures,
        backend,
        mediaUrl: (id, i) => signedMediaUrl(config.publicUrl, config.apiSecret, id, i),
        metrics,
        log: log.child({ part: "exporter" }),
        batch: config.labelExport.batch,
        leaseMs: 60_000,
        maxAttempts: 10,
        verifiedProjects: new Set(),
      },
      config.labelExport.intervalMs,
      abort.signal,
    );
    const reconciler =
      config.labelSyncIntervalS > 0 && backend.name !== "none"
        ? runReconciler(
            { ...handlerDeps, queue: db.labelExports, log: log.child({ part: "reconciler" }) },
            config.labelSyncIntervalS * 1000,
            abort.signal,
          )
        : Promise.resolve();
    ready = true;
    log.info(
      { port: config.ports.api, labeling: backend.name, public_url: config.publicUrl },
      "api serving ground truth and the labeling webhook",
    );
    await onShutdown(log);
    abort.abort();
    await exporter;
    await reconciler;
    await new Promise((r) => server.close(r));
    await db.close();
    blobs.destroy();
  },
};
