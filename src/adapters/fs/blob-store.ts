/**
 * BlobStore on a local directory, for embedded setups without S3. The tree under the root mirrors
 * the object keys, so it reads like the bucket. Each blob has a sidecar `<file>.meta.json` holding
 * its content type. Writes go to a temp file in the same directory and are renamed into place, so
 * a reader never sees half a blob and a crash leaves no partial file under the key's name.
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, readdir, rename, rm, rmdir, stat } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { StorageError, errorMessage } from "../../core/errors.js";
import type { BlobStore } from "../../core/ports.js";

const META_SUFFIX = ".meta.json";
const DEFAULT_CONTENT_TYPE = "application/octet-stream";
/** writeAtomic's temp files: `.<name>.<12 hex>.tmp`, never a key of their own. */
const TEMP_FILE = /^\..+\.[0-9a-f]{12}\.tmp$/;

export interface BlobStat {
  contentType: string;
  size: number;
}

function isMissing(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  // ENOTDIR/EISDIR: a key that runs through, or stops at, another key's directory does not exist.
  return code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR";
}

/** Write, flush and rename: the file appears whole or not at all. */
async function writeAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const handle = await open(tmp, "wx");
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export class FsBlobStore implements BlobStore {
  /** Absolute. */
  readonly root: string;

  constructor(rootDir: string) {
    this.root = path.resolve(rootDir);
  }

  async ensureRoot(): Promise<void> {
    await mkdir(this.root, { recursive: true });
  }

  async put(key: string, body: Uint8Array, contentType: string): Promise<void> {
    const file = this.pathFor(key);
    try {
      await mkdir(path.dirname(file), { recursive: true });
      // Body first: a crash between the two leaves a blob without its content type (read as
      // octet-stream), never a content type without a blob.
      await writeAtomic(file, body);
      await writeAtomic(file + META_SUFFIX, JSON.stringify({ contentType }));
    } catch (err) {
      throw new StorageError(`writing blob ${key} to ${this.root} failed: ${errorMessage(err)}`, {
        cause: err,
      });
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const file = this.pathFor(key);
    try {
      const buf = await readFile(file);
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw new StorageError(`reading blob ${key} from ${this.root} failed: ${errorMessage(err)}`, {
        cause: err,
      });
    }
  }

  /** Size and content type of a blob, or undefined when there is none. */
  async stat(key: string): Promise<BlobStat | undefined> {
    const file = this.pathFor(key);
    let size: number;
    try {
      const s = await stat(file);
      if (!s.isFile()) return undefined;
      size = s.size;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw new StorageError(`reading blob ${key} from ${this.root} failed: ${errorMessage(err)}`, {
        cause: err,
      });
    }
    return { contentType: await this.readContentType(file), size };
  }

  uri(key: string): string {
    return pathToFileURL(this.pathFor(key)).href;
  }

  /** The blob and its sidecar go; then the folders left empty, up to (not including) the root. */
  async delete(key: string): Promise<void> {
    const file = this.pathFor(key);
    try {
      await rm(file, { force: true });
      await rm(file + META_SUFFIX, { force: true });
    } catch (err) {
      if (isMissing(err)) return;
      throw new StorageError(`deleting blob ${key} from ${this.root} failed: ${errorMessage(err)}`, {
        cause: err,
      });
    }
    for (
      let dir = path.dirname(file);
      dir !== this.root && dir.startsWith(this.root);
      dir = path.dirname(dir)
    ) {
      // Only an empty folder is removed (rmdir refuses any other), so a writer's folder survives.
      const removed = await rmdir(dir).then(
        () => true,
        () => false,
      );
      if (!removed) break;
    }
  }

  async list(prefix: string, limit: number): Promise<string[]> {
    if (!prefix.endsWith("/"))
      throw new StorageError(`list takes a folder prefix ending in "/", got ${prefix}`);
    const dir = this.pathFor(prefix.slice(0, -1));
    const keys: string[] = [];
    const walk = async (at: string, rel: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(at, { withFileTypes: true });
      } catch (err) {
        if (isMissing(err)) return;
        throw new StorageError(`listing ${prefix} in ${this.root} failed: ${errorMessage(err)}`, {
          cause: err,
        });
      }
      for (const e of entries) {
        if (keys.length >= limit) return;
        if (e.isDirectory()) await walk(path.join(at, e.name), `${rel}${e.name}/`);
        else if (e.isFile() && !e.name.endsWith(META_SUFFIX) && !TEMP_FILE.test(e.name)) {
          keys.push(`${rel}${e.name}`);
        }
      }
    };
    await walk(dir, prefix);
    return keys;
  }

  /** Nothing to release; here so the composition can treat this store and S3BlobStore alike. */
  destroy(): void {}

  private async readContentType(file: string): Promise<string> {
    try {
      const meta: unknown = JSON.parse(await readFile(file + META_SUFFIX, "utf8"));
      const type = (meta as { contentType?: unknown } | null)?.contentType;
      return typeof type === "string" ? type : DEFAULT_CONTENT_TYPE;
    } catch (err) {
      if (isMissing(err) || err instanceof SyntaxError) return DEFAULT_CONTENT_TYPE;
      throw err;
    }
  }

  /** Keys come from core/storage/object-key.ts and are already safe; this is the second line of defense. */
  private pathFor(key: string): string {
    const reason = keyProblem(key);
    if (reason !== undefined) throw new StorageError(`object key ${JSON.stringify(key)} ${reason}`);
    const file = path.resolve(this.root, key);
    const rel = path.relative(this.root, file);
    if (rel === "" || rel === ".." || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
      throw new StorageError(`object key ${JSON.stringify(key)} resolves outside ${this.root}`);
    }
    return file;
  }
}

/** Why a key cannot name a file under the root, or undefined when it can. */
function keyProblem(key: string): string | undefined {
  if (key === "") return "is empty";
  if (key.startsWith("/") || path.isAbsolute(key)) return "is absolute";
  if (key.includes("\\")) return "contains a backslash";
  if (key.includes("\0")) return "contains NUL";
  // ".." is refused as a segment, not as a substring: "a..b" is a legal sanitized segment.
  if (key.split("/").some((s) => s === "" || s === "." || s === "..")) {
    return "has an empty, '.' or '..' segment";
  }
  if (key.endsWith(META_SUFFIX))
    return `ends with ${META_SUFFIX}, which is reserved for content-type sidecars`;
  return undefined;
}
