/**
 * The one CLI preamble: find the command, parse its options (node:util parseArgs, strict), answer
 * --help and --version, load the config once, make the logger, run, and turn errors into exit
 * codes. Commands only do their own work.
 */
import { parseArgs } from "node:util";
import type { Config } from "../config.js";
import { ConfigError, ModeltapError } from "../core/errors.js";
import { createLogger, type Logger } from "../log.js";
import type { Command, Program } from "./command.js";
import { commandHelp, programHelp } from "./help.js";

const HELP = new Set(["--help", "-h", "help"]);

/** Runs one invocation; resolves to the exit code. Output goes to stdout, problems to stderr. */
export async function runCli<C extends Config>(
  program: Program<C>,
  argv: readonly string[],
): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || HELP.has(name)) {
    (name ? console.log : console.error)(programHelp(program));
    return name ? 0 : 2;
  }
  if (name === "--version") {
    console.log(`${program.name} ${program.version}`);
    return 0;
  }
  const top = program.commands.find((c) => c.name === name);
  if (!top) {
    console.error(`${program.name}: unknown command ${JSON.stringify(name)}\n\n${programHelp(program)}`);
    return 2;
  }
  const path = [top];
  let args = rest;
  while (path.at(-1)!.subcommands) {
    const parent = path.at(-1)!;
    const [sub, ...more] = args;
    if (sub !== undefined && HELP.has(sub)) return help(program, path);
    const next = parent.subcommands!.find((c) => c.name === sub);
    // A command that runs itself and has subcommands too (`monitor`, `monitor backfill`).
    if (!next && parent.run) break;
    if (!next) {
      const known = parent.subcommands!.map((c) => c.name).join(", ");
      return fail(
        program,
        path,
        new ConfigError([`${label(path)}: expected one of ${known}, got ${JSON.stringify(sub ?? "")}`]),
      );
    }
    path.push(next);
    args = more;
  }
  const cmd = path.at(-1)!;
  try {
    const parsed = parseOptions(cmd, path, args);
    if (parsed.help) return help(program, path);
    const config = program.loadConfig();
    const log = createLogger(config.logLevel, top.name);
    warn(config.warnings, cmd.logs ? log : undefined, program, path);
    return (await cmd.run!({ options: parsed.options, positionals: parsed.positionals, config, log })) ?? 0;
  } catch (err) {
    return fail(program, path, err);
  }
}

function label(path: readonly Command<never>[]): string {
  return path.map((c) => c.name).join(" ");
}

function help<C extends Config>(program: Program<C>, path: readonly Command<C>[]): number {
  console.log(commandHelp(program, path));
  return 0;
}

function fail<C extends Config>(program: Program<C>, path: readonly Command<C>[], err: unknown): number {
  const prefix = `${program.name} ${label(path)}:`;
  if (err instanceof ConfigError) {
    const code = err.code === "CONFIG_INVALID" ? "" : `[${err.code}] `;
    console.error(`${prefix} ${code}${err.message}\n(see \`${program.name} ${label(path)} --help\`)`);
  } else if (err instanceof ModeltapError) console.error(`${prefix} [${err.code}] ${err.message}`);
  else console.error(prefix, err);
  return 1;
}

/** Deprecation warnings: in the log of a long-running process, on stderr otherwise. */
function warn<C extends Config>(
  warnings: readonly string[],
  log: Logger | undefined,
  program: Program<C>,
  path: readonly Command<C>[],
): void {
  for (const w of warnings) {
    // A process whose log would drop the warning (MODELTAP_LOG_LEVEL=error) says it on stderr.
    if (log?.isLevelEnabled("warn")) log.warn(w);
    else console.error(`${program.name} ${label(path)}: warning: ${w}`);
  }
}

interface Parsed {
  help: boolean;
  options: Record<string, string | boolean | undefined>;
  positionals: string[];
}

function parseOptions(cmd: Command<never>, path: readonly Command<never>[], args: readonly string[]): Parsed {
  const specs = cmd.options ?? {};
  const known = () => [...Object.keys(specs), "help"].map((k) => `--${k}`).join(", ");
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: {
        ...Object.fromEntries(Object.entries(specs).map(([k, o]) => [k, { type: o.type }])),
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: true,
    });
  } catch (err) {
    throw new ConfigError([describeParseError(err, known())]);
  }
  const { help, ...options } = parsed.values as Record<string, string | boolean | undefined>;
  const expected = (cmd.args ?? "").split(" ").filter(Boolean).length;
  const extra = parsed.positionals.slice(expected);
  if (!help && extra.length) {
    throw new ConfigError([
      `${label(path)}: unexpected argument ${JSON.stringify(extra[0])}${cmd.args ? ` (takes ${cmd.args})` : " (takes none)"}`,
    ]);
  }
  return { help: help === true, options, positionals: parsed.positionals };
}

/** node:util's parse errors, said the way every other config problem is: `--name: what is wrong`. */
function describeParseError(err: unknown, known: string): string {
  const code = (err as { code?: string }).code;
  const message = (err as Error).message;
  // Node names an option '--limit', '--limit <value>' or '-h, --help': keep the long name.
  const option = /'(?:-\w, )?(-{1,2}[^' ,]+)/.exec(message)?.[1] ?? "option";
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") return `${option}: unknown option (known: ${known})`;
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    if (/argument missing/.test(message)) return `${option}: needs a value`;
    if (/ambiguous/.test(message)) {
      return `${option}: needs a value (one starting with "-" is written ${option}=-value)`;
    }
    return `${option}: takes no value`;
  }
  return message;
}

/** An integer option within [min, max], or `fallback` when it was not given. */
export function intOption(
  options: Record<string, string | boolean | undefined>,
  name: string,
  fallback: number,
  min = 1,
  max = 1_000_000,
): number {
  const v = options[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== "string" || !/^\d+$/.test(v) || n < min || n > max) {
    throw new ConfigError([`--${name}: must be an integer from ${min} to ${max}`]);
  }
  return n;
}
