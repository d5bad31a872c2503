import { builtinModules } from "node:module";
import js from "@eslint/js";
import tseslint from "typescript-eslint";

// The layering rules. test/unit/layering.test.ts proves each one fails the gate when broken.

/**
 * Node's built-in modules that do I/O; the pure core may use node:zlib (body decoding) and
 * node:crypto (hashes) only.
 */
const NODE_IO = builtinModules.filter((m) => !m.startsWith("_") && m !== "zlib" && m !== "crypto");
/** Clients of the outside world: they belong in adapters. */
const DRIVERS = ["pg", "nats", "@nats-io/*", "@aws-sdk/*", "@smithy/*", "@grpc/*", "prom-client", "pino"];
const ROOMS = "capture|analysis|storage|ground-truth|monitoring";
const APPS = "adapters|cli|collector|worker|api";

const pure = (what) => ({
  paths: NODE_IO.flatMap((m) => [m, `node:${m}`]).map((name) => ({
    name,
    message: `${what} does no I/O: put this behind a port in src/core/ports.ts and an adapter.`,
  })),
  patterns: [
    {
      group: DRIVERS,
      message: `${what} imports no driver: put this behind a port in src/core/ports.ts and an adapter.`,
    },
    {
      regex: `^(\\.\\./)+(${APPS}|tools|test)/|^(\\.\\./)+(config|log)\\.js$`,
      message: `${what} imports no adapter, application, config, logger or tool: they depend on it, not it on them.`,
    },
  ],
});

const rooms = (own) => ({
  regex: `^\\.\\./(${ROOMS.split("|")
    .filter((r) => r !== own)
    .join("|")})/`,
  message: `A room of src/core imports only the core root and itself; move what rooms share to the root.`,
});

/** The core's rule: pure, no plugin implementations, and `rule` for where the file stands. */
const core = (rule) => {
  const base = pure("src/core");
  return {
    ...base,
    patterns: [
      ...base.patterns,
      rule,
      {
        regex: "^(\\.\\./)+plugins/",
        message: "The core declares plugin interfaces; src/plugins implements them.",
      },
    ],
  };
};

export default tseslint.config(
  { ignores: ["dist/", "dist-tools/", "node_modules/", ".modeltap/", "tools/bench/results/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_" }],
      "no-console": "error",
    },
  },
  {
    files: ["bin/**/*.js"],
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly" } },
  },
  {
    files: ["src/cli/**", "tools/**", "scripts/**", "test/**", "bin/**"],
    rules: { "no-console": "off" },
  },
  // The product never imports development tools or tests.
  {
    files: ["src/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            { regex: "^(\\.\\./)+(tools|test)/", message: "The product imports no tool or test code." },
          ],
        },
      ],
    },
  },
  // Tests have their own HTTP client (test/support/http.ts), so changing the demo cannot break them.
  {
    files: ["test/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              regex: "tools/demo/traffic(\\.js)?$",
              message: "Tests send with test/support/http.ts, not the demo's client.",
            },
          ],
        },
      ],
    },
  },
  // Adapters implement ports; they import no application folder.
  {
    files: ["src/adapters/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              regex: "^(\\.\\./)+(cli|collector|worker|api|tools|test)/",
              message: "An adapter imports the core (its ports and types), never an application folder.",
            },
          ],
        },
      ],
    },
  },
  // The core root is shared vocabulary: it imports no room. A room imports the root and itself.
  {
    files: ["src/core/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        core({ regex: `^\\./(${ROOMS})/`, message: "The core root imports no room; rooms import the root." }),
      ],
    },
  },
  ...ROOMS.split("|").map((room) => ({
    files: [`src/core/${room}/**/*.ts`],
    rules: { "no-restricted-imports": ["error", core(rooms(room))] },
  })),
  // Parsers, converters and scalers are pure too (user-plugins.ts loads files: it may do I/O).
  {
    files: ["src/plugins/**/*.ts"],
    ignores: ["src/plugins/user-plugins.ts"],
    rules: { "no-restricted-imports": ["error", pure("src/plugins")] },
  },
);
