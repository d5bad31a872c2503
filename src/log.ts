/**
 * The one root logger. Components take child loggers; exchanges log with request_id.
 * Bodies are never logged, and secret headers are redacted by path as a second line of defence.
 */
import { pino, type Logger } from "pino";

export type { Logger };

export function createLogger(level: string, name: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      name,
      level,
      base: { pid: process.pid, component: name },
      redact: {
        paths: ["headers.authorization", "headers.cookie", "headers['x-api-key']", "headers['set-cookie']"],
        censor: "[REDACTED]",
      },
    },
    destination,
  );
}
