/** `modeltap captures body`: one stored body, input image or mask, from wherever it lives. */
import fs from "node:fs";
import { createObjectStore, openDatabase } from "../../adapters/registry.js";
import { storedPart, type StoredPart } from "../../api/stored-media.js";
import { ConfigError, ModeltapError } from "../../core/errors.js";
import { findCapture } from "./find-capture.js";
import { PluginRegistry } from "../../plugins/registry.js";
import { loadUserPlugins } from "../../plugins/user-plugins.js";
import type { Command } from "../command.js";

const ARGS = "<id> <request|response|image I|mask I K>";

function index(value: string | undefined, what: string): number {
  if (value === undefined || !/^\d{1,9}$/.test(value)) {
    throw new ConfigError([
      `captures body: ${what} must be a whole number, got ${JSON.stringify(value ?? "")}`,
    ]);
  }
  return Number(value);
}

/** The positionals after the id: which stored bytes. */
export function parsePart(words: readonly string[]): StoredPart {
  const [what, ...rest] = words;
  const arity = { request: 0, response: 0, image: 1, mask: 2 } as const;
  if (what === undefined || !(what in arity)) {
    throw new ConfigError([
      `captures body: expected request, response, image or mask after the id, got ${JSON.stringify(what ?? "")}`,
    ]);
  }
  const kind = what as keyof typeof arity;
  if (rest.length !== arity[kind]) {
    const needs = ["nothing more", "an instance", "an instance and a segment"][arity[kind]];
    throw new ConfigError([`captures body: ${kind} takes ${needs} (${ARGS})`]);
  }
  if (kind === "image") return { kind, instance: index(rest[0], "the instance") };
  if (kind === "mask")
    return { kind, instance: index(rest[0], "the instance"), k: index(rest[1], "the segment") };
  return { kind };
}

/** Bytes a terminal would garble: a NUL, or anything that is not UTF-8. */
export function looksBinary(data: Uint8Array): boolean {
  // Control characters other than tab and line ends count as binary too: captured traffic is
  // untrusted, and escape sequences written to a terminal could rewrite what it shows.
  if (data.some((b) => (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) || b === 0x7f)) return true;
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(data);
    return false;
  } catch {
    return true;
  }
}

function writeStdout(data: Uint8Array): Promise<void> {
  // Wait for the write: the process may exit as soon as run returns, and a pipe is asynchronous.
  return new Promise((resolve, reject) =>
    process.stdout.write(data, (err) => (err ? reject(err) : resolve())),
  );
}

export const bodyCommand: Command = {
  name: "body",
  summary:
    "Print (raw bytes) or save a stored request or response body, input image or mask PNG, from the row or object storage",
  args: ARGS,
  options: {
    out: {
      type: "string",
      value: "FILE",
      description: "write the bytes to FILE (a new file) instead of stdout",
    },
    force: { type: "boolean", description: "with --out: replace FILE if it exists" },
  },
  examples: [
    "modeltap captures body 5b0e7c1a-1f7e-4a0c-9a59-0f1c2b3d4e5f request | jq .",
    "modeltap captures body 5b0e7c1a-1f7e-4a0c-9a59-0f1c2b3d4e5f image 0 --out input.png",
    "modeltap captures body 5b0e7c1a-1f7e-4a0c-9a59-0f1c2b3d4e5f mask 0 1 --out mask.png",
  ],
  exitCodes: {
    1: "also: no such capture, or no such body, image or mask (`[NOT_FOUND]`); binary bytes for a terminal without --out",
  },
  async run({ config, options, positionals }) {
    const [id, ...words] = positionals;
    if (!id) throw new ConfigError([`captures body: needs a capture id (${ARGS})`]);
    const part = parsePart(words);
    const out = typeof options.out === "string" ? options.out : undefined;
    const db = openDatabase(config, 1);
    const blobs = createObjectStore(config);
    try {
      const row = await findCapture(db.captures, id);
      // An image stored before the worker kept images is read out of the request by its parser.
      const plugins = new PluginRegistry();
      if (part.kind === "image") await loadUserPlugins(plugins, config.plugins);
      const found = await storedPart(row, part, blobs, plugins.parsers);
      if ("missing" in found) throw new ModeltapError("NOT_FOUND", `capture ${id}: ${found.missing}`);
      if (part.kind === "request" || part.kind === "response") {
        const b = row[part.kind];
        if (b.truncated) {
          console.error(
            `note: the ${part.kind} was truncated at capture: ${b.sizeBytes} of ${b.wireSizeBytes} bytes`,
          );
        }
      }
      if (out !== undefined) {
        // A new file unless --force: never clobber, nor write through a symlink left in the way.
        try {
          fs.writeFileSync(out, found.data, { flag: options.force ? "w" : "wx" });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
          throw new ConfigError([`--out: ${out} exists; give --force to replace it`]);
        }
        console.log(`${found.data.byteLength} bytes (${found.contentType}) written to ${out}`);
      } else if (process.stdout.isTTY && looksBinary(found.data)) {
        throw new ConfigError([
          `captures body: the ${part.kind} is binary (${found.contentType}); not writing it to a terminal: give --out FILE or redirect stdout`,
        ]);
      } else await writeStdout(found.data);
    } finally {
      blobs.destroy();
      await db.close();
    }
  },
};
