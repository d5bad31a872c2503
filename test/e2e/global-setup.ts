/**
 * Brings the local real stack up once for the end-to-end tests (installing what is missing), and
 * takes it down again afterwards if it was not already running before the tests.
 */
import { loadStackConfig } from "../../tools/stack/settings.js";
import { stackDown, stackStatus, stackUp } from "../../tools/stack/stack.js";

let startedHere = false;

export async function setup(): Promise<void> {
  const config = loadStackConfig();
  const before = await stackStatus(config);
  startedHere = !before.every((s) => s.ready);
  await stackUp(config, { progress: (l) => console.log(`[stack] ${l}`) });
}

export async function teardown(): Promise<void> {
  if (startedHere && process.env.KEEP_STACK !== "1") await stackDown(loadStackConfig());
}
