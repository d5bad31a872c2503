import { createLabelingBackend, createObjectStore, openDatabase } from "../../adapters/registry.js";
import { signedMediaUrl } from "../../api/auth.js";
import { runExporter } from "../../api/exporter.js";
import { runReconciler } from "../../api/reconcile.js";
import { createApiMetrics } from "../../api/metrics.js";
import { startApiServer } from "../../api/server.js";
import { startOpsServer } from "../../adapters/http/ops-server.js";
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
    "MODELTAP_API_TOKENS=crm:$(openssl rand -hex 24) MODELTAP_WEBHOOK_SECRET=$(openssl rand -hex 24) MODELTAP_MEDIA_KEYS=k1:$(openssl rand -hex 24) MODELTAP_LABELING=label_studio MODELTAP_LABEL_STUDIO_TOKEN=... modeltap api",
  ],
  async run({ config, log }) {
    const missing = [
      ...(config.apiTokens.length === 0
        ? ["MODELTAP_API_TOKENS: required by `modeltap api` (name:token, tokens of 16+ characters)"]
        : []),
      ...(config.labeling !== "none" && config.webhookSecret === ""
        ? [`MODELTAP_WEBHOOK_SECRET: required with MODELTAP_LABELING=${config.labeling} (16+ characters)`]
        : []),
      ...(config.labeling !== "none" && config.mediaKeys.length === 0
        ? [
            `MODELTAP_MEDIA_KEYS: required with MODELTAP_LABELING=${config.labeling} (kid:key, keys of 16+ characters)`,
          ]
        : []),
    ];
    if (missing.length > 0) throw new ConfigError(missing);
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
      exports: db.labelExports,
      blobs,
      backend,
      plugins,
      metrics,
      log,
    };
    const server = await startApiServer(handlerDeps, {
      host: config.hosts.api,
      port: config.ports.api,
      tokens: config.apiTokens,
      webhookSecret: config.webhookSecret,
      mediaKeys: config.mediaKeys,
      serveMetrics: config.apiMetrics.mode === "same",
      maxBodyBytes: config.apiMaxBodyBytes,
      ready: () => ready,
    });
    const metricsBind = config.apiMetrics;
    const metricsServer =
      metricsBind.mode === "bind"
        ? await startOpsServer(metricsBind.host, metricsBind.port, metrics.registry, () => ready)
        : undefined;
    const abort = new AbortController();
    const exporter = runExporter(
      {
        queue: db.labelExports,
        captures: db.captures,
        backend,
        // The first key signs; the URL opens the image for MODELTAP_MEDIA_URL_TTL_SECONDS.
        mediaUrl: (id, i) =>
          signedMediaUrl(
            config.publicUrl,
            config.mediaKeys[0]!,
            id,
            i,
            Math.floor(Date.now() / 1000) + config.mediaUrlTtlSeconds,
          ),
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
      {
        port: config.ports.api,
        labeling: backend.name,
        public_url: config.publicUrl,
        api_tokens: config.apiTokens.map((t) => t.name),
        media_key: config.mediaKeys[0]?.name ?? null,
        metrics: metricsBind.mode === "bind" ? `${metricsBind.host}:${metricsBind.port}` : metricsBind.mode,
      },
      "api serving ground truth and the labeling webhook",
    );
    await onShutdown(log);
    abort.abort();
    await exporter;
    await reconciler;
    await new Promise((r) => server.close(r));
    if (metricsServer) await new Promise((r) => metricsServer.close(r));
    await db.close();
    blobs.destroy();
  },
};
