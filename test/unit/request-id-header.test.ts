/** src/collector/ext-proc.ts requestIdHeader: the bytes the sampler hashes are the bytes Envoy's gate hashes. */
import { describe, expect, it } from "vitest";
import { requestIdHeader } from "../../src/collector/ext-proc.js";

const raw = (key: string, bytes: Buffer) => ({ key, raw_value: bytes });

describe("requestIdHeader", () => {
  it("keeps the header's raw bytes, and reads them as Latin-1 text", () => {
    const id = requestIdHeader({
      headers: [raw(":path", Buffer.from("/")), raw("x-request-id", Buffer.from([0x65, 0xe9]))],
    });
    expect(Buffer.from(id!.bytes)).toEqual(Buffer.from([0x65, 0xe9]));
    expect(id!.text).toBe("e\u00e9");
  });

  it("joins a repeated header with a comma, as Envoy's header match input does", () => {
    const id = requestIdHeader({
      headers: [raw("x-request-id", Buffer.from("a")), raw("x-request-id", Buffer.from("b"))],
    });
    expect(Buffer.from(id!.bytes).toString()).toBe("a,b");
    expect(id!.text).toBe("a,b");
  });

  it("takes a text value when Envoy sends no raw bytes, and has no id for an absent or empty header", () => {
    expect(
      Buffer.from(requestIdHeader({ headers: [{ key: "x-request-id", value: "v1" }] })!.bytes).toString(),
    ).toBe("v1");
    expect(requestIdHeader({ headers: [raw("x-request-id", Buffer.alloc(0))] })).toBeUndefined();
    expect(requestIdHeader({ headers: [raw("x-other", Buffer.from("x"))] })).toBeUndefined();
    expect(requestIdHeader(undefined)).toBeUndefined();
  });
});
