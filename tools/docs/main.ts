/** `npm run docs`: rewrites the generated parts of the docs from the code, so they cannot drift. */
import fs from "node:fs";
import { CLI_DOC, renderCliDoc } from "./cli-doc.js";

const before = fs.readFileSync(CLI_DOC, "utf8");
const after = renderCliDoc(before);
if (after !== before) fs.writeFileSync(CLI_DOC, after);
console.log(after === before ? "docs/cli.md is up to date" : "docs/cli.md: command reference rewritten");
