#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm run build`.
import("../dist/cli/main.js").catch((err) => {
  console.error(err?.code === "ERR_MODULE_NOT_FOUND" ? "modeltap: not built; run `npm run build`" : err);
  process.exit(1);
});
