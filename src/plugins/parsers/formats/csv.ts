/** RFC 4180 CSV with a header row, values typed the way a tabular model sees them. */
import { ParseError } from "../../../core/plugins.js";

export type CsvValue = number | string | boolean | null;

const NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

function typed(field: string): CsvValue {
  if (field === "") return null;
  if (NUMBER.test(field)) return Number(field);
  const lower = field.toLowerCase();
  if (lower === "true" || lower === "false") return lower === "true";
  return field;
}

/** Rows of raw fields; quoted fields may hold commas, line breaks and doubled quotes. */
function rows(text: string): string[][] {
  const out: string[][] = [];
  let row: string[] = [];
  let field = "";
  let i = 0;
  let line = 1;
  const endRow = () => {
    row.push(field);
    out.push(row);
    row = [];
    field = "";
    line++;
  };
  while (i < text.length) {
    const c = text[i];
    if (c === '"' && field === "") {
      const start = line;
      i++;
      for (;;) {
        if (i >= text.length) throw new ParseError(`csv: unterminated quoted field from line ${start}`);
        if (text[i] === '"') {
          if (text[i + 1] !== '"') break;
          field += '"';
          i += 2;
        } else {
          if (text[i] === "\n") line++;
          field += text[i++];
        }
      }
      i++;
      const after = text[i];
      if (after !== undefined && after !== "," && after !== "\r" && after !== "\n") {
        throw new ParseError(`csv: line ${line}: unexpected character after a closing quote`);
      }
    } else if (c === ",") {
      row.push(field);
      field = "";
      i++;
    } else if (c === "\r" || c === "\n") {
      i += c === "\r" && text[i + 1] === "\n" ? 2 : 1;
      endRow();
    } else {
      field += c;
      i++;
    }
  }
  if (field !== "" || row.length > 0) endRow();
  return out;
}

export function parseCsv(text: string): Array<Record<string, CsvValue>> {
  const all = rows(text.startsWith("\uFEFF") ? text.slice(1) : text);
  const [head, ...body] = all;
  if (!head) return [];
  return body
    .map((fields, r) => ({ fields, row: r + 2 }))
    .filter(({ fields }) => !(fields.length === 1 && fields[0] === ""))
    .map(({ fields, row }) => {
      if (fields.length !== head.length) {
        throw new ParseError(`csv: row ${row} has ${fields.length} fields, the header has ${head.length}`);
      }
      return Object.fromEntries(head.map((name, j) => [name, typed(fields[j] ?? "")]));
    });
}
