/**
 * Publishes capture records to JetStream with msgID = capture id (server-side dedupe), their acks
 * matched on the publisher's own inbox (pub-acks.ts). Bodies (and input images) over the inline
 * limit go first to the JetStream object store, and the record carries their name. No message
 * exceeds the server's max payload: a record still over it has its analysis parked too, then every
 * body whatever its size; one over it even then is refused.
 */
import { ErrorCode, NatsError, type JetStreamClient, type NatsConnection, type ObjectStore } from "nats";
import { PublishRejectedError } from "../../core/errors.js";
import type { RecordPublisher } from "../../core/ports.js";
import type { CaptureRecord, CapturedBody, InputImage } from "../../core/record.js";
import { encodeRecord } from "../../core/storage/record-codec.js";
import { JetStreamAcks } from "./pub-acks.js";
import { BODY_BUCKET, CAPTURE_SUBJECT_PREFIX, subjectToken } from "./streams.js";

/** NATS's default max payload, for a connection that has not reported its server's yet. */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
/** Room for the headers JetStream publishes with a record (Nats-Msg-Id and the header line). */
const HEADER_ROOM = 1024;
/** JetStream's "message size exceeds maximum allowed" (a stream's max_msg_size). */
const JS_MESSAGE_TOO_LARGE = 10054;

/** A refusal that is this record's alone (its size), apart from errors that stop every record. */
function refusal(err: unknown): unknown {
  if (!(err instanceof NatsError)) return err;
  const tooLarge =
    err.code === ErrorCode.MaxPayloadExceeded || err.api_error?.err_code === JS_MESSAGE_TOO_LARGE;
  return tooLarge
    ? new PublishRejectedError(`JetStream refused the record: ${err.message}`, {
        permanent: true,
        cause: err,
      })
    : err;
}

export class JetStreamRecordPublisher implements RecordPublisher {
  private readonly js: JetStreamClient;
  private readonly acks: JetStreamAcks;
  private bodies: Promise<ObjectStore> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly inlineMaxBytes: number,
    timeoutMs = 5000,
    /** Called when a record's analysis is parked (for a metric). */
    private readonly onAnalysisParked: () => void = () => undefined,
  ) {
    this.js = nc.jetstream({ timeout: timeoutMs });
    this.acks = new JetStreamAcks(nc, timeoutMs);
  }

  private objectStore(): Promise<ObjectStore> {
    this.bodies ??= this.js.views.os(BODY_BUCKET).catch((err: unknown) => {
      this.bodies = undefined;
      throw err;
    });
    return this.bodies;
  }

  private async park(
    record: CaptureRecord,
    name: "request" | "response",
    body: CapturedBody,
    inlineMax: number,
  ): Promise<CapturedBody> {
    if (body.data.byteLength <= inlineMax) return body;
    const ref = `${record.id}/${name}`;
    await (await this.objectStore()).putBlob({ name: ref }, body.data);
    return { ...body, data: new Uint8Array(0), objectRef: ref };
  }

  /**
   * Input images ride inline only while they and the inline bodies together fit in the inline
   * limit, so a message never holds more than twice the limit (two bodies at the limit each);
   * the rest are parked.
   */
  private async parkImages(
    record: CaptureRecord,
    inlineBodies: number,
    inlineMax: number,
  ): Promise<InputImage[]> {
    let inline = inlineBodies;
    const out: InputImage[] = [];
    for (const img of record.inputImages) {
      if (inline + img.data.byteLength <= inlineMax) {
        inline += img.data.byteLength;
        out.push(img);
        continue;
      }
      const ref = `${record.id}/input-${img.instance}`;
      await (await this.objectStore()).putBlob({ name: ref }, img.data);
      out.push({ ...img, data: new Uint8Array(0), objectRef: ref });
    }
    return out;
  }

  /** The record with every body and image over inlineMax parked (0: all of them). */
  private async parkBodies(record: CaptureRecord, inlineMax: number): Promise<CaptureRecord> {
    const request = await this.park(record, "request", record.request, inlineMax);
    const response = await this.park(record, "response", record.response, inlineMax);
    const inline = request.data.byteLength + response.data.byteLength;
    const inputImages = await this.parkImages(record, inline, inlineMax);
    return { ...record, request, response, inputImages };
  }

  /** The largest record the connected server takes (its max_payload, read at connect). */
  private maxRecordBytes(record: CaptureRecord): number {
    const max = this.nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD;
    return max - HEADER_ROOM - Buffer.byteLength(record.id);
  }

  async publish(record: CaptureRecord): Promise<void> {
    if (this.nc.isClosed()) throw new Error("NATS connection closed");
    const limit = this.maxRecordBytes(record);
    let out = await this.parkBodies(record, this.inlineMaxBytes);
    let bytes = encodeRecord(out);
    if (bytes.byteLength > limit && out.analysisJson.byteLength > 0) {
      const ref = `${record.id}/analysis`;
      await (await this.objectStore()).putBlob({ name: ref }, out.analysisJson);
      out = { ...out, analysisJson: new Uint8Array(0), analysisRef: ref };
      this.onAnalysisParked();
      bytes = encodeRecord(out);
    }
    if (bytes.byteLength > limit) {
      out = await this.parkBodies(out, 0);
      bytes = encodeRecord(out);
    }
    if (bytes.byteLength > limit) {
      await this.discard(record).catch(() => undefined);
      throw new PublishRejectedError(
        `capture record is ${bytes.byteLength} bytes with its bodies and analysis parked, over the ${limit} the server's max payload leaves`,
        { permanent: true },
      );
    }
    try {
      await this.acks.publish(`${CAPTURE_SUBJECT_PREFIX}.${subjectToken(record.model)}`, bytes, record.id);
    } catch (err) {
      throw refusal(err);
    }
  }

  /** The names publish may have parked this record's parts under, deleted; a missing one is fine. */
  async discard(record: CaptureRecord): Promise<void> {
    const names = [
      "request",
      "response",
      "analysis",
      ...record.inputImages.map((img) => `input-${img.instance}`),
    ].map((n) => `${record.id}/${n}`);
    const os = await this.objectStore();
    for (const name of names) {
      if (await os.info(name)) await os.delete(name);
    }
  }
}

/** Worker side of the object store. */
export class JetStreamLargeBodyStore {
  private store: Promise<ObjectStore> | undefined;
  constructor(private readonly js: JetStreamClient) {}

  private os(): Promise<ObjectStore> {
    this.store ??= this.js.views.os(BODY_BUCKET).catch((err: unknown) => {
      this.store = undefined;
      throw err;
    });
    return this.store;
  }

  async get(ref: string): Promise<Uint8Array | undefined> {
    return (await (await this.os()).getBlob(ref)) ?? undefined;
  }

  async delete(ref: string): Promise<void> {
    await (await this.os()).delete(ref);
  }
}
