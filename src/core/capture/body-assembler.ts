/**
 * Assembles a body from ext_proc chunks up to a cap. Past the cap the bytes are only counted:
 * truncation is a flag on the record, never an error.
 */
export class BodyAssembler {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  private seen = 0;

  constructor(private readonly maxBytes: number) {}

  push(chunk: Uint8Array): void {
    this.seen += chunk.byteLength;
    const room = this.maxBytes - this.kept;
    if (room <= 0 || chunk.byteLength === 0) return;
    const take = chunk.byteLength <= room ? chunk : chunk.subarray(0, room);
    // Copy: gRPC may reuse the buffer the chunk points into.
    this.chunks.push(Buffer.from(take));
    this.kept += take.byteLength;
  }

  /** Total bytes seen on the wire. */
  get wireSize(): number {
    return this.seen;
  }

  get truncated(): boolean {
    return this.seen > this.kept;
  }

  bytes(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.kept);
  }
}
