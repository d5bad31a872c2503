/** src/cli/help.ts: the generated reference in docs/cli.md matches the command definitions. */
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { SETTINGS } from "../../src/config.js";
import { commandHelp, settingsFor, usage } from "../../src/cli/help.js";
import { PRODUCT } from "../../src/cli/product.js";
import { CLI_DOC, renderCliDoc } from "../../tools/docs/cli-doc.js";
import { DEV } from "../../tools/program.js";

describe("the CLI reference", () => {
  it("docs/cli.md holds every command's --help as the definitions render it (else: npm run docs)", () => {
    const doc = fs.readFileSync(CLI_DOC, "utf8");
    expect(renderCliDoc(doc) === doc, "docs/cli.md is out of date: run `npm run docs`").toBe(true);
    for (const c of DEV.commands) expect(doc).toContain(`### \`modeltap ${c.name}\``);
  });

  it("names every setting a command reads, from the settings' readBy", () => {
    const captures = PRODUCT.commands.find((c) => c.name === "captures")!;
    const list = captures.subcommands!.find((c) => c.name === "list")!;
    expect(settingsFor(PRODUCT, [captures, list])).toEqual(["MODELTAP_DATABASE", "MODELTAP_DATABASE_URL"]);
    // A setting only one subcommand reads shows in that subcommand's help alone.
    const body = captures.subcommands!.find((c) => c.name === "body")!;
    expect(settingsFor(PRODUCT, [captures, body])).toEqual(
      expect.arrayContaining([
        "MODELTAP_DATABASE_URL",
        "MODELTAP_OBJECT_STORE",
        "MODELTAP_S3_BUCKET",
        "MODELTAP_PLUGINS",
      ]),
    );
    const help = commandHelp(PRODUCT, [captures, list]);
    expect(help).toContain("usage: modeltap captures list [--model M] [--request-id R] [--limit N] [--json]");
    expect(help).toContain("MODELTAP_DATABASE_URL");
    expect(help).toMatch(/exit codes:\n {2}0 {2}success\n {2}1 {2}failed/);
  });

  it("has every setting read by some command, and every readBy a real command", () => {
    const names = new Set(
      DEV.commands.flatMap((c) => [c.name, ...(c.subcommands ?? []).map((sub) => `${c.name} ${sub.name}`)]),
    );
    for (const s of DEV.settings) {
      expect(s.readBy.length, `${s.env} is read by no command`).toBeGreaterThan(0);
      for (const r of s.readBy) expect(names.has(r), `${s.env}: readBy ${r}`).toBe(true);
    }
    // Every product setting is read by a product command.
    const product = new Set(PRODUCT.commands.map((c) => c.name));
    for (const s of SETTINGS)
      expect(
        s.readBy.some((r) => product.has(r.split(" ")[0]!)),
        s.env,
      ).toBe(true);
  });

  it("shows a subcommand placeholder and positional arguments in the usage line", () => {
    const captures = PRODUCT.commands.find((c) => c.name === "captures")!;
    expect(usage(PRODUCT, [captures])).toBe("modeltap captures <list|get|body|delete>");
    expect(usage(PRODUCT, [captures, captures.subcommands![1]!])).toBe("modeltap captures get [--json] <id>");
  });
});
