#!/usr/bin/env node
// The launcher. Product commands run from the product build (dist/, `npm run build`).
// In a source checkout, the development commands (stack, demo, demo-server) and the full help run
// from the tools' build (dist-tools/, `npm run build:tools`), which never ships; and the local
// stack's settings (MODELTAP_PG_PORT, MODELTAP_HOME, ...) are resolved into the product's, so a
// product command reaches the stack this checkout runs.
import fs from "node:fs";

const root = new URL("../", import.meta.url);
const at = (p) => new URL(p, root);
const name = process.argv[2];

async function main() {
  const hasTools = fs.existsSync(at("dist-tools/tools/main.js"));
  const { PRODUCT } = await import(at("dist/cli/product.js").href);
  const isProduct = PRODUCT.commands.some((c) => c.name === name) || name === "--version";
  if (!isProduct && hasTools) return import(at("dist-tools/tools/main.js").href);
  if (!isProduct && name && !name.startsWith("-") && name !== "help" && fs.existsSync(at("tools/main.ts"))) {
    console.error(
      `modeltap: ${JSON.stringify(name)} is not a product command; the development commands (stack, demo, demo-server) need \`npm run build:tools\``,
    );
  }
  if (hasTools) {
    const { productEnv } = await import(at("dist-tools/tools/stack/settings.js").href);
    const problems = [];
    const env = productEnv(process.env, problems);
    if (problems.length) {
      console.error(`modeltap: invalid configuration:\n  - ${problems.join("\n  - ")}`);
      process.exit(1);
    }
    for (const k of Object.keys(process.env)) if (!(k in env)) delete process.env[k];
    Object.assign(process.env, env);
  }
  return import(at("dist/cli/main.js").href);
}

main().catch((err) => {
  if (err?.code === "ERR_MODULE_NOT_FOUND" && /\/dist(-tools)?\//.test(err.message)) {
    const build = /\/dist-tools\//.test(err.message) ? "npm run build:tools" : "npm run build";
    console.error(`modeltap: not built (${err.message}); run \`${build}\``);
  } else console.error(err);
  process.exit(1);
});
