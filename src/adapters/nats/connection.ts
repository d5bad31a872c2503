/** The NATS connection, reconnecting forever: capture must survive NATS restarts without a restart of its own. */
import { connect, type NatsConnection } from "nats";
import type { Logger } from "../../log.js";

export async function connectNats(url: string, name: string, log: Logger): Promise<NatsConnection> {
  const nc = await connect({
    servers: url.split(",").map((s) => s.trim()),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: true,
    pingInterval: 10_000,
  });
  // max_payload bounds every record (record-publisher.ts parks what would go past it).
  log.info({ server: nc.getServer(), max_payload: nc.info?.max_payload }, "connected to NATS");
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === "disconnect" || s.type === "reconnect")
        log.warn({ event: s.type, data: s.data }, "NATS connection");
    }
  })();
  return nc;
}
