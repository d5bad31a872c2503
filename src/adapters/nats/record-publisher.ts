/**
 * Publishes capture records to JetStream with msgID = capture id (server-side dedupe). Bodies (and
 * input images) over the inline limit go first to the JetStream object store, and the record
 * carries their name.
 */
import type { JetStreamClient, NatsConnection, ObjectStore } from "nats";
import type { RecordPublisher } from "../../core/ports.js";
import type { CaptureRecord, CapturedBody, InputImage } from "../../core/record.js";
import { encodeRecord } from "../../core/storage/record-codec.js";
import { BODY_BUCKET, CAPTURE_SUBJECT_PREFIX, subjectToken } from "./streams.js";

export class JetStreamRecordPublisher implements RecordPublisher {
  private readonly js: JetStreamClient;
  private bodies: Promise<ObjectStore> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly inlineMaxBytes: number,
    private readonly timeoutMs = 5000,
  ) {
    this.js = nc.jetstream({ timeout: timeoutMs });
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
  ): Promise<CapturedBody> {
    if (body.data.byteLength <= this.inlineMaxBytes) return body;
    const ref = `${record.id}/${name}`;
    await (await this.objectStore()).putBlob({ name: ref }, body.data);
    return { ...body, data: new Uint8Array(0), objectRef: ref };
  }

  /**
   * Input images ride inline only while they and the inline bodies together fit in the inline
   * limit, so a message never holds more than twice the limit (two bodies at the limit each);
   * the rest are parked.
   */
  private async parkImages(record: CaptureRecord, inlineBodies: number): Promise<InputImage[]> {
    let inline = inlineBodies;
    const out: InputImage[] = [];
    for (const img of record.inputImages) {
      if (inline + img.data.byteLength <= this.inlineMaxBytes) {
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

  async publish(record: CaptureRecord): Promise<void> {
    if (this.nc.isClosed()) throw new Error("NATS connection closed");
    const request = await this.park(record, "request", record.request);
    const response = await this.park(record, "response", record.response);
    const inputImages = await this.parkImages(record, request.data.byteLength + response.data.byteLength);
    const out = { ...record, request, response, inputImages };
    await this.js.publish(`${CAPTURE_SUBJECT_PREFIX}.${subjectToken(record.model)}`, encodeRecord(out), {
      msgID: record.id,
      timeout: this.timeoutMs,
    });
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
