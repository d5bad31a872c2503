/**
 * The product's CLI: one table of the commands users run. Each command module wires config,
 * logger and adapters for its process; src/cli/program.ts is the preamble they share.
 */
import fs from "node:fs";
import path from "node:path";
import { PACKAGE_ROOT, SETTINGS, loadConfig, type Config } from "../config.js";
import type { Command, Program } from "./command.js";
import { apiCommand } from "./commands/api.js";
import { capturesCommand } from "./commands/captures.js";
import { collectorCommand } from "./commands/collector.js";
import { migrateCommand } from "./commands/migrate.js";
import { retentionCommand } from "./commands/retention.js";
import { workerCommand } from "./commands/worker.js";
import { monitorCommand } from "./commands/monitor.js";
import { baselineCommand } from "./commands/baseline.js";
import { driftCommand } from "./commands/drift.js";
import { qualityCommand } from "./commands/quality.js";
import { reportCommand } from "./commands/report.js";
import { envoyCommand } from "./commands/envoy.js";

export const PRODUCT_COMMANDS: readonly Command[] = [
  collectorCommand,
  workerCommand,
  apiCommand,
  migrateCommand,
  capturesCommand,
  retentionCommand,
  monitorCommand,
  baselineCommand,
  driftCommand,
  qualityCommand,
  reportCommand,
  envoyCommand,
];

export const VERSION = (
  JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, "package.json"), "utf8")) as { version: string }
).version;

export const PRODUCT: Program<Config> = {
  name: "modeltap",
  version: VERSION,
  commands: PRODUCT_COMMANDS,
  settings: SETTINGS,
  loadConfig: () => loadConfig(),
};
