/**
 * The worker's durable pull consumer: fetch a batch, hand it to the batch processor, repeat.
 * Several workers may run this on the same durable; JetStream splits the messages between them.
 */
import { headers as natsHeaders, type JsMsg, type NatsConnection } from "nats";
import type { Logger } from "../../log.js";
import type { InboundMessage } from "../../core/ports.js";
import { CAPTURE_SUBJECT_PREFIX, DLQ_SUBJECT_PREFIX, STREAM, WORKER_DURABLE } from "./streams.js";

export interface ConsumeOptions {
  batch: number;
  lingerMs: number;
  /** Batches handled at once. */
  parallel: number;
  /** Messages pulled ahead of handling (see prefetchFor). */
  prefetch: number;
}

/**
 * How many messages to pull ahead: enough to keep `parallel` batches busy, but no more than
 * PREFETCH_BUDGET_BYTES of records at their largest (two inline bodies). The NATS server drops a
 * client that falls 64 MiB behind as a slow consumer, and a backlog of image records pulled by
 * message count alone gets there. Never less than one batch.
 */
export function prefetchFor(batch: number, parallel: number, inlineMaxBytes: number): number {
  const worstRecord = 2 * inlineMaxBytes + 16 * 1024;
  return Math.max(batch, Math.min(batch * (parallel + 1), Math.floor(PREFETCH_BUDGET_BYTES / worstRecord)));
}
const PREFETCH_BUDGET_BYTES = 32 * 1024 * 1024;

function inbound(nc: NatsConnection, m: JsMsg): InboundMessage {
  return {
    data: m.data,
    subject: m.subject,
    deliveryCount: m.info.deliveryCount,
    // Plain ack, not ackAck: waiting for the server's confirmation of every ack cost a round trip
    // per message. An ack that is lost only means a redelivery, which the idempotent insert absorbs.
    ack: async () => {
      m.ack();
    },
    nak: (delayMs) => m.nak(delayMs),
    working: () => m.working(),
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
 * or `lingerMs` after the first one arrived; up to `parallel` batches are handled at once (rows are
 * idempotent, so their order does not matter). `handle` must settle every message it is given.
 */
export async function consumeCaptures(
  nc: NatsConnection,
  options: ConsumeOptions,
  handle: (batch: InboundMessage[]) => Promise<void>,
  log: Logger,
  signal: AbortSignal,
): Promise<void> {
  const js = nc.jetstream();
  const inFlight = new Set<Promise<void>>();
  let pending: InboundMessage[] = [];
  let timer: NodeJS.Timeout | undefined;
  const full = () => inFlight.size >= options.parallel;
  const dispatch = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    const p = handle(batch)
      .catch((err: unknown) => log.error({ err }, "batch handler failed"))
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  // The linger timer hands over a partial batch only when a slot is free; otherwise it waits.
  const onLinger = () => {
    timer = undefined;
    if (full()) timer = setTimeout(onLinger, options.lingerMs);
    else dispatch();
  };
  // Back-pressure: take no more messages while `parallel` batches are being handled.
  const slot = async () => {
    while (full()) await Promise.race(inFlight);
  };
  while (!signal.aborted) {
    try {
      const consumer = await js.consumers.get(STREAM, WORKER_DURABLE);
      const messages = await consumer.consume({ max_messages: options.prefetch });
      const stop = () => messages.stop();
      signal.addEventListener("abort", stop, { once: true });
      for await (const m of messages) {
        pending.push(inbound(nc, m));
        if (pending.length >= options.batch) {
          await slot();
          dispatch();
        } else timer ??= setTimeout(onLinger, options.lingerMs);
      }
      signal.removeEventListener("abort", stop);
    } catch (err) {
      if (signal.aborted) break;
      log.warn({ err }, "consume failed; retrying in 1s");
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  await slot();
  dispatch();
  await Promise.all(inFlight);
}
