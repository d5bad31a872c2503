/**
 * What a CLI command is: its name, options, the settings it reads, an example, and what it runs.
 * One definition feeds the argument parser, `--help`, and the reference in docs/cli.md.
 */
import type { Config, Setting } from "../config.js";
import type { Logger } from "../log.js";

export interface OptionSpec {
  type: "string" | "boolean";
  /** What the value is, in the usage line: `--limit N`. */
  value?: string;
  description: string;
}

export interface RunContext<C extends Config = Config> {
  /** Parsed options, by long name. */
  options: Record<string, string | boolean | undefined>;
  positionals: string[];
  /** Loaded once by the preamble, validated and frozen. */
  config: C;
  /** The command's logger (pino), when the command asked for one. */
  log: Logger;
}

export interface Command<C extends Config = Config> {
  name: string;
  summary: string;
  /** Positional arguments in the usage line, such as `<id>`. */
  args?: string;
  options?: Record<string, OptionSpec>;
  /** Runnable examples, shown in --help and docs/cli.md. */
  examples: string[];
  /** Exit codes of its own, beyond those every command has (see EXIT_CODES). */
  exitCodes?: Record<number, string>;
  /** A long-running process that logs (pino, JSON lines), rather than a command that prints. */
  logs?: boolean;
  /** Subcommands (`captures list`). A command with run as well runs itself when none is named (`monitor`). */
  subcommands?: Command<C>[];
  run?(ctx: RunContext<C>): Promise<number | void>;
}

/** Exit codes of every command. */
export const EXIT_CODES: Record<number, string> = {
  0: "success",
  1: "failed: invalid configuration or options, or an error (printed as `[CODE] message`, see docs/errors.md)",
  2: "unknown command, or no command given",
};

/** A CLI: the product's, or the development tools' (the product's commands plus theirs). */
export interface Program<C extends Config = Config> {
  name: string;
  version: string;
  commands: readonly Command<C>[];
  /** Every setting the program's commands may read; each command shows those it reads. */
  settings: readonly Setting[];
  loadConfig(): C;
  /** A closing line of the top-level help. */
  footer?: string;
}
