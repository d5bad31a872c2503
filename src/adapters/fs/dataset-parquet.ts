/**
 * The Parquet side of readDataset (dataset-file.ts), on hyparquet. The footer is read first and the
 * schema, rows and columns are budgeted before any data page; row groups are then read one at a
 * time, and every page's decompressed size is charged to maxBytes before it is allocated, so a
 * page header that lies (a decompression bomb) fails instead of exhausting memory.
 */
import { createHash } from "node:crypto";
import type { FileHandle } from "node:fs/promises";
import { parquetMetadataAsync, parquetRead, snappyUncompress } from "hyparquet";
import type { AsyncBuffer, Compressors, FileMetaData, SchemaElement } from "hyparquet";
import {
  decompressBrotli,
  decompressGzip,
  decompressLz4,
  decompressLz4Raw,
  decompressZstd,
} from "hyparquet-compressors";
import { DatasetError } from "../../core/errors.js";
import type { DatasetLimits, DatasetRow, DatasetValue, RowCounter } from "./dataset-rows.js";

const HASH_CHUNK = 1 << 20;

export async function readParquet(
  handle: FileHandle,
  size: number,
  limits: DatasetLimits,
  counter: RowCounter,
): Promise<{ columns: string[]; rows: DatasetRow[]; bytes: number; sha256: string }> {
  const file = fileBuffer(handle, size);
  let metadata: FileMetaData;
  try {
    metadata = await parquetMetadataAsync(file);
  } catch (err) {
    throw new DatasetError(`not a readable Parquet file: ${(err as Error).message}`, { cause: err });
  }
  const columns = flatColumns(metadata.schema, limits);
  const groupRows = metadata.row_groups.map((g) => Number(g.num_rows));
  const total = groupRows.reduce((a, b) => a + b, 0);
  if (total > limits.maxRows) throw new DatasetError(`${total} rows, over maxRows (${limits.maxRows})`);
  counter.checkCells(total, columns.length, "the footer");

  const compressors = budgetedCompressors(limits.maxBytes);
  const rows: DatasetRow[] = [];
  let groupStart = 0;
  for (const n of groupRows) {
    let data: unknown[][] = [];
    try {
      await parquetRead({
        file,
        metadata,
        compressors,
        rowStart: groupStart,
        rowEnd: groupStart + n,
        onComplete: (r) => (data = r),
      });
    } catch (err) {
      if (err instanceof DatasetError) throw err;
      throw new DatasetError(`row ${groupStart + 1} on: ${(err as Error).message}`, { cause: err });
    }
    for (const values of data) {
      const rowNumber = rows.length + 1;
      counter.add(columns.length, `row ${rowNumber}`);
      const row: DatasetRow = Object.create(null);
      columns.forEach((c, i) => (row[c] = parquetCell(values[i], rowNumber, c, limits)));
      rows.push(row);
    }
    groupStart += n;
  }
  return { columns, rows, bytes: size, sha256: await sha256(handle, size) };
}

/** The column names of a flat schema: one level of primitive columns, none repeated. */
function flatColumns(schema: SchemaElement[], limits: DatasetLimits): string[] {
  const top: SchemaElement[] = [];
  // Elements come depth first; skip each top-level column's subtree, without recursion.
  for (let i = 1; i < schema.length;) {
    const column = schema[i]!;
    top.push(column);
    let pending = column.num_children ?? 0;
    for (i++; pending > 0 && i < schema.length; i++) pending += (schema[i]!.num_children ?? 0) - 1;
  }
  if (top.length > limits.maxColumns) {
    throw new DatasetError(`${top.length} columns, over maxColumns (${limits.maxColumns})`);
  }
  const nested = top.filter((e) => (e.num_children ?? 0) > 0 || e.repetition_type === "REPEATED");
  if (nested.length > 0) {
    throw new DatasetError(
      `nested or repeated columns (${nested.map((e) => JSON.stringify(e.name)).join(", ")}); only flat columns of numbers, strings, booleans and dates are read`,
    );
  }
  const names = top.map((e) => e.name);
  if (names.some((n) => n.length > limits.maxCellChars)) {
    throw new DatasetError(`a column name over maxCellChars (${limits.maxCellChars} characters)`);
  }
  const duplicated = new Set(names.filter((n, i) => names.indexOf(n) !== i));
  if (duplicated.size > 0) {
    throw new DatasetError(
      `duplicate column names ${[...duplicated].map((n) => JSON.stringify(n)).join(", ")}`,
    );
  }
  return names;
}

function parquetCell(value: unknown, row: number, column: string, limits: DatasetLimits): DatasetValue {
  const where = () => `row ${row}, column ${JSON.stringify(column)}`;
  if (value === null || value === undefined) return null;
  if (typeof value === "number") {
    if (Number.isNaN(value)) return null; // pandas reads NaN as missing
    if (!Number.isFinite(value)) throw new DatasetError(`${where()}: an infinite number`);
    return value;
  }
  if (typeof value === "bigint") {
    const n = Number(value);
    if (!Number.isSafeInteger(n)) {
      throw new DatasetError(`${where()}: an integer beyond ±2^53, which a number cannot hold exactly`);
    }
    return n;
  }
  if (typeof value === "boolean") return value;
  if (typeof value === "string") {
    if (value.length > limits.maxCellChars) {
      throw new DatasetError(`${where()}: a cell over maxCellChars (${limits.maxCellChars} characters)`);
    }
    return value;
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new DatasetError(`${where()}: a date out of range`);
    return value.toISOString();
  }
  const what = value instanceof Uint8Array ? "binary" : "nested";
  throw new DatasetError(
    `${where()}: a ${what} value; cells must be numbers, strings, booleans, dates or null`,
  );
}

/** Every codec hyparquet can meet, each charging the page's size to one budget before allocating. */
function budgetedCompressors(maxBytes: number): Compressors {
  let used = 0;
  const charge =
    (decompress: (input: Uint8Array, length: number) => Uint8Array) =>
    (input: Uint8Array, length: number): Uint8Array => {
      used += length;
      if (used > maxBytes) {
        throw new DatasetError(`its pages decompress to over maxBytes (${maxBytes} bytes) in all`);
      }
      return decompress(input, length);
    };
  return {
    SNAPPY: charge((input, length) => {
      const out = new Uint8Array(length);
      snappyUncompress(input, out);
      return out;
    }),
    GZIP: charge(decompressGzip),
    BROTLI: charge(decompressBrotli),
    ZSTD: charge((input, length) => decompressZstd(input, new Uint8Array(length))),
    LZ4: charge(decompressLz4),
    LZ4_RAW: charge(decompressLz4Raw),
  };
}

/** hyparquet's view of the file, read through the one handle that was measured. */
function fileBuffer(handle: FileHandle, size: number): AsyncBuffer {
  return {
    byteLength: size,
    async slice(start: number, end = size) {
      const length = Math.max(0, Math.min(end, size) - start);
      const buf = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(buf, done, length - done, start + done);
        if (bytesRead === 0) throw new DatasetError("the file was truncated while it was read");
        done += bytesRead;
      }
      return buf.buffer;
    },
  };
}

async function sha256(handle: FileHandle, size: number): Promise<string> {
  const hash = createHash("sha256");
  const buf = Buffer.alloc(Math.min(HASH_CHUNK, Math.max(size, 1)));
  for (let pos = 0; pos < size;) {
    const { bytesRead } = await handle.read(buf, 0, Math.min(buf.length, size - pos), pos);
    if (bytesRead === 0) throw new DatasetError("the file was truncated while it was read");
    hash.update(buf.subarray(0, bytesRead));
    pos += bytesRead;
  }
  return hash.digest("hex");
}
