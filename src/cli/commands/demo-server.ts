import { loadConfig } from "../../config.js";
import { createInferenceServer } from "../../demo/inference-server.js";
import { createLogger } from "../../log.js";
import { parseArgs } from "../args.js";
import type { Command } from "../command.js";
import { onShutdown } from "../shutdown.js";

export const demoServerCommand: Command = {
  name: "demo-server",
  usage: "demo-server",
  summary: "Run the small demo inference server (Open Inference Protocol JSON)",
  async run(args) {
    parseArgs(args, {});
    const config = loadConfig();
    const log = createLogger(config.logLevel, "demo-server");
    const server = createInferenceServer();
    await new Promise<void>((resolve) => server.listen(config.ports.demo, config.listenHost, resolve));
    log.info({ port: config.ports.demo }, "demo inference server listening");
    await onShutdown(log);
    server.close();
  },
};
