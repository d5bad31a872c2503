/**
 * --help text and the CLI reference in docs/cli.md, both from the command definitions, so the
 * two cannot say different things (test/unit/help.test.ts keeps the docs in step).
 */
import type { Config } from "../config.js";
import { EXIT_CODES, type Command, type Program } from "./command.js";

type Path<C extends Config> = readonly Command<C>[];

export function usage<C extends Config>(program: Program<C>, path: Path<C>): string {
  const cmd = path.at(-1)!;
  const words = [program.name, ...path.map((c) => c.name)];
  if (cmd.subcommands && !cmd.run) words.push(`<${cmd.subcommands.map((c) => c.name).join("|")}>`);
  for (const [name, o] of Object.entries(cmd.options ?? {})) {
    words.push(o.type === "boolean" ? `[--${name}]` : `[--${name} ${o.value ?? "VALUE"}]`);
  }
  if (cmd.args) words.push(cmd.args);
  return words.join(" ");
}

function table(rows: ReadonlyArray<readonly [string, string]>, indent = "  "): string[] {
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${indent}${k.padEnd(width)}  ${v}`.trimEnd());
}

/**
 * The settings a command reads: those whose readBy names its top-level command, or this very
 * subcommand ("captures body"), when only it reads them.
 */
export function settingsFor<C extends Config>(program: Program<C>, path: Path<C>): string[] {
  const names = new Set([path[0]!.name, path.map((c) => c.name).join(" ")]);
  return program.settings.filter((s) => s.readBy.some((r) => names.has(r))).map((s) => s.env);
}

function exitCodes<C extends Config>(path: Path<C>): Array<[string, string]> {
  const own = Object.assign({}, ...path.map((c) => c.exitCodes ?? {})) as Record<number, string>;
  return Object.entries({ ...EXIT_CODES, ...own })
    .filter(([code]) => code !== "2")
    .map(([code, what]) => [code, what]);
}

export function commandHelp<C extends Config>(program: Program<C>, path: Path<C>): string {
  const cmd = path.at(-1)!;
  const out = [`usage: ${usage(program, path)}`, "", cmd.summary];
  if (cmd.subcommands && !cmd.run) {
    out.push("", "commands:", ...table(cmd.subcommands.map((s) => [s.name, s.summary])));
    out.push(
      "",
      `Run \`${program.name} ${path.map((c) => c.name).join(" ")} <command> --help\` for its options.`,
    );
  } else {
    const options: Array<[string, string]> = Object.entries(cmd.options ?? {}).map(([name, o]) => [
      o.type === "boolean" ? `--${name}` : `--${name} ${o.value ?? "VALUE"}`,
      o.description,
    ]);
    options.push(["-h, --help", "show this help"]);
    out.push("", "options:", ...table(options));
    const env = settingsFor(program, path);
    out.push(
      "",
      "environment (docs/config.md):",
      ...(env.length ? wrap(env.join(", "), 96, "  ") : ["  (none)"]),
    );
    out.push("", "exit codes:", ...table(exitCodes(path)));
    if (cmd.subcommands) out.push("", "commands:", ...table(cmd.subcommands.map((s) => [s.name, s.summary])));
  }
  out.push("", cmd.examples.length > 1 ? "examples:" : "example:", ...cmd.examples.map((e) => `  ${e}`));
  return out.join("\n");
}

export function programHelp<C extends Config>(program: Program<C>): string {
  return [
    `usage: ${program.name} <command> [options]`,
    "",
    "commands:",
    ...table(program.commands.map((c) => [c.name, c.summary])),
    "",
    `Run \`${program.name} <command> --help\` for a command's options, settings and an example;`,
    `\`${program.name} --version\` for the version. Configuration: MODELTAP_* variables (docs/config.md).`,
    ...(program.footer ? ["", program.footer] : []),
  ].join("\n");
}

function wrap(text: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(" ")) {
    if (line && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(indent + line);
  return lines;
}

/** Every command's and subcommand's --help, as the reference section of docs/cli.md. */
export function cliReference<C extends Config>(program: Program<C>): string {
  const out: string[] = [];
  const visit = (path: Path<C>) => {
    const cmd = path.at(-1)!;
    out.push(`### \`${program.name} ${path.map((c) => c.name).join(" ")}\``, "");
    out.push("```text", commandHelp(program, path), "```", "");
    for (const sub of cmd.subcommands ?? []) visit([...path, sub]);
  };
  for (const c of program.commands) visit([c]);
  return out.join("\n");
}
