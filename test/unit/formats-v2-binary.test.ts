/** src/plugins/parsers/formats/v2-binary.ts: the KServe V2 binary tensor extension, every datatype and every lie about sizes. */
import { describe, expect, it } from "vitest";
import { ParseError } from "../../src/core/plugins.js";
import { decodeV2Binary, fp16ToNumber } from "../../src/plugins/parsers/formats/v2-binary.js";
import { png, utf8 } from "../support/bytes.js";
import { thrown } from "../support/errors.js";

const PNG = png(3, 2);
const parseErrorOf = (run: () => unknown): string => thrown(ParseError, run).message;

/** A V2 binary body: JSON header then the tensors' raw bytes. */
function v2Body(header: unknown, ...tails: Uint8Array[]): { bytes: Uint8Array; length: string } {
  const head = utf8(JSON.stringify(header));
  return { bytes: Buffer.concat([head, ...tails]), length: String(head.byteLength) };
}
const le = (kind: "f32" | "i64" | "u16", values: number[]): Uint8Array => {
  const size = kind === "u16" ? 2 : kind === "f32" ? 4 : 8;
  const view = new DataView(new ArrayBuffer(values.length * size));
  values.forEach((v, i) => {
    if (kind === "f32") view.setFloat32(i * size, v, true);
    else if (kind === "i64") view.setBigInt64(i * size, BigInt(v), true);
    else view.setUint16(i * size, v, true);
  });
  return new Uint8Array(view.buffer);
};
function bytesTensor(...elements: Uint8Array[]): Uint8Array {
  return Buffer.concat(elements.flatMap((e) => [le("i64", [e.byteLength]).subarray(0, 4), e]));
}
const bin = (name: string, datatype: string, shape: number[], size: number) => ({
  name,
  datatype,
  shape,
  parameters: { binary_data_size: size },
});

describe("V2 binary tensor extension", () => {
  it("decodes numeric, BOOL, FP16 and BYTES tensors in order, leaving JSON tensors alone", () => {
    const bytesData = bytesTensor(utf8("héllo"), new Uint8Array([0xff, 0xfe]), PNG);
    const { bytes, length } = v2Body(
      {
        inputs: [
          bin("x", "FP32", [2], 8),
          { name: "j", datatype: "INT32", shape: [1], data: [7] },
          bin("n", "INT64", [2], 16),
          bin("b", "BOOL", [3], 3),
          bin("h", "FP16", [4], 8),
          bin("s", "BYTES", [3], bytesData.byteLength),
        ],
      },
      le("f32", [1.5, -0.25]),
      le("i64", [-3, 2 ** 40]),
      new Uint8Array([1, 0, 2]),
      le("u16", [0x3c00, 0xc000, 0x3555, 0x7c00]),
      bytesData,
    );
    const out = decodeV2Binary(bytes, length, "request");
    const inputs = out.inputs as Array<{ name: string; data: unknown[] }>;
    expect(inputs.map((t) => [t.name, t.data])).toEqual([
      ["x", [1.5, -0.25]],
      ["j", [7]],
      ["n", [-3, 2 ** 40]],
      ["b", [true, false, true]],
      ["h", [1, -2, 0.333251953125, Infinity]],
      ["s", ["héllo", new Uint8Array([0xff, 0xfe]), new Uint8Array(PNG)]],
    ]);
    expect(inputs[5]!.data[1]).toBeInstanceOf(Uint8Array);
  });
  it("decodes FP16 subnormals, the largest value and NaN", () => {
    expect(fp16ToNumber(0x0001)).toBe(2 ** -24);
    expect(fp16ToNumber(0x7bff)).toBe(65504);
    expect(fp16ToNumber(0x8000)).toBe(-0);
    expect(fp16ToNumber(0x7e00)).toBeNaN();
  });
  it("fails when the sizes lie", () => {
    const ok = v2Body({ outputs: [bin("y", "FP32", [2], 8)] }, le("f32", [1, 2]));
    expect(
      parseErrorOf(() => decodeV2Binary(ok.bytes, String(ok.bytes.byteLength + 1), "response")),
    ).toContain("is past the end of the");
    expect(parseErrorOf(() => decodeV2Binary(ok.bytes, "ten", "response"))).toContain("is not a size");
    const short = v2Body({ outputs: [bin("y", "FP32", [4], 16)] }, le("f32", [1, 2]));
    expect(parseErrorOf(() => decodeV2Binary(short.bytes, short.length, "response"))).toContain(
      "tensor outputs[0]: binary_data_size 16 runs past the end of the binary data (8 bytes left)",
    );
    const extra = v2Body({ outputs: [bin("y", "FP32", [1], 4)] }, le("f32", [1, 2]));
    expect(parseErrorOf(() => decodeV2Binary(extra.bytes, extra.length, "response"))).toContain(
      "4 bytes of binary data left over",
    );
    const lying = new Uint8Array([9, 0, 0, 0, 0x61, 0x62]);
    const prefix = v2Body({ inputs: [bin("s", "BYTES", [1], 6)] }, lying);
    expect(parseErrorOf(() => decodeV2Binary(prefix.bytes, prefix.length, "request"))).toContain(
      "length 9 runs past the end",
    );
    const cut = v2Body({ inputs: [bin("s", "BYTES", [1], 2)] }, new Uint8Array([1, 0]));
    expect(parseErrorOf(() => decodeV2Binary(cut.bytes, cut.length, "request"))).toContain(
      "length prefix cut off",
    );
    const odd = v2Body({ inputs: [bin("x", "FP32", [1], 3)] }, new Uint8Array(3));
    expect(parseErrorOf(() => decodeV2Binary(odd.bytes, odd.length, "request"))).toContain(
      "not a whole number of FP32 values",
    );
    const header = v2Body({ inputs: [] });
    expect(parseErrorOf(() => decodeV2Binary(header.bytes, "3", "request"))).toContain(
      "request header: invalid JSON",
    );
  });
});
