/** JetStream topology: one stream for captures, one for dead letters, one object store for big bodies. */
import {
  AckPolicy,
  DeliverPolicy,
  RetentionPolicy,
  StorageType,
  nanos,
  type JetStreamManager,
  type StreamConfig,
} from "nats";

export const STREAM = "MODELTAP";
export const DLQ_STREAM = "MODELTAP_DLQ";
export const CAPTURE_SUBJECT_PREFIX = "modeltap.capture";
export const DLQ_SUBJECT_PREFIX = "modeltap.dlq";
export const BODY_BUCKET = "modeltap_bodies";
export const WORKER_DURABLE = "modeltap-worker";

/**
 * A subject token from a model name: NATS splits subjects at dots and reserves `*` and `>`, so only
 * [A-Za-z0-9_-] survive (at most 128 characters), and an empty or dot-only name becomes "_".
 */
export function subjectToken(s: string): string {
  const kept = s.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 128);
  return kept === "" || /^\.+$/.test(kept) ? "_" : kept.replace(/\./g, "_");
}

const streams: Array<Partial<StreamConfig> & { name: string }> = [
  {
    name: STREAM,
    subjects: [`${CAPTURE_SUBJECT_PREFIX}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    duplicate_window: nanos(2 * 60 * 1000),
    max_age: nanos(7 * 24 * 3600 * 1000),
  },
  {
    name: DLQ_STREAM,
    subjects: [`${DLQ_SUBJECT_PREFIX}.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    max_age: nanos(30 * 24 * 3600 * 1000),
  },
];

/** Create the streams and the worker consumer if missing. Idempotent; safe to race. */
export async function ensureTopology(jsm: JetStreamManager, ackWaitMs: number): Promise<void> {
  for (const cfg of streams) {
    try {
      await jsm.streams.info(cfg.name);
    } catch {
      try {
        await jsm.streams.add(cfg);
      } catch (err) {
        // Another process may have created it in between.
        await jsm.streams.info(cfg.name).catch(() => {
          throw err;
        });
      }
    }
  }
  await jsm.consumers.add(STREAM, {
    durable_name: WORKER_DURABLE,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(ackWaitMs),
    // The worker dead-letters by itself after MODELTAP_WORKER_MAX_DELIVER; the server must not give up first.
    max_deliver: -1,
    max_ack_pending: 20_000,
    filter_subject: `${CAPTURE_SUBJECT_PREFIX}.>`,
  });
}
