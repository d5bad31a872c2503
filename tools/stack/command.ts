/** `modeltap stack up | down | status`: the local real stack (a development command). */
import type { Command } from "../../src/cli/command.js";
import type { StackConfig } from "./settings.js";
import { stackDown, stackStatus, stackUp } from "./stack.js";

const progress = (line: string) => console.error(`[stack] ${line}`);

const up: Command<StackConfig> = {
  name: "up",
  summary:
    "Install what is missing, then start Postgres, NATS, S3, the inference servers, Label Studio, collector, worker, api and Envoy; the product's own MODELTAP_* settings pass through to the processes it starts",
  options: {
    "envoy-config": {
      type: "string",
      value: "FILE",
      description: "run Envoy with this config instead of the shipped envoy/envoy.yaml",
    },
  },
  examples: ["modeltap stack up", "MODELTAP_PG_PORT=5433 modeltap stack up --envoy-config my-envoy.yaml"],
  async run({ config, options }) {
    const envoyConfig = options["envoy-config"];
    await stackUp(config, { progress, ...(typeof envoyConfig === "string" ? { envoyConfig } : {}) });
  },
};

const down: Command<StackConfig> = {
  name: "down",
  summary: "Stop every service of the local stack",
  examples: ["modeltap stack down"],
  async run({ config }) {
    await stackDown(config, progress);
  },
};

const status: Command<StackConfig> = {
  name: "status",
  summary: "Which services are running and ready",
  options: { json: { type: "boolean", description: "print JSON: [{name, pid, port, ready}]" } },
  examples: ["modeltap stack status --json"],
  exitCodes: { 3: "some service is not ready" },
  async run({ config, options }) {
    const services = await stackStatus(config);
    if (options.json) console.log(JSON.stringify(services, null, 2));
    else {
      for (const s of services) {
        console.log(
          `${s.name.padEnd(12)} ${s.ready ? "ready  " : s.pid ? "STARTING" : "stopped"} ${s.pid ? `pid ${s.pid}` : ""} port ${s.port}`,
        );
      }
    }
    return services.every((s) => s.ready) ? 0 : 3;
  },
};

export const stackCommand: Command<StackConfig> = {
  name: "stack",
  summary: "Run the local real stack on 127.0.0.1 (development; logs and pids in $MODELTAP_HOME)",
  examples: ["modeltap stack up", "modeltap stack status", "modeltap stack down"],
  subcommands: [up, down, status],
};
