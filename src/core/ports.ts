/**
 * The small interfaces the core needs from the outside world. Adapters under src/adapters
 * implement them; nothing in src/core imports an I/O library.
 */
import type { CaptureRecord } from "./record.js";
import type { CaptureRow } from "./persist-plan.js";

/** Publishes finished capture records (collector → JetStream). */
export interface RecordPublisher {
  publish(record: CaptureRecord): Promise<void>;
}

/** Object storage for bodies (worker → S3). Puts are idempotent: same key, same bytes. */
export interface BlobStore {
  put(key: string, body: Uint8Array, contentType: string): Promise<void>;
  get(key: string): Promise<Uint8Array | undefined>;
  uri(key: string): string;
}

/** Bodies too large to inline in a JetStream message, parked in a JetStream object store. */
export interface LargeBodyStore {
  get(ref: string): Promise<Uint8Array | undefined>;
  delete(ref: string): Promise<void>;
}

export interface CaptureQuery {
  model?: string;
  limit: number;
}

/** The capture index (worker → Postgres). insertCaptures ignores rows whose id already exists. */
export interface CaptureRepository {
  insertCaptures(rows: readonly CaptureRow[]): Promise<number>;
  listCaptures(q: CaptureQuery): Promise<CaptureRow[]>;
  getCapture(id: string): Promise<CaptureRow | undefined>;
}
