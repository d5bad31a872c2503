import { loadConfig } from "../../config.js";
import { ConfigError } from "../../core/errors.js";
import { stackDown, stackStatus, stackUp } from "../../stack/stack.js";
import { parseArgs } from "../args.js";
import type { Command } from "../command.js";

const progress = (line: string) => console.error(`[stack] ${line}`);

export const stackCommand: Command = {
  name: "stack",
  usage: "stack up [--envoy-config FILE] | down | status [--json]",
  summary: "Install (if missing) and run the local real stack on 127.0.0.1",
  async run(args) {
    const [sub, ...rest] = args;
    const config = loadConfig();
    if (sub === "up") {
      const { flags } = parseArgs(rest, { "envoy-config": "string" });
      const envoyConfig = flags["envoy-config"];
      await stackUp(config, { progress, ...(typeof envoyConfig === "string" ? { envoyConfig } : {}) });
      return 0;
    }
    if (sub === "down") {
      parseArgs(rest, {});
      await stackDown(config, progress);
      return 0;
    }
    if (sub === "status") {
      const { flags } = parseArgs(rest, { json: "boolean" });
      const status = await stackStatus(config);
      if (flags.json) console.log(JSON.stringify(status, null, 2));
      else {
        for (const s of status) {
          console.log(
            `${s.name.padEnd(12)} ${s.ready ? "ready  " : s.pid ? "STARTING" : "stopped"} ${s.pid ? `pid ${s.pid}` : ""} port ${s.port}`,
          );
        }
      }
      return status.every((s) => s.ready) ? 0 : 3;
    }
    throw new ConfigError([`stack: expected up, down or status, got ${JSON.stringify(sub)}`]);
  },
};
