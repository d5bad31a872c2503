/**
 * The local real stack, one entry per service, started in this order and stopped in reverse:
 * Postgres, NATS, S3 (SeaweedFS), demo inference server, MLServer, Label Studio, collector, worker, monitor,
 * api, Envoy.
 * Everything listens on 127.0.0.1; state, logs and pids live under MODELTAP_HOME.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { PACKAGE_ROOT } from "../../src/config.js";
import { parseSamplingSeed } from "../../src/core/sampler.js";
import { S3_CREDENTIALS_FILE, type StackConfig } from "./settings.js";
import { httpOk, portOpen, run, sleep, startDetached, stopPid, isAlive, readPid } from "./process.js";

export interface StackContext {
  config: StackConfig;
  /** Envoy config file to run (already rendered). */
  envoyConfigFile: string;
  env: NodeJS.ProcessEnv;
}

export interface Service {
  name: string;
  port(c: StackConfig): number;
  start(ctx: StackContext): Promise<void>;
  ready(ctx: StackContext): Promise<boolean>;
  stop(ctx: StackContext): Promise<void>;
  pid(ctx: StackContext): number | undefined;
}

export const paths = (c: StackConfig) => ({
  venvBin: path.join(c.home, "venv", "bin"),
  logs: path.join(c.home, "logs"),
  pids: path.join(c.home, "pids"),
  data: path.join(c.home, "data"),
  credentials: path.join(c.home, S3_CREDENTIALS_FILE),
  secrets: path.join(c.home, "secrets.json"),
});

const logFile = (c: StackConfig, name: string) => path.join(paths(c).logs, `${name}.log`);
const pidFile = (c: StackConfig, name: string) => path.join(paths(c).pids, `${name}.pid`);

/** Local S3 credentials, generated once per MODELTAP_HOME and never committed. */
export function s3Credentials(c: StackConfig): { accessKeyId: string; secretAccessKey: string } {
  const file = paths(c).credentials;
  if (!fs.existsSync(file)) {
    fs.mkdirSync(c.home, { recursive: true });
    const creds = {
      accessKeyId: `mt${randomBytes(8).toString("hex")}`,
      secretAccessKey: randomBytes(24).toString("hex"),
    };
    fs.writeFileSync(file, JSON.stringify(creds), { mode: 0o600 });
  }
  return JSON.parse(fs.readFileSync(file, "utf8")) as { accessKeyId: string; secretAccessKey: string };
}

/** The local stack's own secrets (Label Studio admin and token, the api's token, webhook secret and
 * media key, the sampling seed), generated once per MODELTAP_HOME, file mode 0600, never committed.
 * A secret added by a later version is generated into an existing file the first time it is read. */
export interface LocalSecrets {
  labelStudioUser: string;
  labelStudioPassword: string;
  labelStudioToken: string;
  /** The api token named "stack" (MODELTAP_API_TOKENS=stack:<it>): the demo's and the tests'. */
  apiToken: string;
  /** MODELTAP_WEBHOOK_SECRET: the only one of them Label Studio holds. */
  webhookSecret: string;
  /** MODELTAP_MEDIA_KEYS=k1:<it>: signs the image URLs of Label Studio's tasks. */
  mediaKey: string;
  /** MODELTAP_SAMPLING_SEED: a 64-bit integer, in 0x hex. */
  samplingSeed: string;
}

function newSecrets(): LocalSecrets {
  return {
    labelStudioUser: "admin@modeltap.local",
    labelStudioPassword: randomBytes(12).toString("base64url"),
    // Label Studio's legacy tokens are 40 characters.
    labelStudioToken: randomBytes(20).toString("hex"),
    apiToken: randomBytes(24).toString("base64url"),
    webhookSecret: randomBytes(24).toString("base64url"),
    mediaKey: randomBytes(24).toString("base64url"),
    samplingSeed: `0x${randomBytes(8).toString("hex")}`,
  };
}

export function localSecrets(c: StackConfig): LocalSecrets {
  const file = paths(c).secrets;
  const stored = fs.existsSync(file)
    ? (JSON.parse(fs.readFileSync(file, "utf8")) as Partial<LocalSecrets>)
    : undefined;
  const secrets = { ...newSecrets(), ...stored };
  if (!stored || Object.keys(secrets).some((k) => !(k in stored))) {
    fs.mkdirSync(c.home, { recursive: true });
    fs.writeFileSync(file, JSON.stringify(secrets), { mode: 0o600 });
  }
  return secrets;
}

/**
 * The sampling seed the stack's collector runs with (the user's MODELTAP_SAMPLING_SEED, or the
 * stack's own): what the demo and the tests need to predict which request ids are captured.
 */
export function stackSamplingSeed(c: StackConfig): bigint {
  const text = process.env.MODELTAP_SAMPLING_SEED ?? localSecrets(c).samplingSeed;
  const seed = parseSamplingSeed(text);
  if (seed === undefined) throw new Error(`MODELTAP_SAMPLING_SEED: not a 64-bit integer: ${text}`);
  return seed;
}

function pidService(
  name: string,
  port: (c: StackConfig) => number,
  command: (ctx: StackContext) => { cmd: string; args: string[]; cwd?: string; env?: NodeJS.ProcessEnv },
  ready: (ctx: StackContext) => Promise<boolean>,
): Service {
  return {
    name,
    port,
    ready,
    pid: (ctx) => {
      const pid = readPid(pidFile(ctx.config, name));
      return pid && isAlive(pid) ? pid : undefined;
    },
    async start(ctx) {
      const { cmd, args, cwd, env } = command(ctx);
      startDetached(cmd, args, {
        logFile: logFile(ctx.config, name),
        pidFile: pidFile(ctx.config, name),
        env: env ?? ctx.env,
        ...(cwd ? { cwd } : {}),
      });
    },
    async stop(ctx) {
      const pid = readPid(pidFile(ctx.config, name));
      if (pid) await stopPid(pid);
      fs.rmSync(pidFile(ctx.config, name), { force: true });
    },
  };
}

/** A product process, from the product build, with the product's settings (ctx.env). */
const node = (command: string) => (_ctx: StackContext) => ({
  cmd: process.execPath,
  args: [path.join(PACKAGE_ROOT, "dist", "cli", "main.js"), command],
});

/** A development tool's process, from the tools' build, with the stack's own settings. */
const tool = (command: string) => (ctx: StackContext) => ({
  cmd: process.execPath,
  args: [path.join(PACKAGE_ROOT, "dist-tools", "tools", "main.js"), command],
  env: { ...process.env, MODELTAP_HOME: ctx.config.home },
});

// --- Postgres: a private cluster run as an unprivileged user when we are root. ---

function pgBin(tool: string): string {
  const base = "/usr/lib/postgresql";
  const versions = fs.existsSync(base) ? fs.readdirSync(base).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) {
    const p = path.join(base, v, "bin", tool);
    if (fs.existsSync(p)) return p;
  }
  throw new Error(`PostgreSQL ${tool} not found under ${base}; run scripts/install.sh services`);
}

interface PgUser {
  uid?: number;
  gid?: number;
}

function pgUser(): PgUser {
  if (process.getuid?.() !== 0) return {};
  const line = fs
    .readFileSync("/etc/passwd", "utf8")
    .split("\n")
    .find((l) => l.startsWith("postgres:"));
  if (!line) throw new Error("running as root but there is no postgres user; install postgresql");
  const [, , uid, gid] = line.split(":");
  return { uid: Number(uid), gid: Number(gid) };
}

/** The data directory must be reachable by the postgres user; a 0700 checkout may not be. */
function pgDataDir(c: StackConfig, user: PgUser): string {
  const local = path.join(paths(c).data, "postgres");
  if (user.uid === undefined) return local;
  let dir = path.dirname(local);
  fs.mkdirSync(dir, { recursive: true });
  let reachable = true;
  for (; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if ((fs.statSync(dir).mode & 0o001) === 0) reachable = false;
  }
  if (reachable) return local;
  const hash = Buffer.from(c.home).toString("base64url").slice(-24);
  return path.join(os.tmpdir(), `modeltap-pg-${hash}`);
}

const postgres: Service = {
  name: "postgres",
  port: (c) => c.ports.postgres,
  pid(ctx) {
    const user = pgUser();
    const pid = readPid(path.join(pgDataDir(ctx.config, user), "postmaster.pid"));
    return pid && isAlive(pid) ? pid : undefined;
  },
  async start(ctx) {
    const c = ctx.config;
    const user = pgUser();
    const dir = pgDataDir(c, user);
    const sock = path.join(dir, "run");
    if (!fs.existsSync(path.join(dir, "PG_VERSION"))) {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      if (user.uid !== undefined) fs.chownSync(dir, user.uid, user.gid!);
      run(pgBin("initdb"), ["-D", dir, "-U", "modeltap", "-A", "trust", "-E", "UTF8", "--no-instructions"], {
        ...user,
        env: { ...process.env, LC_ALL: "C.UTF-8" },
      });
    }
    fs.mkdirSync(sock, { recursive: true });
    if (user.uid !== undefined) fs.chownSync(sock, user.uid, user.gid!);
    fs.mkdirSync(paths(c).logs, { recursive: true });
    const log = path.join(dir, "postgres.log");
    run(
      pgBin("pg_ctl"),
      [
        "-D",
        dir,
        "-l",
        log,
        "-w",
        "-t",
        "60",
        "start",
        "-o",
        `-p ${c.ports.postgres} -k ${sock} -c listen_addresses=127.0.0.1 -c max_connections=200`,
      ],
      user,
    );
    fs.rmSync(logFile(c, "postgres"), { force: true });
    fs.symlinkSync(log, logFile(c, "postgres"));
    // Create the database on first start.
    const admin = new pg.Client({
      host: "127.0.0.1",
      port: c.ports.postgres,
      user: "modeltap",
      database: "postgres",
    });
    await admin.connect();
    try {
      const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = 'modeltap'");
      if (exists.rowCount === 0) await admin.query("CREATE DATABASE modeltap");
    } finally {
      await admin.end();
    }
  },
  ready: (ctx) => portOpen(ctx.config.ports.postgres),
  async stop(ctx) {
    const user = pgUser();
    const dir = pgDataDir(ctx.config, user);
    if (!fs.existsSync(path.join(dir, "postmaster.pid"))) return;
    try {
      run(pgBin("pg_ctl"), ["-D", dir, "-m", "fast", "-w", "stop"], user);
    } catch {
      /* already stopped */
    }
  },
};

const nats = pidService(
  "nats",
  (c) => c.ports.nats,
  (ctx) => ({
    cmd: path.join(paths(ctx.config).venvBin, "nats-server"),
    args: [
      "-js",
      "-a",
      "127.0.0.1",
      "-p",
      String(ctx.config.ports.nats),
      "-sd",
      path.join(paths(ctx.config).data, "nats"),
    ],
  }),
  (ctx) => portOpen(ctx.config.ports.nats),
);

const s3 = pidService(
  "s3",
  (c) => c.ports.s3,
  (ctx) => {
    const dir = path.join(paths(ctx.config).data, "s3");
    fs.mkdirSync(dir, { recursive: true });
    return {
      cmd: path.join(paths(ctx.config).venvBin, "weed"),
      args: ["mini", `-dir=${dir}`, "-ip=127.0.0.1", "-ip.bind=127.0.0.1", `-s3.port=${ctx.config.ports.s3}`],
      cwd: dir,
    };
  },
  async (ctx) => {
    if (!(await portOpen(ctx.config.ports.s3))) return false;
    // The bucket is created by SeaweedFS from S3_BUCKET once the filer is up.
    try {
      const res = await fetch(`http://127.0.0.1:${ctx.config.ports.s3}/healthz`, {
        signal: AbortSignal.timeout(1000),
      });
      await res.arrayBuffer();
      return res.status < 500;
    } catch {
      return false;
    }
  },
);

const demo = pidService(
  "demo-server",
  (c) => c.ports.demo,
  tool("demo-server"),
  (ctx) => httpOk(`http://127.0.0.1:${ctx.config.ports.demo}/healthz`),
);

const mlserver = pidService(
  "mlserver",
  (c) => c.ports.mlserver,
  (ctx) => {
    const venv = path.join(ctx.config.home, "mlserver-venv", "bin");
    const repo = path.join(paths(ctx.config).data, "mlserver");
    run(path.join(venv, "python"), [
      path.join(PACKAGE_ROOT, "tools", "stack", "mlserver-iris.py"),
      repo,
      String(ctx.config.ports.mlserver),
    ]);
    return { cmd: path.join(venv, "mlserver"), args: ["start", repo], cwd: repo };
  },
  (ctx) => httpOk(`http://127.0.0.1:${ctx.config.ports.mlserver}/v2/models/iris-sklearn/ready`),
);

const labelStudio = pidService(
  "label-studio",
  (c) => c.ports.labelStudio,
  (ctx) => {
    const s = localSecrets(ctx.config);
    const dir = path.join(paths(ctx.config).data, "label-studio");
    fs.mkdirSync(dir, { recursive: true });
    return {
      cmd: path.join(ctx.config.home, "labelstudio-venv", "bin", "label-studio"),
      args: [
        "start",
        "--no-browser",
        "--internal-host",
        "127.0.0.1",
        "--port",
        String(ctx.config.ports.labelStudio),
      ],
      cwd: dir,
      env: {
        ...ctx.env,
        LABEL_STUDIO_BASE_DATA_DIR: dir,
        LABEL_STUDIO_USERNAME: s.labelStudioUser,
        LABEL_STUDIO_PASSWORD: s.labelStudioPassword,
        LABEL_STUDIO_USER_TOKEN: s.labelStudioToken,
        LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN: "true",
        LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK: "true",
        SENTRY_DSN: "",
        FRONTEND_SENTRY_DSN: "",
        COLLECT_ANALYTICS: "false",
      },
    };
  },
  async (ctx) => {
    try {
      const res = await fetch(`http://127.0.0.1:${ctx.config.ports.labelStudio}/api/projects?page_size=1`, {
        headers: { authorization: `Token ${localSecrets(ctx.config).labelStudioToken}` },
        signal: AbortSignal.timeout(2000),
      });
      await res.arrayBuffer();
      return res.ok;
    } catch {
      return false;
    }
  },
);

const collector = pidService(
  "collector",
  (c) => c.ports.collector,
  node("collector"),
  (ctx) => httpOk(`http://127.0.0.1:${ctx.config.ports.collectorMetrics}/readyz`),
);

const worker = pidService(
  "worker",
  (c) => c.ports.workerMetrics,
  node("worker"),
  (ctx) => httpOk(`http://127.0.0.1:${ctx.config.ports.workerMetrics}/readyz`),
);

const monitor = pidService(
  "monitor",
  (c) => c.ports.monitorMetrics,
  node("monitor"),
  (ctx) => httpOk(`http://127.0.0.1:${ctx.config.ports.monitorMetrics}/readyz`),
);

const api = pidService(
  "api",
  (c) => c.ports.api,
  node("api"),
  (ctx) => httpOk(`http://127.0.0.1:${ctx.config.ports.api}/readyz`),
);

const envoy = pidService(
  "envoy",
  (c) => c.ports.envoy,
  (ctx) => ({
    cmd: path.join(paths(ctx.config).venvBin, "envoy"),
    args: ["-c", ctx.envoyConfigFile, "--disable-hot-restart", "-l", "info", "--drain-time-s", "1"],
  }),
  (ctx) => envoyReady(ctx.config.ports.envoyAdmin),
);

/**
 * Envoy is ready once its admin says so and no actively health-checked host (the normal-mode
 * collector cluster) is still failing or pending its first check: until then normal mode fails
 * open and captures nothing.
 */
export async function envoyReady(adminPort: number): Promise<boolean> {
  if (!(await httpOk(`http://127.0.0.1:${adminPort}/ready`))) return false;
  try {
    const res = await fetch(`http://127.0.0.1:${adminPort}/clusters`, { signal: AbortSignal.timeout(1000) });
    const text = await res.text();
    return !/::health_flags::.*(failed_active_hc|pending_active_hc)/.test(text);
  } catch {
    return false;
  }
}

export const SERVICES: readonly Service[] = [
  postgres,
  nats,
  s3,
  demo,
  mlserver,
  labelStudio,
  collector,
  worker,
  monitor,
  api,
  envoy,
];

export async function waitGone(port: number, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && (await portOpen(port))) await sleep(100);
}
