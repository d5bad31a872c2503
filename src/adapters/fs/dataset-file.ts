/**
 * Reads a model's training dataset (CSV, JSON lines or Parquet) into rows, for a drift baseline
 * (`modeltap baseline create --file`). A hostile or huge file fails with a DatasetError naming the
 * line, column or limit, before it costs more memory than its budgets: the size is checked before
 * reading, text is streamed, and every cell, record, row count and column count is bounded as it
 * arrives. Typing rules and limits: docs/monitoring.md, "Baseline from a file".
 */
import { createHash } from "node:crypto";
import { open, type FileHandle } from "node:fs/promises";
import path from "node:path";
import { TextDecoder } from "node:util";
import { DatasetError, errorMessage } from "../../core/errors.js";
import { CsvColumnKind, CsvRecords, csvHeader } from "../../core/monitoring/csv.js";
import { readParquet } from "./dataset-parquet.js";
import {
  DEFAULT_DATASET_LIMITS,
  RowCounter,
  type Dataset,
  type DatasetFormat,
  type DatasetLimits,
  type DatasetRow,
  type DatasetValue,
} from "./dataset-rows.js";

export {
  DEFAULT_DATASET_LIMITS,
  PROGRESS_EVERY,
  type Dataset,
  type DatasetFormat,
  type DatasetLimits,
  type DatasetRow,
  type DatasetValue,
} from "./dataset-rows.js";

const FORMATS: Record<string, DatasetFormat> = {
  ".csv": "csv",
  ".jsonl": "jsonl",
  ".ndjson": "jsonl",
  ".parquet": "parquet",
};

export function datasetFormat(file: string): DatasetFormat {
  const format = FORMATS[path.extname(file).toLowerCase()];
  if (!format) {
    throw new DatasetError(
      `${file}: unknown dataset format "${path.extname(file)}"; use a .csv, .jsonl (or .ndjson) or .parquet file`,
    );
  }
  return format;
}

export async function readDataset(
  file: string,
  limits: Partial<DatasetLimits> = {},
  onProgress?: (rows: number) => void,
): Promise<Dataset> {
  const budget = resolveLimits(limits);
  const format = datasetFormat(file);
  let handle: FileHandle;
  try {
    handle = await open(file, "r");
  } catch (err) {
    throw new DatasetError(`${file}: cannot open: ${errorMessage(err)}`, { cause: err });
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new DatasetError(`${file}: not a regular file`);
    if (stat.size > budget.maxBytes) {
      throw new DatasetError(`${file}: ${stat.size} bytes, over maxBytes (${budget.maxBytes} bytes)`);
    }
    const rows = new RowCounter(budget, onProgress);
    const read =
      format === "parquet"
        ? await readParquet(handle, stat.size, budget, rows)
        : await readText(handle, format, budget, rows);
    rows.done();
    return { ...read, format };
  } catch (err) {
    if (err instanceof DatasetError) {
      throw err.message.startsWith(`${file}: `) ? err : new DatasetError(`${file}: ${err.message}`);
    }
    throw new DatasetError(`${file}: ${errorMessage(err)}`, { cause: err });
  } finally {
    await handle.close();
  }
}

function resolveLimits(limits: Partial<DatasetLimits>): DatasetLimits {
  const out = { ...DEFAULT_DATASET_LIMITS };
  for (const [key, value] of Object.entries(limits)) {
    if (!(key in out)) throw new DatasetError(`unknown dataset limit "${key}"`);
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new DatasetError(`dataset limit ${key} must be a positive integer, got ${String(value)}`);
    }
    out[key as keyof DatasetLimits] = value;
  }
  return out;
}

interface TextRead {
  columns: string[];
  rows: DatasetRow[];
  bytes: number;
  sha256: string;
}

interface TextSink {
  push(text: string): void;
  end(): { columns: string[]; rows: DatasetRow[] };
}

async function readText(
  handle: FileHandle,
  format: "csv" | "jsonl",
  limits: DatasetLimits,
  rows: RowCounter,
): Promise<TextRead> {
  const sink = format === "csv" ? csvSink(limits, rows) : jsonlSink(limits, rows);
  // fatal: bytes that are not UTF-8 are an error, not U+FFFD; a leading BOM is dropped.
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of handle.createReadStream({ autoClose: false, highWaterMark: 1 << 16 })) {
    const buf = chunk as Buffer;
    bytes += buf.length;
    // The file may grow after it was measured.
    if (bytes > limits.maxBytes) throw new DatasetError(`over maxBytes (${limits.maxBytes} bytes)`);
    hash.update(buf);
    sink.push(decode(decoder, buf, bytes - buf.length));
  }
  sink.push(decode(decoder, undefined, bytes));
  return { ...sink.end(), bytes, sha256: hash.digest("hex") };
}

function decode(decoder: TextDecoder, buf: Buffer | undefined, offset: number): string {
  try {
    return buf ? decoder.decode(buf, { stream: true }) : decoder.decode();
  } catch (err) {
    throw new DatasetError(`not valid UTF-8 (in the bytes from offset ${offset})`, { cause: err });
  }
}

function csvSink(limits: DatasetLimits, counter: RowCounter): TextSink {
  let header: string[] | undefined;
  let kinds: CsvColumnKind[] = [];
  const raw: string[][] = [];
  const records = new CsvRecords(limits, (cells, line) => {
    if (!header) {
      header = csvHeader(cells);
      kinds = header.map(() => new CsvColumnKind());
      return;
    }
    if (cells.length !== header.length) {
      throw new DatasetError(`line ${line} has ${cells.length} cells, the header has ${header.length}`);
    }
    counter.add(header.length, `line ${line}`);
    cells.forEach((cell, i) => kinds[i]!.see(cell));
    raw.push(cells);
  });
  return {
    push: (text) => records.push(text),
    end() {
      records.end();
      if (!header) throw new DatasetError("empty: a CSV file needs a header row");
      const columns = header;
      // Typed in place, row by row, so the raw strings go as their record comes.
      const rows = raw as unknown as DatasetRow[];
      for (let r = 0; r < raw.length; r++) {
        const cells = raw[r]!;
        const row: DatasetRow = Object.create(null);
        for (let i = 0; i < columns.length; i++) row[columns[i]!] = kinds[i]!.value(cells[i]!);
        rows[r] = row;
      }
      return { columns, rows };
    },
  };
}

function jsonlSink(limits: DatasetLimits, counter: RowCounter): TextSink {
  // The longest line a row within the budgets can take: every name and value at maxCellChars,
  // each character escaped (\uXXXX), with quotes, colon, comma and some spacing.
  const maxLineChars = limits.maxColumns * (12 * limits.maxCellChars + 16) + 2;
  const columns: string[] = [];
  const known = new Set<string>();
  const rows: DatasetRow[] = [];
  let pending = "";
  let line = 0;

  const take = (text: string) => {
    line++;
    if (text.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      throw new DatasetError(`line ${line}: not valid JSON`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new DatasetError(`line ${line}: not a JSON object (one object per line)`);
    }
    const row: DatasetRow = Object.create(null);
    for (const [key, cell] of Object.entries(value)) {
      if (!known.has(key)) {
        if (key.length > limits.maxCellChars) {
          throw new DatasetError(
            `line ${line}: a column name over maxCellChars (${limits.maxCellChars} characters)`,
          );
        }
        if (columns.length >= limits.maxColumns) {
          throw new DatasetError(`line ${line}: more than maxColumns (${limits.maxColumns}) columns`);
        }
        known.add(key);
        columns.push(key);
      }
      row[key] = jsonCell(cell, line, key, limits);
    }
    counter.add(columns.length, `line ${line}`);
    rows.push(row);
  };

  return {
    push(text) {
      let start = 0;
      for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n", start)) {
        const part = text.slice(start, nl);
        start = nl + 1;
        if (pending.length + part.length > maxLineChars) throw overLong(line + 1, maxLineChars);
        take(pending + part);
        pending = "";
      }
      if (pending.length + text.length - start > maxLineChars) throw overLong(line + 1, maxLineChars);
      pending += text.slice(start);
    },
    end() {
      if (pending !== "") take(pending);
      pending = "";
      // A column first seen on a later line is missing, so null, on the earlier ones.
      for (const row of rows) for (const c of columns) if (!(c in row)) row[c] = null;
      counter.checkCells(rows.length, columns.length, `line ${line}`);
      return { columns, rows };
    },
  };
}

function overLong(line: number, max: number): DatasetError {
  return new DatasetError(
    `line ${line}: longer than ${max} characters (maxColumns × maxCellChars allow no longer row)`,
  );
}

function jsonCell(cell: unknown, line: number, key: string, limits: DatasetLimits): DatasetValue {
  if (cell === null || typeof cell === "number" || typeof cell === "boolean") return cell;
  if (typeof cell === "string") {
    if (cell.length > limits.maxCellChars) {
      throw new DatasetError(
        `line ${line}, column ${JSON.stringify(key)}: a cell over maxCellChars (${limits.maxCellChars} characters)`,
      );
    }
    return cell;
  }
  throw new DatasetError(
    `line ${line}, column ${JSON.stringify(key)}: a nested ${Array.isArray(cell) ? "array" : "object"}; cells must be numbers, strings, booleans or null`,
  );
}
