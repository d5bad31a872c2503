/**
 * src/adapters/nats/pub-acks.ts ackOutcome: each answer JetStream gives a publish, read as
 * js.publish reads it (test/e2e/nats-pub-acks.test.ts sends them through the real server).
 */
import { ErrorCode, headers } from "nats";
import { expect, it } from "vitest";
import { ackOutcome } from "../../src/adapters/nats/pub-acks.js";

const json = (v: unknown) => ({ data: new TextEncoder().encode(JSON.stringify(v)), headers: undefined });

it("takes a PubAck, a duplicate one too", () => {
  expect(ackOutcome(json({ stream: "CAPTURES", seq: 7 }))).toBeUndefined();
  expect(ackOutcome(json({ stream: "CAPTURES", seq: 7, duplicate: true }))).toBeUndefined();
});

it("keeps the server's error, with its err_code, for the caller to judge", () => {
  const err = ackOutcome(
    json({ error: { code: 400, err_code: 10054, description: "message size exceeds maximum allowed" } }),
  );
  expect(err?.api_error).toEqual({
    code: 400,
    err_code: 10054,
    description: "message size exceeds maximum allowed",
  });
  expect(err?.message).toBe("message size exceeds maximum allowed");
});

it("reads a 503 status as no responders (no stream takes the subject), and another status as itself", () => {
  expect(ackOutcome({ data: new Uint8Array(0), headers: headers(503, "No Responders") })?.code).toBe(
    ErrorCode.NoResponders,
  );
  const other = ackOutcome({ data: new Uint8Array(0), headers: headers(408, "Request Timeout") });
  expect(other?.code).toBe("408");
  expect(other?.message).toBe("Request Timeout");
});

it("refuses an answer that is not a PubAck", () => {
  expect(ackOutcome({ data: new TextEncoder().encode("not json"), headers: undefined })?.code).toBe(
    ErrorCode.JetStreamInvalidAck,
  );
  expect(ackOutcome(json({ seq: 1 }))?.code).toBe(ErrorCode.JetStreamInvalidAck);
});
