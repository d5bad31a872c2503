/** Entry point of the product's CLI (`node dist/cli/main.js <command>`, the container's entrypoint). */
import { runCli } from "./program.js";
import { PRODUCT } from "./product.js";

const code = await runCli(PRODUCT, process.argv.slice(2));
// A failed command may leave pools or sockets open; do not wait for them to time out.
if (code !== 0) process.exit(code);
process.exitCode = code;
