/** src/core/capture/body-assembler.ts: BodyAssembler keeps the first maxBytes, counts every byte, and copies its input. */
import { describe, expect, it } from "vitest";
import { BodyAssembler } from "../../src/core/capture/body-assembler.js";

const bytes = (...xs: number[]) => Buffer.from(xs);

describe("BodyAssembler", () => {
  it("concatenates chunks exactly when under the cap", () => {
    const a = new BodyAssembler(100);
    a.push(bytes(1, 2, 3));
    a.push(new Uint8Array([4, 5]));
    a.push(bytes(6));
    expect([...a.bytes()]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(a.wireSize).toBe(6);
    expect(a.truncated).toBe(false);
  });

  it("keeps everything and is not truncated when the body is exactly the cap", () => {
    const a = new BodyAssembler(5);
    a.push(bytes(1, 2));
    a.push(bytes(3, 4, 5));
    expect([...a.bytes()]).toEqual([1, 2, 3, 4, 5]);
    expect(a.wireSize).toBe(5);
    expect(a.truncated).toBe(false);
  });

  it("keeps the first maxBytes bytes across chunk boundaries and counts the rest", () => {
    const a = new BodyAssembler(5);
    a.push(bytes(1, 2, 3));
    a.push(bytes(4, 5, 6, 7)); // crosses the cap: 4, 5 kept
    a.push(bytes(8, 9)); // entirely past the cap
    expect([...a.bytes()]).toEqual([1, 2, 3, 4, 5]);
    expect(a.bytes().byteLength).toBe(5);
    expect(a.wireSize).toBe(9);
    expect(a.truncated).toBe(true);
  });

  it("truncates a single chunk larger than the cap", () => {
    const a = new BodyAssembler(3);
    a.push(Buffer.from("abcdefgh"));
    expect(a.bytes().toString()).toBe("abc");
    expect(a.wireSize).toBe(8);
    expect(a.truncated).toBe(true);
  });

  it("handles empty chunks and no chunks", () => {
    const none = new BodyAssembler(10);
    expect(none.bytes().byteLength).toBe(0);
    expect(none.wireSize).toBe(0);
    expect(none.truncated).toBe(false);

    const a = new BodyAssembler(4);
    a.push(new Uint8Array(0));
    a.push(bytes(1, 2));
    a.push(Buffer.alloc(0));
    a.push(bytes(3, 4));
    a.push(new Uint8Array(0)); // at the cap: an empty chunk must not flag truncation
    expect([...a.bytes()]).toEqual([1, 2, 3, 4]);
    expect(a.wireSize).toBe(4);
    expect(a.truncated).toBe(false);
  });

  it("copies its input: mutating the source after push does not change bytes()", () => {
    const one = new BodyAssembler(100);
    const src = bytes(1, 2, 3);
    one.push(src);
    src.fill(9);
    expect([...one.bytes()]).toEqual([1, 2, 3]);

    const many = new BodyAssembler(4);
    const pool = Buffer.from([10, 20, 30, 40, 50, 60]);
    many.push(pool.subarray(0, 2));
    many.push(pool.subarray(2, 6)); // truncated to 30, 40
    pool.fill(0);
    expect([...many.bytes()]).toEqual([10, 20, 30, 40]);
  });
});
