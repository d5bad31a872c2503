/** BlobStore on any S3-compatible service. Keys come from core/storage/object-key.ts (already sanitized). */
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import type { BlobStore } from "../../core/ports.js";

export interface S3Options {
  endpoint: string;
  bucket: string;
  region: string;
}

export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;

  constructor(private readonly options: S3Options) {
    this.client = new S3Client({
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint, forcePathStyle: true } : {}),
      maxAttempts: 3,
      // A hung store must fail the batch (and be retried), not wedge the worker.
      requestHandler: { connectionTimeout: 2000, requestTimeout: 30_000 },
      // No CRC32 over every body on upload (the SDK's default): it cost the worker more CPU than the
      // rest of persisting an image. Integrity on the wire is TCP's (and TLS's, where used).
      requestChecksumCalculation: "WHEN_REQUIRED",
    });
  }

  /** Throws unless the bucket answers. */
  async ping(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.options.bucket }));
  }

  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.options.bucket }));
    } catch {
      await this.client
        .send(new CreateBucketCommand({ Bucket: this.options.bucket }))
        .catch((err: unknown) => {
          if ((err as { name?: string }).name !== "BucketAlreadyOwnedByYou") throw err;
        });
    }
  }

  async put(key: string, body: Uint8Array, contentType: string): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.options.bucket, Key: key, Body: body, ContentType: contentType }),
    );
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
      return res.Body ? await res.Body.transformToByteArray() : undefined;
    } catch (err) {
      if (err instanceof NoSuchKey) return undefined;
      throw err;
    }
  }

  uri(key: string): string {
    return `s3://${this.options.bucket}/${key}`;
  }

  /** S3 answers a delete of a missing key with success, which is what the port asks. */
  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: key }));
  }

  async list(prefix: string, limit: number): Promise<string[]> {
    if (!prefix.endsWith("/"))
      throw new RangeError(`list takes a folder prefix ending in "/", got ${prefix}`);
    const res = await this.client.send(
      new ListObjectsV2Command({
        Bucket: this.options.bucket,
        Prefix: prefix,
        MaxKeys: Math.min(limit, 1000),
      }),
    );
    return (res.Contents ?? []).flatMap((o) => (o.Key ? [o.Key] : [])).slice(0, limit);
  }

  destroy(): void {
    this.client.destroy();
  }
}
