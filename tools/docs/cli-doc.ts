/**
 * The generated part of docs/cli.md: every command's --help, from the command definitions.
 * `npm run docs` rewrites it; test/unit/help.test.ts fails when it is out of date.
 */
import path from "node:path";
import { PACKAGE_ROOT } from "../../src/config.js";
import { cliReference } from "../../src/cli/help.js";
import { DEV } from "../program.js";

export const CLI_DOC = path.join(PACKAGE_ROOT, "docs", "cli.md");
const BEGIN = "<!-- generated: cli-reference (npm run docs) -->";
const END = "<!-- /generated: cli-reference -->";

/** docs/cli.md with its generated section rendered from the command definitions. */
export function renderCliDoc(current: string): string {
  const start = current.indexOf(BEGIN);
  const end = current.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${CLI_DOC}: the ${BEGIN} ... ${END} markers are missing`);
  return `${current.slice(0, start + BEGIN.length)}\n\n${cliReference(DEV)}\n${current.slice(end)}`;
}
