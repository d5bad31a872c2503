/**
 * src/plugins/parsers/formats/multipart.ts does work proportional to the body: it searches each
 * byte a bounded number of times, whatever the line breaks. Measured as the bytes Buffer#indexOf
 * has to read (the real search, only counted), not as time: an LF-only body of many parts used to
 * be rescanned to its end for every part (a CRLF delimiter, then a blank line, neither there).
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseMultipart } from "../../src/plugins/parsers/formats/multipart.js";

const BOUNDARY = "b0undary";
const TYPE = `multipart/form-data; boundary=${BOUNDARY}`;

/** `parts` form fields of `size` bytes each ("--" inside the data, not at a line start). */
function body(nl: string, parts: number, size: number): Buffer {
  const data = (i: number) => `${i}:`.padEnd(size - 12, "x") + `--${BOUNDARY}!`.slice(0, 12);
  const out: string[] = [];
  for (let i = 0; i < parts; i++) {
    out.push(`--${BOUNDARY}${nl}Content-Disposition: form-data; name="f${i}"${nl}${nl}${data(i)}${nl}`);
  }
  out.push(`--${BOUNDARY}--${nl}`);
  return Buffer.from(out.join(""), "latin1");
}

/** Bytes every Buffer#indexOf call reads while `run` runs: up to its match, or to the end. */
function bytesSearched(run: () => void): number {
  const spy = vi.spyOn(Buffer.prototype, "indexOf");
  try {
    run();
    let total = 0;
    spy.mock.calls.forEach(([needle, from], i) => {
      const haystack = spy.mock.contexts[i] as Buffer;
      const start = typeof from === "number" ? from : 0;
      const found = spy.mock.results[i]!.value as number;
      const length = typeof needle === "string" ? Buffer.byteLength(needle) : (needle as Buffer).length;
      total += found >= 0 ? found - start + length : haystack.length - start;
    });
    return total;
  } finally {
    spy.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

describe("parseMultipart scales with the body", () => {
  for (const [name, nl] of [
    ["LF-only", "\n"],
    ["CRLF", "\r\n"],
  ] as const) {
    it(`reads a 2 MiB ${name} body of 4096 parts a bounded number of times per byte`, () => {
      const bytes = body(nl, 4096, 512);
      expect(bytes.length).toBeGreaterThan(2 * 1024 * 1024);
      let parts: ReturnType<typeof parseMultipart> = [];
      const searched = bytesSearched(() => (parts = parseMultipart(bytes, TYPE)));
      expect(parts).toHaveLength(4096);
      expect(parts[4095]!.name).toBe("f4095");
      expect(Buffer.from(parts[7]!.data).toString("latin1")).toMatch(/^7:x+--b0undary!$/);
      // Rescanning to the end per part would be about 4096 × 1 MiB.
      expect(searched).toBeLessThan(3 * bytes.length);
    });
  }

  it("still ends the headers of a part with no data at the line break before the next delimiter", () => {
    for (const nl of ["\n", "\r\n"]) {
      const text = `--b${nl}Content-Disposition: form-data; name="e"${nl}${nl}--b${nl}Content-Disposition: form-data; name="f"${nl}${nl}x${nl}--b--`;
      const parts = parseMultipart(Buffer.from(text), "multipart/form-data; boundary=b");
      expect(parts.map((p) => [p.name, Buffer.from(p.data).toString()])).toEqual([
        ["e", ""],
        ["f", "x"],
      ]);
    }
  });
});
