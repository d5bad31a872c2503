/**
 * src/adapters/nats/pub-acks.ts against the stack's real NATS server: every answer JetStream gives
 * a publish (ack, duplicate, a record's own refusal, no stream, no answer) ends the right way,
 * and a closed connection fails what is still waiting.
 */
import { randomUUID } from "node:crypto";
import { connect, ErrorCode, NatsError, RetentionPolicy, type NatsConnection } from "nats";
import { afterAll, beforeAll, expect, it } from "vitest";
import { JetStreamAcks } from "../../src/adapters/nats/pub-acks.js";
import { config } from "./helpers.js";

const token = randomUUID().slice(0, 8);
const STREAM = `PUBACKS_${token}`;
const SUBJECT = `pubacks.${token}`;
let nc: NatsConnection;
let acks: JetStreamAcks;

beforeAll(async () => {
  nc = await connect({ servers: config.natsUrl });
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({
    name: STREAM,
    subjects: [`${SUBJECT}.>`],
    max_msg_size: 1000,
    retention: RetentionPolicy.Limits,
    duplicate_window: 60_000_000_000,
  });
  acks = new JetStreamAcks(nc, 5000);
});

afterAll(async () => {
  const jsm = await nc.jetstreamManager();
  await jsm.streams.delete(STREAM);
  await nc.close();
});

async function failure(p: Promise<void>): Promise<NatsError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(NatsError);
    return err as NatsError;
  }
  throw new Error("the publish succeeded");
}

it("stores each record once: 200 at once are acked, and a second publish of an id is a duplicate", async () => {
  const ids = Array.from({ length: 200 }, (_, i) => `m-${i}`);
  await Promise.all(ids.map((id) => acks.publish(`${SUBJECT}.a`, new TextEncoder().encode(id), id)));
  await acks.publish(`${SUBJECT}.a`, new TextEncoder().encode("again"), "m-7");
  const info = await (await nc.jetstreamManager()).streams.info(STREAM);
  expect(info.state.messages).toBe(200);
  expect(acks.size).toBe(0);
});

it("rejects a record over the stream's max_msg_size with JetStream's own error code", async () => {
  const err = await failure(acks.publish(`${SUBJECT}.big`, new Uint8Array(2000), "big-1"));
  expect(err.api_error?.err_code).toBe(10054);
});

it("rejects a subject no stream takes as no responders", async () => {
  const err = await failure(acks.publish(`nostream.${token}`, new Uint8Array(10), "n-1"));
  expect(err.code).toBe(ErrorCode.NoResponders);
});

it("times out a publish nobody acks, and counts nothing still waiting", async () => {
  // A plain subscriber takes the message but never answers.
  const silent = nc.subscribe(`silent.${token}`);
  const started = performance.now();
  const quick = new JetStreamAcks(nc, 300);
  const err = await failure(quick.publish(`silent.${token}`, new Uint8Array(10), "s-1"));
  expect(err.code).toBe(ErrorCode.Timeout);
  expect(performance.now() - started).toBeGreaterThanOrEqual(300);
  expect(performance.now() - started).toBeLessThan(2000);
  expect(quick.size).toBe(0);
  silent.unsubscribe();
});

it("fails what is still waiting when the connection closes", async () => {
  const own = await connect({ servers: config.natsUrl });
  const ownAcks = new JetStreamAcks(own, 60_000);
  const silent = own.subscribe(`silent2.${token}`);
  const waiting = failure(ownAcks.publish(`silent2.${token}`, new Uint8Array(10), "c-1"));
  await own.flush();
  silent.unsubscribe();
  await own.close();
  expect((await waiting).code).toBe(ErrorCode.ConnectionClosed);
});
