/** A logger whose lines a test can read back, to check what was logged and at which level. */
import { Writable } from "node:stream";
import { createLogger, type Logger } from "../../src/log.js";

export interface CapturedLog {
  log: Logger;
  /** Every line written so far, parsed (pino's JSON: level, msg and the line's fields). */
  lines: Array<Record<string, unknown>>;
}

export function captureLog(level = "info"): CapturedLog {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      cb();
    },
  });
  return { log: createLogger(level, "test", sink), lines };
}
