/** What readDataset (dataset-file.ts) returns, its limits, and the row budget both readers share. */
import { DatasetError } from "../../core/errors.js";

export type DatasetValue = number | string | boolean | null;
export type DatasetRow = Record<string, DatasetValue>;
export type DatasetFormat = "csv" | "jsonl" | "parquet";

export interface Dataset {
  columns: string[];
  /** Records made with Object.create(null): a column named `__proto__` is just a key. */
  rows: DatasetRow[];
  format: DatasetFormat;
  bytes: number;
  /** Hex SHA-256 of the file's bytes, to tell which file a baseline came from. */
  sha256: string;
}

export interface DatasetLimits {
  /** Bytes in the file; for Parquet also its pages once decompressed, in all. */
  maxBytes: number;
  maxRows: number;
  maxColumns: number;
  /** Characters in one cell or column name. */
  maxCellChars: number;
  /** Rows × columns: what the rows cost in memory, whatever their shape. */
  maxCells: number;
}

export const DEFAULT_DATASET_LIMITS: Readonly<DatasetLimits> = Object.freeze({
  maxBytes: 1024 ** 3,
  maxRows: 1_000_000,
  maxColumns: 1_000,
  maxCellChars: 10_000,
  maxCells: 20_000_000,
});

/** onProgress is called every this many rows, and once at the end. */
export const PROGRESS_EVERY = 10_000;

/** Counts rows against maxRows and maxCells, and reports progress. */
export class RowCounter {
  count = 0;
  constructor(
    private readonly limits: DatasetLimits,
    private readonly onProgress?: (rows: number) => void,
  ) {}

  /** Before a row is kept; `columns` is how many the dataset has so far. */
  add(columns: number, where: string): void {
    this.count++;
    if (this.count > this.limits.maxRows) {
      throw new DatasetError(`${where}: more than maxRows (${this.limits.maxRows}) rows`);
    }
    this.checkCells(this.count, columns, where);
    if (this.count % PROGRESS_EVERY === 0) this.onProgress?.(this.count);
  }

  checkCells(rows: number, columns: number, where: string): void {
    if (rows * columns > this.limits.maxCells) {
      throw new DatasetError(
        `${where}: ${rows} rows × ${columns} columns is over maxCells (${this.limits.maxCells})`,
      );
    }
  }

  done(): void {
    if (this.count % PROGRESS_EVERY !== 0 || this.count === 0) this.onProgress?.(this.count);
  }
}
