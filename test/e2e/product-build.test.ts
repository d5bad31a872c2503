/**
 * The product build (dist/) is the product only, and runs with production dependencies alone:
 * a scratch copy with `npm prune --omit=dev` imports every file of it, and every command answers
 * --help. The development tools (dist-tools/) never leak into it.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/config.js";
import { PRODUCT_COMMANDS } from "../../src/cli/product.js";
import type { Command } from "../../src/cli/command.js";
import { DEV_COMMANDS } from "../../tools/program.js";

const run = promisify(execFile);
const DIST = path.join(PACKAGE_ROOT, "dist");

function files(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? files(p) : [p];
  });
}

/** Every command line with --help: each command, and each subcommand. */
function helpLines(commands: readonly Command<never>[]): string[][] {
  return commands.flatMap((c) =>
    c.subcommands ? [[c.name], ...c.subcommands.map((s) => [c.name, s.name])] : [[c.name]],
  );
}

let scratch: string;

beforeAll(async () => {
  scratch = fs.mkdtempSync(path.join(os.tmpdir(), "modeltap-product-"));
  for (const f of ["package.json", "package-lock.json"])
    fs.copyFileSync(path.join(PACKAGE_ROOT, f), path.join(scratch, f));
  fs.cpSync(DIST, path.join(scratch, "dist"), { recursive: true });
  fs.cpSync(path.join(PACKAGE_ROOT, "proto"), path.join(scratch, "proto"), { recursive: true });
  // What the Dockerfile copies besides dist/: the migrations, read at run time.
  const migrations = path.join("src", "adapters", "postgres", "migrations");
  fs.cpSync(path.join(PACKAGE_ROOT, migrations), path.join(scratch, migrations), { recursive: true });
  // Hard links make the copy cheap; npm's bookkeeping file is copied so prune cannot write through.
  await run("cp", ["-al", path.join(PACKAGE_ROOT, "node_modules"), path.join(scratch, "node_modules")]);
  const lock = path.join(scratch, "node_modules", ".package-lock.json");
  fs.rmSync(lock, { force: true });
  fs.copyFileSync(path.join(PACKAGE_ROOT, "node_modules", ".package-lock.json"), lock);
  await run("npm", ["prune", "--omit=dev", "--no-audit", "--no-fund", "--loglevel=error"], { cwd: scratch });
}, 120_000);

afterAll(() => {
  if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
});

describe("the product build", () => {
  it("holds no development tool: no stack, demo or bench code, nothing from tools/ or test/", () => {
    const all = files(DIST).map((f) => path.relative(DIST, f));
    expect(all.filter((f) => /(^|\/)(stack|demo|bench|tools|test)(\/|$)/.test(f))).toEqual([]);
    for (const f of all.filter((f) => f.endsWith(".js"))) {
      const text = fs.readFileSync(path.join(DIST, f), "utf8");
      expect(text, f).not.toMatch(/from "[^"]*\/(tools|test)\/|"autocannon"/);
    }
  });

  it("no longer has its dev dependencies in the scratch copy (the prune worked)", () => {
    for (const dev of ["vitest", "autocannon", "typescript", "eslint"]) {
      expect(fs.existsSync(path.join(scratch, "node_modules", dev)), dev).toBe(false);
    }
    expect(fs.existsSync(path.join(scratch, "node_modules", "pg"))).toBe(true);
  });

  it("imports every file with production dependencies only", async () => {
    const modules = files(path.join(scratch, "dist"))
      .filter((f) => f.endsWith(".js") && f !== path.join(scratch, "dist", "cli", "main.js"))
      .map((f) => path.relative(scratch, f));
    expect(modules.length).toBeGreaterThan(80);
    const script = `for (const m of ${JSON.stringify(modules)}) await import("./" + m);\nconsole.log("imported", ${modules.length});`;
    const out = await run(process.execPath, ["--input-type=module", "-e", script], { cwd: scratch });
    expect(out.stdout.trim()).toBe(`imported ${modules.length}`);
  });

  it("answers --version and every command's --help with exit 0", async () => {
    const main = path.join(scratch, "dist", "cli", "main.js");
    const env = { PATH: process.env.PATH ?? "" };
    expect((await run(process.execPath, [main, "--version"], { env })).stdout).toMatch(
      /^modeltap \d+\.\d+\.\d+/,
    );
    for (const line of helpLines(PRODUCT_COMMANDS)) {
      const out = await run(process.execPath, [main, ...line, "--help"], { env });
      expect(out.stdout, line.join(" ")).toContain(`usage: modeltap ${line.join(" ")}`);
    }
    // The development commands are not in it.
    const err = await run(process.execPath, [main, "stack", "status"], { env }).catch(
      (e: { code: number }) => e,
    );
    expect(err).toMatchObject({ code: 2 });
  });
});

describe("bin/modeltap.js in a checkout", () => {
  // Every command line's --help is checked in-process by test/unit/program.test.ts; here, that the
  // launcher sends product and development commands to their builds.
  it("answers --help from both builds, and --version, with exit 0", async () => {
    const bin = path.join(PACKAGE_ROOT, "bin", "modeltap.js");
    const top = await run(process.execPath, [bin, "--help"]);
    for (const c of [...PRODUCT_COMMANDS, ...DEV_COMMANDS]) expect(top.stdout).toContain(`  ${c.name} `);
    for (const line of [["captures", "get"], ["stack", "up"], ["demo-server"]]) {
      const out = await run(process.execPath, [bin, ...line, "-h"]);
      expect(out.stdout, line.join(" ")).toContain(`usage: modeltap ${line.join(" ")}`);
    }
    expect((await run(process.execPath, [bin, "--version"])).stdout).toMatch(/^modeltap \d/);
  });
});
