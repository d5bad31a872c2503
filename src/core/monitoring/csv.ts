/**
 * A streaming RFC 4180 reader for training datasets (docs/monitoring.md, "Baseline from a file"):
 * text goes in by chunks, records come out with the line they start on, and no cell or record
 * grows past its budget whatever the input, an unterminated quote included. Pure: the adapter
 * reads the file and feeds it here.
 */
import { DatasetError } from "../errors.js";

export interface CsvBudget {
  /** Cells in one record. */
  maxColumns: number;
  /** Characters in one cell. */
  maxCellChars: number;
}

export type CsvRecordSink = (cells: string[], line: number) => void;

const QUOTE = 34;
const COMMA = 44;
const CR = 13;
const LF = 10;

export class CsvRecords {
  private cells: string[] = [];
  private cell = "";
  /** The current cell opened with a quote. */
  private quoted = false;
  private inQuotes = false;
  /** The last character was a quote that closed (or, if a quote follows, escaped) the cell. */
  private closed = false;
  /** The last character ended a record with CR: an LF right after it belongs to the same break. */
  private afterCr = false;
  private line = 1;
  private recordLine = 1;

  constructor(
    private readonly budget: CsvBudget,
    private readonly sink: CsvRecordSink,
  ) {}

  push(text: string): void {
    let start = 0; // start of the run of plain characters not yet appended to `cell`
    const flush = (end: number) => {
      if (end > start) this.append(text.slice(start, end));
    };
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.afterCr) {
        this.afterCr = false;
        if (c === LF) {
          start = i + 1;
          continue;
        }
      }
      if (this.inQuotes) {
        if (c === QUOTE) {
          flush(i);
          start = i + 1;
          this.inQuotes = false;
          this.closed = true;
        } else if (c === LF) this.line++;
        continue;
      }
      if (this.closed) {
        this.closed = false;
        if (c === QUOTE) {
          // A doubled quote inside a quoted cell: one literal quote, still inside.
          this.append('"');
          start = i + 1;
          this.inQuotes = true;
          continue;
        }
        if (c !== COMMA && c !== CR && c !== LF) {
          throw new DatasetError(
            `line ${this.line}, column ${this.cells.length + 1}: a character after a closing quote (quote the whole cell, and double the quotes inside it)`,
          );
        }
      }
      if (c === COMMA) {
        flush(i);
        start = i + 1;
        this.endCell();
      } else if (c === CR || c === LF) {
        flush(i);
        start = i + 1;
        this.endRecord();
        this.line++;
        this.recordLine = this.line;
        this.afterCr = c === CR;
      } else if (c === QUOTE && this.cell === "" && !this.quoted && start === i) {
        this.quoted = true;
        this.inQuotes = true;
        start = i + 1;
      }
      // Any other character, a quote inside an unquoted cell included (as pandas reads it), is
      // part of the cell: it is appended with its run.
    }
    flush(text.length);
  }

  /** The end of the input: the last record, if it has no line break after it. */
  end(): void {
    if (this.inQuotes) {
      throw new DatasetError(`line ${this.recordLine}: a quoted cell is never closed`);
    }
    this.closed = false;
    this.endRecord();
  }

  private append(part: string): void {
    if (this.cell.length + part.length > this.budget.maxCellChars) {
      throw new DatasetError(
        `line ${this.recordLine}, column ${this.cells.length + 1}: a cell over maxCellChars (${this.budget.maxCellChars} characters)`,
      );
    }
    this.cell += part;
  }

  private endCell(): void {
    if (this.cells.length >= this.budget.maxColumns) {
      throw new DatasetError(
        `line ${this.recordLine}: more than maxColumns (${this.budget.maxColumns}) cells`,
      );
    }
    this.cells.push(this.cell);
    this.cell = "";
    this.quoted = false;
  }

  private endRecord(): void {
    const blank = this.cells.length === 0 && this.cell === "" && !this.quoted;
    if (!blank) {
      this.endCell();
      const cells = this.cells;
      this.cells = [];
      this.sink(cells, this.recordLine);
    }
    this.cell = "";
    this.quoted = false;
  }
}

/** A plain decimal or float literal: `12`, `-1.5e3`, `.5`, `1.`; not `0x10`, `1_000`, `inf` or ` 1`. */
const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER = /^[+-]?\d+$/;
const BOOLEANS = new Map([
  ["true", true],
  ["True", true],
  ["TRUE", true],
  ["false", false],
  ["False", false],
  ["FALSE", false],
]);

/** The number a cell spells, or undefined if it is not one (or not exactly one). */
export function csvNumber(cell: string): number | undefined {
  if (!NUMBER.test(cell)) return undefined;
  const n = Number(cell);
  if (!Number.isFinite(n)) return undefined;
  if (INTEGER.test(cell) && !Number.isSafeInteger(n)) return undefined;
  return n;
}

export function csvBoolean(cell: string): boolean | undefined {
  return BOOLEANS.get(cell);
}

/**
 * What a column's cells are, decided over the whole column as pandas does: numbers when every
 * non-empty cell is a number, booleans when every one is a boolean, strings otherwise.
 */
export class CsvColumnKind {
  private numbers = true;
  private booleans = true;

  see(cell: string): void {
    if (cell === "") return;
    if (this.numbers && csvNumber(cell) === undefined) this.numbers = false;
    if (this.booleans && csvBoolean(cell) === undefined) this.booleans = false;
  }

  /** The typed value of a cell of this column; an empty cell is null. */
  value(cell: string): number | string | boolean | null {
    if (cell === "") return null;
    if (this.numbers) return csvNumber(cell)!;
    if (this.booleans) return csvBoolean(cell)!;
    return cell;
  }
}

/** The header's column names, or a DatasetError naming the empty and duplicated ones. */
export function csvHeader(cells: readonly string[]): string[] {
  const problems: string[] = [];
  const empty = cells.flatMap((c, i) => (c === "" ? [i + 1] : []));
  if (empty.length > 0) problems.push(`empty column names at positions ${empty.join(", ")}`);
  const seen = new Set<string>();
  const duplicated = new Set<string>();
  for (const c of cells) {
    if (c !== "" && seen.has(c)) duplicated.add(c);
    seen.add(c);
  }
  if (duplicated.size > 0) {
    problems.push(`duplicate column names ${[...duplicated].map((c) => JSON.stringify(c)).join(", ")}`);
  }
  if (problems.length > 0) throw new DatasetError(`line 1 (the header): ${problems.join("; ")}`);
  return [...cells];
}
