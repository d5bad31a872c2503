/**
 * The local stack's own settings: where its state lives and the ports of the services it runs
 * beside modeltap. They are development settings, not the product's (src/config.ts): a product
 * process the stack starts gets them resolved into its own settings by productEnv (the NATS,
 * Postgres, S3 and Label Studio URLs, the fs object store's root), and never sees them.
 */
import fs from "node:fs";
import path from "node:path";
import {
  PACKAGE_ROOT,
  intSetting,
  loadConfig,
  settingValues,
  type Config,
  type Setting,
} from "../../src/config.js";
import { ConfigError } from "../../src/core/errors.js";
import { hostProblem } from "../../src/listen-address.js";

/** `stack` and `demo` run the whole stack; the demo server reads only its own port. */
const STACK = ["stack", "demo"] as const;

export const STACK_SETTINGS = [
  {
    env: "MODELTAP_HOME",
    kind: "string",
    default: path.join(PACKAGE_ROOT, ".modeltap"),
    doc: "Local-stack state: venvs, data, logs, pids, generated secrets",
    readBy: STACK,
  },
  {
    env: "MODELTAP_ENVOY_PORT",
    kind: "port",
    default: "10000",
    doc: "Envoy listener, observability-mode filter",
    readBy: STACK,
  },
  {
    env: "MODELTAP_ENVOY_NORMAL_PORT",
    kind: "port",
    default: "10001",
    doc: "Envoy listener, normal-mode filter with mode override",
    readBy: STACK,
  },
  {
    env: "MODELTAP_ENVOY_BASELINE_PORT",
    kind: "port",
    default: "10002",
    doc: "Envoy listener without the modeltap filter (benchmark baseline)",
    readBy: STACK,
  },
  {
    env: "MODELTAP_ENVOY_ADMIN_PORT",
    kind: "port",
    default: "9901",
    doc: "Envoy admin (stats)",
    readBy: STACK,
  },
  { env: "MODELTAP_NATS_PORT", kind: "port", default: "4222", doc: "NATS", readBy: STACK },
  { env: "MODELTAP_PG_PORT", kind: "port", default: "5432", doc: "Postgres", readBy: STACK },
  { env: "MODELTAP_S3_PORT", kind: "port", default: "8333", doc: "S3 endpoint (SeaweedFS)", readBy: STACK },
  {
    env: "MODELTAP_MLSERVER_PORT",
    kind: "port",
    default: "8082",
    doc: "MLServer (a real OIP server with a scikit-learn iris model; also uses the next two ports)",
    readBy: STACK,
  },
  {
    env: "MODELTAP_DEMO_PORT",
    kind: "port",
    default: "8081",
    doc: "Demo inference server",
    readBy: [...STACK, "demo-server"],
  },
  {
    env: "MODELTAP_DEMO_HOST",
    kind: "string",
    default: "${MODELTAP_LISTEN_HOST}",
    doc: "Address the demo inference server binds to",
    readBy: [...STACK, "demo-server"],
  },
  {
    env: "MODELTAP_LABEL_STUDIO_PORT",
    kind: "port",
    default: "8080",
    doc: "Label Studio",
    readBy: STACK,
  },
] as const satisfies readonly Setting[];

type StackSettingName = (typeof STACK_SETTINGS)[number]["env"];

/** The product's configuration, plus where the local stack keeps its state and runs its services. */
export interface StackConfig extends Omit<Config, "ports" | "hosts"> {
  readonly home: string;
  readonly hosts: Config["hosts"] & { readonly demo: string };
  readonly ports: Config["ports"] & {
    readonly envoy: number;
    readonly envoyNormal: number;
    readonly envoyBaseline: number;
    readonly envoyAdmin: number;
    readonly nats: number;
    readonly postgres: number;
    readonly s3: number;
    readonly demo: number;
    readonly mlserver: number;
    readonly labelStudio: number;
  };
}

/**
 * The environment a product process of the local stack runs with: the stack's settings resolved
 * into the product's (only where the user did not set the product's own), and then removed. A
 * stack port that is not a port is added to `problems`.
 */
export function productEnv(env: NodeJS.ProcessEnv = process.env, problems: string[] = []): NodeJS.ProcessEnv {
  const raw = settingValues(STACK_SETTINGS, env);
  for (const s of STACK_SETTINGS) if (s.kind === "port") intSetting(raw, s.env, 0, 65535, problems);
  const out: NodeJS.ProcessEnv = { ...env };
  for (const s of STACK_SETTINGS) delete out[s.env];
  const fill = (name: string, value: string) => {
    if (out[name] === undefined) out[name] = value;
  };
  fill("MODELTAP_NATS_URL", `nats://127.0.0.1:${raw.MODELTAP_NATS_PORT}`);
  fill("MODELTAP_DATABASE_URL", `postgres://modeltap@127.0.0.1:${raw.MODELTAP_PG_PORT}/modeltap`);
  fill("MODELTAP_S3_ENDPOINT", `http://127.0.0.1:${raw.MODELTAP_S3_PORT}`);
  fill("MODELTAP_LABEL_STUDIO_URL", `http://127.0.0.1:${raw.MODELTAP_LABEL_STUDIO_PORT}`);
  fill("MODELTAP_FS_ROOT", path.join(path.resolve(raw.MODELTAP_HOME!), "objects"));
  // One-minute windows too, so drift shows within minutes of traffic on the local stack.
  fill("MODELTAP_MONITOR_WINDOWS", "1m,5m,1h,1d");
  // The stack's S3 goes with the credentials the stack generated for it (so `captures body` reads
  // objects from a checkout), unless the user chose another endpoint or credentials of their own.
  if (env.MODELTAP_S3_ENDPOINT === undefined && out.AWS_ACCESS_KEY_ID === undefined) {
    const creds = stackS3Credentials(raw.MODELTAP_HOME!);
    if (creds) {
      out.AWS_ACCESS_KEY_ID = creds.accessKeyId;
      out.AWS_SECRET_ACCESS_KEY = creds.secretAccessKey;
    }
  }
  return out;
}

/** The file under MODELTAP_HOME holding the local S3's generated credentials (docs/config.md). */
export const S3_CREDENTIALS_FILE = "s3-credentials.json";

function stackS3Credentials(home: string): { accessKeyId: string; secretAccessKey: string } | undefined {
  try {
    const c = JSON.parse(fs.readFileSync(path.join(path.resolve(home), S3_CREDENTIALS_FILE), "utf8")) as {
      accessKeyId?: unknown;
      secretAccessKey?: unknown;
    };
    return typeof c.accessKeyId === "string" && typeof c.secretAccessKey === "string"
      ? { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey }
      : undefined;
  } catch {
    return undefined; // no stack here yet: the SDK's own chain applies
  }
}

/** Stack and product settings together, every problem of both reported at once. */
export function loadStackConfig(env: NodeJS.ProcessEnv = process.env): StackConfig {
  const problems: string[] = [];
  const raw = settingValues(STACK_SETTINGS, env);
  const port = (name: StackSettingName) => intSetting(raw, name, 0, 65535, problems);
  const ports = {
    envoy: port("MODELTAP_ENVOY_PORT"),
    envoyNormal: port("MODELTAP_ENVOY_NORMAL_PORT"),
    envoyBaseline: port("MODELTAP_ENVOY_BASELINE_PORT"),
    envoyAdmin: port("MODELTAP_ENVOY_ADMIN_PORT"),
    nats: port("MODELTAP_NATS_PORT"),
    postgres: port("MODELTAP_PG_PORT"),
    s3: port("MODELTAP_S3_PORT"),
    demo: port("MODELTAP_DEMO_PORT"),
    mlserver: port("MODELTAP_MLSERVER_PORT"),
    labelStudio: port("MODELTAP_LABEL_STUDIO_PORT"),
  };
  let product: Config | undefined;
  try {
    product = loadConfig(productEnv(env));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  // The product's MODELTAP_LISTEN_HOST is the default (the stack's table cannot refer to it).
  const demoHost = env.MODELTAP_DEMO_HOST ?? product?.listenHost ?? "";
  const demoHostProblem = env.MODELTAP_DEMO_HOST !== undefined ? hostProblem(demoHost) : undefined;
  if (demoHostProblem) problems.push(`MODELTAP_DEMO_HOST: ${demoHostProblem}`);
  if (problems.length > 0 || !product) throw new ConfigError(problems);
  return Object.freeze({
    ...product,
    home: path.resolve(raw.MODELTAP_HOME!),
    hosts: Object.freeze({ ...product.hosts, demo: demoHost }),
    ports: Object.freeze({ ...product.ports, ...ports }),
  });
}
