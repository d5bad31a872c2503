/**
 * src/adapters/fs/dataset-file.ts: training datasets read as pandas reads them
 * (test/fixtures/datasets/expected.json, from tools/oracle/dataset_fixtures.py), and every hostile
 * or malformed file failing with a DatasetError that names the line, column or limit.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readDataset, type DatasetLimits } from "../../src/adapters/fs/dataset-file.js";
import { DatasetError } from "../../src/core/errors.js";

const FIXTURES = path.join(import.meta.dirname, "..", "fixtures", "datasets");
const expected = JSON.parse(fs.readFileSync(path.join(FIXTURES, "expected.json"), "utf8")) as Record<
  string,
  { columns: string[]; rows: unknown[]; bytes: number; sha256: string }
>;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "modeltap-dataset-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;
function file(ext: string, content: string | Buffer): string {
  const p = path.join(tmp, `f${n++}${ext}`);
  fs.writeFileSync(p, content);
  return p;
}

async function failure(p: string, limits?: Partial<DatasetLimits>): Promise<string> {
  const err = await readDataset(p, limits).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DatasetError);
  expect((err as DatasetError).code).toBe("DATASET_INVALID");
  return (err as DatasetError).message;
}

describe("readDataset reads what pandas reads", () => {
  for (const [name, format] of [
    ["iris.csv", "csv"],
    ["iris.jsonl", "jsonl"],
    ["iris.parquet", "parquet"],
    ["iris-zstd.parquet", "parquet"],
  ] as const) {
    it(name, async () => {
      const want = expected[name]!;
      const got = await readDataset(path.join(FIXTURES, name));
      expect(got.format).toBe(format);
      expect(got.columns).toEqual(want.columns);
      expect(got.rows).toEqual(want.rows);
      expect(got.bytes).toBe(want.bytes);
      expect(got.sha256).toBe(want.sha256);
      for (const row of got.rows) expect(Object.getPrototypeOf(row)).toBeNull();
    });
  }

  it("keeps a column named __proto__ as a plain key", async () => {
    const got = await readDataset(path.join(FIXTURES, "iris.csv"));
    expect(Object.keys(got.rows[0]!)).toContain("__proto__");
    expect(got.rows[0]!["__proto__"]).toBe("p0");
  });
});

describe("CSV", () => {
  it("reads quotes, doubled quotes, CRLF and LF, newlines inside quotes, and a BOM", async () => {
    const text = '\uFEFFa,"b ""x""",c\r\n"1,5",,"say ""hi""\nnow"\n2,"",\r\n';
    const got = await readDataset(file(".csv", text));
    expect(got.columns).toEqual(["a", 'b "x"', "c"]);
    expect(got.rows).toEqual([
      { a: "1,5", 'b "x"': null, c: 'say "hi"\nnow' },
      { a: "2", 'b "x"': null, c: null },
    ]);
  });

  it("types a column as pandas does: numbers, booleans, or strings when any cell is neither", async () => {
    const text =
      "num,flag,hex,under,mixed,big\n-1.5e3,true,0x10,1_000,1,9007199254740993\n.5,FALSE,1,2,x,1\n";
    const got = await readDataset(file(".csv", text));
    expect(got.rows).toEqual([
      { num: -1500, flag: true, hex: "0x10", under: "1_000", mixed: "1", big: "9007199254740993" },
      { num: 0.5, flag: false, hex: "1", under: "2", mixed: "x", big: "1" },
    ]);
  });

  it("keeps a quote inside an unquoted cell, as pandas does, and breaks lines on a lone CR", async () => {
    const got = await readDataset(file(".csv", "height,unit\r5'10\",ft\r6,ft"));
    expect(got.rows).toEqual([
      { height: "5'10\"", unit: "ft" },
      { height: "6", unit: "ft" },
    ]);
  });

  it("skips blank lines and reads a last record without a line break", async () => {
    const got = await readDataset(file(".CSV", "a,b\n\n1,2\r\n\r\n3,4"));
    expect(got.rows).toEqual([
      { a: 1, b: 2 },
      { a: 3, b: 4 },
    ]);
  });

  it("fails on a ragged row with its line number", async () => {
    expect(await failure(file(".csv", 'a,b,c\n1,2,3\n"x\ny",5\n'))).toMatch(
      /: line 3 has 2 cells, the header has 3$/,
    );
  });

  it("fails on duplicate and empty column names, naming them", async () => {
    expect(await failure(file(".csv", "a,b,a,,b\n1,2,3,4,5\n"))).toMatch(
      /line 1 \(the header\): empty column names at positions 4; duplicate column names "a", "b"$/,
    );
  });

  it("fails on an unterminated quote, and on text after a closing quote", async () => {
    expect(await failure(file(".csv", 'a\n1\n"open\nmore'))).toMatch(
      /line 3: a quoted cell is never closed$/,
    );
    expect(await failure(file(".csv", 'a,b\n"x"y,1\n'))).toMatch(
      /line 2, column 1: a character after a closing quote/,
    );
  });

  it("fails on an empty file and on bytes that are not UTF-8", async () => {
    expect(await failure(file(".csv", ""))).toMatch(/empty: a CSV file needs a header row$/);
    expect(await failure(file(".csv", Buffer.from([0x61, 0x0a, 0xff, 0xfe, 0x0a])))).toMatch(
      /not valid UTF-8/,
    );
  });
});

describe("JSON lines", () => {
  it("reads the union of keys in first-seen order, a missing key as null", async () => {
    const got = await readDataset(file(".ndjson", '{"a":1,"b":"x"}\r\n\n{"c":true,"a":null}\n  \n'));
    expect(got.format).toBe("jsonl");
    expect(got.columns).toEqual(["a", "b", "c"]);
    expect(got.rows).toEqual([
      { a: 1, b: "x", c: null },
      { a: null, b: null, c: true },
    ]);
  });

  it("fails on bad JSON, a line that is not an object, and a nested value, naming line and column", async () => {
    expect(await failure(file(".jsonl", '{"a":1}\n{"a":\n'))).toMatch(/: line 2: not valid JSON$/);
    expect(await failure(file(".jsonl", '{"a":1}\n[1]\n'))).toMatch(/: line 2: not a JSON object/);
    expect(await failure(file(".jsonl", '{"a":1}\n\n{"a":2,"tags":[1]}\n'))).toMatch(
      /: line 3, column "tags": a nested array;/,
    );
    expect(await failure(file(".jsonl", '{"a":{"b":1}}\n'))).toMatch(/line 1, column "a": a nested object;/);
  });

  it("bounds a line by what the largest valid row could take", async () => {
    const limits = { maxColumns: 2, maxCellChars: 10 };
    // 2 × (12 × 10 + 16) + 2 = 274 characters at most.
    expect(await failure(file(".jsonl", `{"a":"${" ".repeat(300)}"}`), limits)).toMatch(
      /line 1: longer than 274 characters/,
    );
  });
});

describe("Parquet", () => {
  it("refuses an int64 that a number cannot hold, and a nested column", async () => {
    expect(await failure(path.join(FIXTURES, "unsafe-int.parquet"))).toMatch(
      /row 2, column "id": an integer beyond ±2\^53/,
    );
    expect(await failure(path.join(FIXTURES, "nested.parquet"))).toMatch(
      /nested or repeated columns \("tags"\)/,
    );
  });

  it("refuses a file that is not Parquet", async () => {
    expect(await failure(file(".parquet", "a,b\n1,2\n"))).toMatch(/not a readable Parquet file/);
  });

  it("budgets rows and columns from the footer, and decompressed pages against maxBytes", async () => {
    const iris = path.join(FIXTURES, "iris.parquet");
    expect(await failure(iris, { maxRows: 39 })).toMatch(/40 rows, over maxRows \(39\)$/);
    expect(await failure(iris, { maxColumns: 10 })).toMatch(/11 columns, over maxColumns \(10\)$/);
    expect(await failure(iris, { maxCells: 439 })).toMatch(/40 rows × 11 columns is over maxCells \(439\)$/);
    expect(await failure(iris, { maxCellChars: 19 })).toMatch(/column "note": a cell over maxCellChars \(19/);
  });

  it("charges decompressed pages to maxBytes before allocating them", async () => {
    // 3.4 kB on disk, 64 kB of text once decompressed.
    const bomb = path.join(FIXTURES, "compressible.parquet");
    expect(fs.statSync(bomb).size).toBeLessThan(10_000);
    expect(await failure(bomb, { maxBytes: 10_000 })).toMatch(
      /pages decompress to over maxBytes \(10000 bytes\)/,
    );
    const got = await readDataset(bomb, { maxBytes: 70_000 });
    expect(got.rows).toHaveLength(8);
    expect(got.rows[7]!["text"]).toBe("ab".repeat(4000));
  });
});

describe("formats and limits", () => {
  it("names the three formats for any other extension", async () => {
    expect(await failure(file(".tsv", "a\tb\n"))).toMatch(
      /unknown dataset format "\.tsv"; use a \.csv, \.jsonl \(or \.ndjson\) or \.parquet file$/,
    );
    expect(await failure(path.join(tmp, "missing.csv"))).toMatch(/missing\.csv: cannot open/);
  });

  it("checks the file's size before reading it", async () => {
    const p = file(".csv", "a\n" + "1\n".repeat(100));
    expect(await failure(p, { maxBytes: 201 })).toMatch(/202 bytes, over maxBytes \(201 bytes\)$/);
    await expect(readDataset(p, { maxBytes: 202 })).resolves.toMatchObject({ bytes: 202 });
  });

  it("fails past maxRows, maxColumns, maxCellChars and maxCells, with the line", async () => {
    const csv = file(".csv", "a,b\n1,2\n3,4\n5,6\n");
    expect(await failure(csv, { maxRows: 2 })).toMatch(/line 4: more than maxRows \(2\) rows$/);
    expect(await failure(csv, { maxColumns: 1 })).toMatch(/line 1: more than maxColumns \(1\) cells$/);
    expect(await failure(csv, { maxCells: 5 })).toMatch(/line 4: 3 rows × 2 columns is over maxCells \(5\)$/);
    expect(await failure(file(".csv", 'a\n1\n"12345\n6"\n'), { maxCellChars: 5 })).toMatch(
      /line 3, column 1: a cell over maxCellChars \(5 characters\)$/,
    );
    const jsonl = file(".jsonl", '{"a":1}\n{"b":2}\n{"c":"xyz"}\n');
    expect(await failure(jsonl, { maxColumns: 2 })).toMatch(/line 3: more than maxColumns \(2\) columns$/);
    expect(await failure(jsonl, { maxCellChars: 2 })).toMatch(/line 3, column "c": a cell over maxCellChars/);
    expect(await failure(jsonl, { maxRows: 2 })).toMatch(/line 3: more than maxRows \(2\) rows$/);
  });

  it("refuses a limit that is not a positive integer", async () => {
    expect(await failure(path.join(FIXTURES, "iris.csv"), { maxRows: 0 })).toMatch(
      /dataset limit maxRows must be a positive integer, got 0/,
    );
  });

  it("reports progress every 10,000 rows and at the end", async () => {
    const p = file(".csv", "x,y\n" + Array.from({ length: 25_000 }, (_, i) => `${i},${i % 7}\n`).join(""));
    const seen: number[] = [];
    const got = await readDataset(p, {}, (rows) => seen.push(rows));
    expect(got.rows).toHaveLength(25_000);
    expect(got.rows[24_999]).toEqual({ x: 24_999, y: 24_999 % 7 });
    expect(seen).toEqual([10_000, 20_000, 25_000]);
  });
});
