/** The `modeltap` CLI: one table of commands; each module wires config, logger and adapters. */
import { ConfigError, ModeltapError } from "../core/errors.js";
import type { Command } from "./command.js";
import { apiCommand } from "./commands/api.js";
import { capturesCommand } from "./commands/captures.js";
import { collectorCommand } from "./commands/collector.js";
import { demoCommand } from "./commands/demo.js";
import { demoServerCommand } from "./commands/demo-server.js";
import { migrateCommand } from "./commands/migrate.js";
import { stackCommand } from "./commands/stack.js";
import { workerCommand } from "./commands/worker.js";

const COMMANDS: readonly Command[] = [
  collectorCommand,
  workerCommand,
  apiCommand,
  migrateCommand,
  stackCommand,
  capturesCommand,
  demoCommand,
  demoServerCommand,
];

function help(): string {
  const width = Math.max(...COMMANDS.map((c) => c.usage.length));
  return [
    "usage: modeltap <command> [options]",
    "",
    ...COMMANDS.map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`),
    "",
    "Configuration is read from MODELTAP_* environment variables; see docs/config.md.",
  ].join("\n");
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    console.log(help());
    return name ? 0 : 2;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    console.error(`modeltap: unknown command ${JSON.stringify(name)}\n\n${help()}`);
    return 2;
  }
  try {
    return (await cmd.run(args)) ?? 0;
  } catch (err) {
    if (err instanceof ConfigError) console.error(`modeltap ${name}: ${err.message}`);
    else if (err instanceof ModeltapError) console.error(`modeltap ${name}: [${err.code}] ${err.message}`);
    else console.error(`modeltap ${name}:`, err);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    // A failed command may leave pools or sockets open; do not wait for them to time out.
    if (code !== 0) process.exit(code);
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
