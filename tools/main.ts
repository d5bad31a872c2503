/**
 * Entry point of the development CLI (`node dist-tools/tools/main.js <command>`). bin/modeltap.js
 * sends `stack`, `demo`, `demo-server` and the top-level help here in a checkout.
 */
import { runCli } from "../src/cli/program.js";
import { DEV } from "./program.js";

const code = await runCli(DEV, process.argv.slice(2));
if (code !== 0) process.exit(code);
process.exitCode = code;
