/**
 * JetStream publishes with acks on one subscription of the collector's own. `js.publish` in the
 * nats client is a request per record: a subscription entry, a timer and an Error (for its stack)
 * each, about 8% of the collector's CPU at 1.0 sampling. Here a record is a plain publish with a
 * reply subject under this publisher's inbox, and the acks come back on one wildcard
 * subscription, matched by the reply token; one sweep a quarter second expires those past their
 * timeout.
 *
 * What JetStream answers (the same as `js.publish` reads): a PubAck `{"stream", "seq",
 * "duplicate"?}`, or `{"error": {"code", "err_code", "description"}}`, or a 503 status when no
 * stream takes the subject. Errors are NatsErrors as the client raises them, with `api_error` set
 * for the server's, so the caller tells a record's own refusal from an outage the same way.
 */
import { createInbox, ErrorCode, headers, NatsError, StringCodec, type Msg, type NatsConnection } from "nats";

interface Pending {
  resolve: () => void;
  reject: (err: Error) => void;
  deadline: number;
}

interface PubAckJson {
  stream?: string;
  error?: { code?: number; err_code?: number; description?: string };
}

const SWEEP_MS = 250;
const RESUBSCRIBE_MS = 1000;
const text = StringCodec();

export class JetStreamAcks {
  /** The inbox acks come to; a new one if the subscription ever fails. */
  private prefix = "";
  /** In publish order, so in deadline order: the sweep stops at the first one still in time. */
  private readonly pending = new Map<string, Pending>();
  private next = 0;
  private readonly sweeper: NodeJS.Timeout;

  /** Every publish waits `timeoutMs` for its ack (one timeout for all keeps them in deadline order). */
  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs: number,
  ) {
    this.subscribe();
    this.sweeper = setInterval(() => this.expire(performance.now()), SWEEP_MS).unref();
    void nc.closed().then(() => {
      clearInterval(this.sweeper);
      this.failAll(NatsError.errorForCode(ErrorCode.ConnectionClosed));
    });
  }

  /** Outstanding publishes (awaiting their ack). */
  get size(): number {
    return this.pending.size;
  }

  private subscribe(): void {
    this.prefix = createInbox();
    this.nc.subscribe(`${this.prefix}.*`, { callback: (err, msg) => this.onAck(err, msg) });
  }

  /** Publish with JetStream's dedupe id; resolves on the stream's ack. */
  publish(subject: string, data: Uint8Array, msgId: string): Promise<void> {
    const token = (this.next++).toString(36);
    const h = headers();
    h.set("Nats-Msg-Id", msgId);
    return new Promise<void>((resolve, reject) => {
      this.pending.set(token, { resolve, reject, deadline: performance.now() + this.timeoutMs });
      try {
        this.nc.publish(subject, data, { reply: `${this.prefix}.${token}`, headers: h });
      } catch (err) {
        this.pending.delete(token);
        reject(err as Error);
      }
    });
  }

  private onAck(err: NatsError | null, msg: Msg): void {
    if (err) {
      // The subscription itself failed (denied, say): nothing more is acked on it. What waits
      // fails now, and publishes use a new inbox a second later (not at once: a subscription the
      // server keeps refusing would loop).
      this.failAll(err);
      setTimeout(() => {
        if (!this.nc.isClosed()) this.subscribe();
      }, RESUBSCRIBE_MS).unref();
      return;
    }
    if (!msg.subject.startsWith(`${this.prefix}.`)) return; // an ack to a failed inbox
    const token = msg.subject.slice(this.prefix.length + 1);
    const waiting = this.pending.get(token);
    if (!waiting) return; // acked after its timeout: the retry's msgID dedupes it
    this.pending.delete(token);
    const outcome = ackOutcome(msg);
    if (outcome) waiting.reject(outcome);
    else waiting.resolve();
  }

  private expire(now: number): void {
    for (const [token, waiting] of this.pending) {
      if (waiting.deadline > now) return;
      this.pending.delete(token);
      waiting.reject(NatsError.errorForCode(ErrorCode.Timeout));
    }
  }

  private failAll(err: NatsError): void {
    for (const waiting of this.pending.values()) waiting.reject(err);
    this.pending.clear();
  }
}

/** Undefined for a good PubAck; the error js.publish would raise otherwise. */
export function ackOutcome(msg: Pick<Msg, "data" | "headers">): NatsError | undefined {
  if (msg.headers?.hasError) {
    return msg.headers.code === 503
      ? NatsError.errorForCode(ErrorCode.NoResponders)
      : new NatsError(msg.headers.description || `status ${msg.headers.code}`, String(msg.headers.code));
  }
  let ack: PubAckJson;
  try {
    ack = JSON.parse(text.decode(msg.data)) as PubAckJson;
  } catch {
    return NatsError.errorForCode(ErrorCode.JetStreamInvalidAck);
  }
  if (ack.error) {
    const err = new NatsError(
      (ack.error.description ?? "JetStream refused the message").toLowerCase(),
      ErrorCode.Unknown,
    );
    err.api_error = {
      code: ack.error.code ?? 0,
      err_code: ack.error.err_code ?? 0,
      description: ack.error.description ?? "",
    };
    return err;
  }
  if (!ack.stream) return NatsError.errorForCode(ErrorCode.JetStreamInvalidAck);
  return undefined;
}
