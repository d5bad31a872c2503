/**
 * The development CLI: the product's commands plus the local stack and the demo, with the local
 * stack's settings. Built into dist-tools/ (`npm run build:tools`), never into the product's dist/.
 */
import { SETTINGS } from "../src/config.js";
import type { Command, Program } from "../src/cli/command.js";
import { PRODUCT_COMMANDS, VERSION } from "../src/cli/product.js";
import { demoCommand } from "./demo/command.js";
import { demoServerCommand } from "./demo/server-command.js";
import { stackCommand } from "./stack/command.js";
import { STACK_SETTINGS, loadStackConfig, type StackConfig } from "./stack/settings.js";

export const DEV_COMMANDS: readonly Command<StackConfig>[] = [stackCommand, demoCommand, demoServerCommand];

export const DEV: Program<StackConfig> = {
  name: "modeltap",
  version: VERSION,
  commands: [...PRODUCT_COMMANDS, ...DEV_COMMANDS],
  settings: [...SETTINGS, ...STACK_SETTINGS],
  loadConfig: () => loadStackConfig(),
  footer: `Development commands (a source checkout only, not in the product build): ${DEV_COMMANDS.map((c) => c.name).join(", ")}.`,
};
