/**
 * src/cli/program.ts: the one preamble every command shares: dispatch, --help and --version,
 * strict options (node:util parseArgs), one config load, warnings, errors to exit codes.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { loadConfig, type Config } from "../../src/config.js";
import type { Command, Program, RunContext } from "../../src/cli/command.js";
import { intOption, runCli } from "../../src/cli/program.js";
import { ModeltapError } from "../../src/core/errors.js";
import { DEV } from "../../tools/program.js";

let out: string[];
let err: string[];

beforeEach(() => {
  out = [];
  err = [];
  vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void out.push(a.join(" ")));
  vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void err.push(a.join(" ")));
});
afterEach(() => vi.restoreAllMocks());

/** Every command line of a program: each command, and each subcommand. */
function lines<C extends Config>(program: Program<C>): string[][] {
  return program.commands.flatMap((c) =>
    c.subcommands ? [[c.name], ...c.subcommands.map((s) => [c.name, s.name])] : [[c.name]],
  );
}

describe("--help and --version", () => {
  it.each(lines(DEV))(
    "`modeltap %s --help` exits 0 with options, settings and an example",
    async (...line) => {
      const args = line.filter((w): w is string => typeof w === "string");
      for (const flag of ["--help", "-h"]) {
        out = [];
        expect(await runCli(DEV, [...args, flag])).toBe(0);
        const help = out.join("\n");
        expect(help).toMatch(new RegExp(`^usage: modeltap ${args.join(" ")}\\b`));
        expect(help).toMatch(/\nexamples?:\n {2}\S/);
        if (!help.includes("\ncommands:\n")) {
          expect(help).toContain("\noptions:\n");
          expect(help).toContain("-h, --help");
          expect(help).toMatch(/\nenvironment \(docs\/config\.md\):\n {2}MODELTAP_/);
          expect(help).toContain("\nexit codes:\n  0  success");
        }
      }
      expect(err).toEqual([]);
    },
  );

  it("answers `help` and `--help` at the top with every command, and prints the version", async () => {
    expect(await runCli(DEV, ["--help"])).toBe(0);
    for (const c of DEV.commands) expect(out.join("\n")).toContain(`  ${c.name} `);
    out = [];
    expect(await runCli(DEV, ["--version"])).toBe(0);
    expect(out).toEqual([`modeltap ${DEV.version}`]);
    expect(DEV.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("prints the help to stderr and exits 2 without a command, and for an unknown one", async () => {
    expect(await runCli(DEV, [])).toBe(2);
    expect(err.join("\n")).toContain("usage: modeltap <command>");
    err = [];
    expect(await runCli(DEV, ["colector"])).toBe(2);
    expect(err[0]).toMatch(/^modeltap: unknown command "colector"/);
  });
});

/** A program around one command that records what the preamble handed it. */
function probe(command: Partial<Command>, env: NodeJS.ProcessEnv = {}) {
  const seen: RunContext[] = [];
  const load = vi.fn(() => loadConfig(env));
  const program: Program<Config> = {
    name: "modeltap",
    version: "1.2.3",
    settings: [],
    loadConfig: load,
    commands: [
      {
        name: "probe",
        summary: "records its context",
        examples: ["modeltap probe"],
        options: {
          limit: { type: "string", value: "N", description: "a number" },
          json: { type: "boolean", description: "JSON" },
        },
        args: "<id>",
        async run(ctx) {
          seen.push(ctx);
          return 0;
        },
        ...command,
      },
    ],
  };
  return { program, seen, load };
}

describe("the preamble", () => {
  it("parses options and positionals, loads the config once, and hands both to the command", async () => {
    const { program, seen, load } = probe({});
    expect(await runCli(program, ["probe", "abc", "--limit", "5", "--json"])).toBe(0);
    expect(load).toHaveBeenCalledTimes(1);
    expect(seen[0]!.options).toEqual({ limit: "5", json: true });
    expect(seen[0]!.positionals).toEqual(["abc"]);
    expect(seen[0]!.config.ports.collector).toBe(50051);
    expect(await runCli(program, ["probe", "--limit=7"])).toBe(0);
    expect(seen[1]!.options.limit).toBe("7");
  });

  it.each([
    [["probe", "--lmit", "5"], "--lmit: unknown option (known: --limit, --json, --help)"],
    [["probe", "--limit"], "--limit: needs a value"],
    [["probe", "--json=yes"], "--json: takes no value"],
    [["probe", "a", "b"], 'probe: unexpected argument "b" (takes <id>)'],
    [["probe", "--limit", "-5"], '--limit: needs a value (one starting with "-" is written --limit=-value)'],
    [
      ["probe", "--limit", "--json"],
      '--limit: needs a value (one starting with "-" is written --limit=-value)',
    ],
    [["probe", "--help=1"], "--help: takes no value"],
    [["probe", "-x"], "-x: unknown option (known: --limit, --json, --help)"],
  ])("refuses %j before loading any config: %s", async (argv, problem) => {
    const { program, seen, load } = probe({});
    expect(await runCli(program, argv)).toBe(1);
    expect(seen).toEqual([]);
    expect(load).not.toHaveBeenCalled();
    expect(err.join("\n")).toContain(`  - ${problem}`);
    expect(err.join("\n")).toContain("(see `modeltap probe --help`)");
  });

  it("refuses an argument to a command that takes none", async () => {
    const { program } = probe({ args: undefined });
    expect(await runCli(program, ["probe", "extra"])).toBe(1);
    expect(err.join("\n")).toContain('probe: unexpected argument "extra" (takes none)');
  });

  it("names the subcommands when none or an unknown one is given", async () => {
    for (const argv of [["captures"], ["captures", "lst"]]) {
      err = [];
      expect(await runCli(DEV, argv)).toBe(1);
      expect(err.join("\n")).toMatch(/captures: expected one of list, get, body, delete, got "(lst)?"/);
    }
  });

  it("reports every configuration problem at once, and exits 1", async () => {
    const { program, seen } = probe({}, { MODELTAP_LOG_LEVEL: "loud", MODELTAP_FOO: "1" });
    expect(await runCli(program, ["probe"])).toBe(1);
    expect(seen).toEqual([]);
    expect(err.join("\n")).toMatch(/invalid configuration:\n {2}- MODELTAP_FOO: unknown setting/);
    expect(err.join("\n")).toContain("MODELTAP_LOG_LEVEL: must be one of");
  });

  it("prints a deprecated setting's warning on stderr (a command that prints) or in the log", async () => {
    const { program } = probe({}, { MODELTAP_INLINE_MAX_BYTES: "4096" });
    expect(await runCli(program, ["probe"])).toBe(0);
    const warning = "MODELTAP_INLINE_MAX_BYTES is deprecated; rename it to MODELTAP_NATS_INLINE_MAX_BYTES";
    expect(err).toEqual([`modeltap probe: warning: ${warning}`]);
    // A long-running process logs it (pino writes JSON lines to stdout)...
    const written: string[] = [];
    const write = vi
      .spyOn(process.stdout, "write")
      .mockImplementation((chunk: string | Uint8Array) => written.push(String(chunk)) > 0);
    err = [];
    const logged = probe({ logs: true }, { MODELTAP_INLINE_MAX_BYTES: "4096" });
    expect(await runCli(logged.program, ["probe"])).toBe(0);
    write.mockRestore();
    expect(err).toEqual([]);
    expect(written.map((l) => JSON.parse(l) as { level: number; msg: string })).toEqual([
      expect.objectContaining({ level: 40, msg: warning }),
    ]);
    // ...unless its log level would drop it: then stderr.
    const quiet = probe({ logs: true }, { MODELTAP_INLINE_MAX_BYTES: "4096", MODELTAP_LOG_LEVEL: "error" });
    expect(await runCli(quiet.program, ["probe"])).toBe(0);
    expect(err).toEqual([`modeltap probe: warning: ${warning}`]);
  });

  it("turns errors into exit code 1: a typed one with its code, any other with its stack", async () => {
    const typed = probe({
      run: () => Promise.reject(new ModeltapError("NOT_FOUND", 'no capture with id "x"')),
    });
    expect(await runCli(typed.program, ["probe"])).toBe(1);
    expect(err).toEqual(['modeltap probe: [NOT_FOUND] no capture with id "x"']);
    err = [];
    const other = probe({ run: () => Promise.reject(new Error("boom")) });
    expect(await runCli(other.program, ["probe"])).toBe(1);
    expect(err[0]).toMatch(/^modeltap probe: Error: boom/);
  });

  it("passes a command's own exit code through", async () => {
    const { program } = probe({ run: async () => 3 });
    expect(await runCli(program, ["probe"])).toBe(3);
  });
});

describe("intOption", () => {
  it("takes an integer within bounds, the fallback when absent, and refuses anything else", () => {
    expect(intOption({}, "limit", 20)).toBe(20);
    expect(intOption({ limit: "7" }, "limit", 20, 1, 10)).toBe(7);
    for (const bad of ["0", "11", "1.5", "x", ""]) {
      expect(() => intOption({ limit: bad }, "limit", 20, 1, 10)).toThrow(
        /--limit: must be an integer from 1 to 10/,
      );
    }
  });
});
