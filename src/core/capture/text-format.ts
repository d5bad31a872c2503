/**
 * A reader for the protobuf text format Envoy uses when it prints a message into a string
 * attribute. `xds.route_metadata` arrives this way, for example:
 *
 *   filter_metadata { key: "modeltap" value { fields { key: "model" value { string_value: "iris" } } } }
 *
 * The reader is generic (fields, nested messages, scalars); `readMetadata` then interprets the
 * result as an envoy.config.core.v3.Metadata holding google.protobuf.Struct values.
 */
import { ModeltapError } from "../errors.js";

export type TextScalar = string | number | boolean;
export interface TextMessage {
  /** Fields in order; repeated fields appear more than once. */
  readonly fields: ReadonlyArray<readonly [string, TextScalar | TextMessage]>;
}

class Reader {
  private pos = 0;
  constructor(private readonly src: string) {}

  fail(what: string): never {
    throw new ModeltapError("ROUTE_METADATA_UNPARSABLE", `text format: ${what} at offset ${this.pos}`);
  }

  skipSpace(): void {
    while (this.pos < this.src.length) {
      const c = this.src[this.pos]!;
      if (c === " " || c === "\n" || c === "\t" || c === "\r" || c === ",") this.pos++;
      else if (c === "#") while (this.pos < this.src.length && this.src[this.pos] !== "\n") this.pos++;
      else break;
    }
  }

  peek(): string | undefined {
    this.skipSpace();
    return this.src[this.pos];
  }

  eat(c: string): boolean {
    if (this.peek() === c) {
      this.pos++;
      return true;
    }
    return false;
  }

  ident(): string {
    this.skipSpace();
    const m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(this.src.slice(this.pos, this.pos + 256));
    if (!m) this.fail("expected a field name");
    this.pos += m[0].length;
    return m[0];
  }

  message(close: string | undefined): TextMessage {
    const fields: Array<[string, TextScalar | TextMessage]> = [];
    for (;;) {
      const c = this.peek();
      if (c === undefined) {
        if (close !== undefined) this.fail(`expected '${close}'`);
        return { fields };
      }
      if (c === close) {
        this.pos++;
        return { fields };
      }
      const name = this.ident();
      const isScalar = this.eat(":");
      if (this.eat("{")) fields.push([name, this.message("}")]);
      else if (this.eat("<")) fields.push([name, this.message(">")]);
      else if (isScalar) fields.push([name, this.scalar()]);
      else this.fail(`expected ':' or '{' after ${name}`);
    }
  }

  scalar(): TextScalar {
    const c = this.peek();
    if (c === '"' || c === "'") {
      let out = "";
      // Adjacent string literals concatenate, as in C.
      while (this.peek() === '"' || this.peek() === "'") out += this.quoted(this.src[this.pos]!);
      return out;
    }
    const m = /^[-+]?[A-Za-z0-9_.+-]+/.exec(this.src.slice(this.pos, this.pos + 64));
    if (!m) this.fail("expected a value");
    this.pos += m[0].length;
    const word = m[0];
    if (word === "true" || word === "True" || word === "t") return true;
    if (word === "false" || word === "False" || word === "f") return false;
    return numberOrWord(word);
  }

  quoted(q: string): string {
    this.pos++;
    const bytes: number[] = [];
    for (;;) {
      if (this.pos >= this.src.length) this.fail("unterminated string");
      const c = this.src[this.pos++]!;
      if (c === q) break;
      if (c !== "\\") {
        for (const b of Buffer.from(c, "utf8")) bytes.push(b);
        continue;
      }
      const e = this.src[this.pos++];
      const simple: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11 };
      if (e === undefined) this.fail("unterminated escape");
      if (simple[e] !== undefined) bytes.push(simple[e]);
      else if (e >= "0" && e <= "7") {
        const oct = /^[0-7]{1,3}/.exec(this.src.slice(this.pos - 1, this.pos + 2))![0];
        this.pos += oct.length - 1;
        bytes.push(parseInt(oct, 8) & 0xff);
      } else if (e === "x") {
        const hex = /^[0-9a-fA-F]{1,2}/.exec(this.src.slice(this.pos, this.pos + 2));
        if (!hex) this.fail("bad \\x escape");
        this.pos += hex[0].length;
        bytes.push(parseInt(hex[0], 16));
      } else for (const b of Buffer.from(e, "utf8")) bytes.push(b);
    }
    return Buffer.from(bytes).toString("utf8");
  }
}

export function parseTextFormat(src: string): TextMessage {
  return new Reader(src).message(undefined);
}

function field(msg: TextMessage, name: string): TextScalar | TextMessage | undefined {
  return msg.fields.find(([n]) => n === name)?.[1];
}

function isMessage(v: TextScalar | TextMessage | undefined): v is TextMessage {
  return typeof v === "object";
}

/** Text-format numbers: decimal, hex (0x1f), floats with an f suffix, inf, infinity and nan. */
function numberOrWord(word: string): TextScalar {
  const lower = word.toLowerCase();
  const sign = lower.startsWith("-") ? -1 : 1;
  const bare = lower.replace(/^[-+]/, "");
  if (bare === "inf" || bare === "infinity" || bare === "inff" || bare === "infinityf")
    return sign * Infinity;
  if (bare === "nan" || bare === "nanf") return NaN;
  if (/^0x[0-9a-f]+$/.test(bare)) return sign * Number.parseInt(bare.slice(2), 16);
  const n = Number(/^[0-9.]/.test(bare) ? word.replace(/[fF]$/, "") : word);
  return Number.isNaN(n) ? word : n;
}

/** Interpret a google.protobuf.Value in text form as a plain JSON value. */
function readValue(v: TextMessage): unknown {
  const [kind, inner] = v.fields[0] ?? ["null_value", 0];
  switch (kind) {
    case "string_value":
    case "number_value":
    case "bool_value":
      return inner;
    case "struct_value":
      return isMessage(inner) ? readStruct(inner) : {};
    case "list_value":
      return isMessage(inner)
        ? inner.fields.filter(([n]) => n === "values").map(([, x]) => (isMessage(x) ? readValue(x) : x))
        : [];
    default:
      return null;
  }
}

/** Interpret a google.protobuf.Struct in text form as a plain object. */
export function readStruct(s: TextMessage): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, entry] of s.fields) {
    if (name !== "fields" || !isMessage(entry)) continue;
    const key = field(entry, "key");
    const value = field(entry, "value");
    if (typeof key === "string") out[key] = isMessage(value) ? readValue(value) : null;
  }
  return out;
}

/** Parse a printed envoy.config.core.v3.Metadata into namespace → plain object. */
export function readMetadata(src: string): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [name, entry] of parseTextFormat(src).fields) {
    if (name !== "filter_metadata" || !isMessage(entry)) continue;
    const key = field(entry, "key");
    const value = field(entry, "value");
    if (typeof key === "string" && isMessage(value)) out[key] = readStruct(value);
  }
  return out;
}
