/** `modeltap demo-server`: the small inference server behind the local stack's Envoy. */
import { onShutdown } from "../../src/cli/shutdown.js";
import type { Command } from "../../src/cli/command.js";
import type { StackConfig } from "../stack/settings.js";
import { createInferenceServer } from "./inference-server.js";

export const demoServerCommand: Command<StackConfig> = {
  name: "demo-server",
  summary: "Run the small demo inference server the demo and the tests use (development)",
  logs: true,
  examples: ["MODELTAP_DEMO_PORT=18081 modeltap demo-server"],
  async run({ config, log }) {
    const server = createInferenceServer();
    await new Promise<void>((resolve) => server.listen(config.ports.demo, config.hosts.demo, resolve));
    log.info({ port: config.ports.demo }, "demo inference server listening");
    await onShutdown(log);
    server.close();
  },
};
