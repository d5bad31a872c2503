/**
 * The worker's durable pull consumer: fetch a batch, hand it to the batch processor, repeat.
 * Several workers may run this on the same durable; JetStream splits the messages between them.
 */
import { headers as natsHeaders, type JsMsg, type NatsConnection } from "nats";
import type { Logger } from "../../log.js";
import type { InboundMessage } from "../../worker/batch.js";
import { CAPTURE_SUBJECT_PREFIX, DLQ_SUBJECT_PREFIX, STREAM, WORKER_DURABLE } from "./streams.js";

export interface ConsumeOptions {
  batch: number;
  lingerMs: number;
}

function inbound(nc: NatsConnection, m: JsMsg): InboundMessage {
  return {
    data: m.data,
    subject: m.subject,
    deliveryCount: m.info.deliveryCount,
    ack: async () => {
      await m.ackAck();
    },
    nak: (delayMs) => m.nak(delayMs),
    deadLetter: async (reason) => {
      const h = natsHeaders();
      h.set("Modeltap-Reason", reason.slice(0, 1024));
      h.set("Modeltap-Original-Subject", m.subject);
      h.set("Modeltap-Deliveries", String(m.info.deliveryCount));
      const suffix = m.subject.startsWith(`${CAPTURE_SUBJECT_PREFIX}.`)
        ? m.subject.slice(CAPTURE_SUBJECT_PREFIX.length + 1)
        : "unknown";
      await nc.jetstream().publish(`${DLQ_SUBJECT_PREFIX}.${suffix}`, m.data, { headers: h });
      m.term(reason.slice(0, 256));
    },
  };
}

/**
 * Run until `signal` aborts. Messages are grouped into batches of up to `batch`, flushed when full
 * or `lingerMs` after the first one arrived, and handled one batch at a time. `handle` must settle
 * every message it is given.
 */
export async function consumeCaptures(
  nc: NatsConnection,
  options: ConsumeOptions,
  handle: (batch: InboundMessage[]) => Promise<void>,
  log: Logger,
  signal: AbortSignal,
): Promise<void> {
  const js = nc.jetstream();
  let chain: Promise<void> = Promise.resolve();
  let pending: InboundMessage[] = [];
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (pending.length === 0) return chain;
    const batch = pending;
    pending = [];
    chain = chain
      .then(() => handle(batch))
      .catch((err: unknown) => log.error({ err }, "batch handler failed"));
    return chain;
  };
  while (!signal.aborted) {
    try {
      const consumer = await js.consumers.get(STREAM, WORKER_DURABLE);
      const messages = await consumer.consume({ max_messages: options.batch * 2 });
      const stop = () => messages.stop();
      signal.addEventListener("abort", stop, { once: true });
      for await (const m of messages) {
        pending.push(inbound(nc, m));
        if (pending.length >= options.batch) await flush();
        else timer ??= setTimeout(() => void flush(), options.lingerMs);
      }
      signal.removeEventListener("abort", stop);
    } catch (err) {
      if (signal.aborted) break;
      log.warn({ err }, "consume failed; retrying in 1s");
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  await flush();
}
