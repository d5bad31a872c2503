/**
 * Versioned SQL migrations: migrations/NNN_name.sql, applied in order, each in a transaction,
 * recorded in schema_migrations, under an advisory lock so concurrent runs are safe.
 */
import fs from "node:fs";
import path from "node:path";
import type pg from "pg";
import { PACKAGE_ROOT } from "../../config.js";
import { ModeltapError } from "../../core/errors.js";
import { withClient } from "./pool.js";

export const MIGRATIONS_DIR = path.join(PACKAGE_ROOT, "src", "adapters", "postgres", "migrations");
const LOCK_ID = 0x6d74_6170; // "mtap"

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({
      version: Number(f.slice(0, 3)),
      name: f.slice(4, -4),
      sql: fs.readFileSync(path.join(dir, f), "utf8"),
    }));
}

async function applied(client: pg.PoolClient | pg.Pool): Promise<Set<number>> {
  await client.query(
    "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
  );
  const res = await client.query<{ version: number }>("SELECT version FROM schema_migrations");
  return new Set(res.rows.map((r) => r.version));
}

/** Apply pending migrations; returns the ones applied now. */
export async function migrate(pool: pg.Pool, onApply?: (m: Migration) => void): Promise<Migration[]> {
  return withClient(pool, async (client) => {
    try {
      await client.query("SELECT pg_advisory_lock($1)", [LOCK_ID]);
      const done = await applied(client);
      const now: Migration[] = [];
      for (const m of readMigrations()) {
        if (done.has(m.version)) continue;
        onApply?.(m);
        await client.query("BEGIN");
        try {
          await client.query(m.sql);
          await client.query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [
            m.version,
            m.name,
          ]);
          await client.query("COMMIT");
        } catch (err) {
          await client.query("ROLLBACK");
          throw new ModeltapError("STORAGE_FAILED", `migration ${m.version}_${m.name} failed`, {
            cause: err,
          });
        }
        now.push(m);
      }
      return now;
    } finally {
      await client.query("SELECT pg_advisory_unlock($1)", [LOCK_ID]).catch(() => undefined);
    }
  });
}

/** Throw MIGRATIONS_PENDING unless every migration this build ships has been applied. */
export async function assertMigrated(pool: pg.Pool): Promise<void> {
  const done = await applied(pool);
  const pending = readMigrations().filter((m) => !done.has(m.version));
  if (pending.length > 0) {
    throw new ModeltapError(
      "MIGRATIONS_PENDING",
      `database has ${pending.length} pending migration(s) (${pending.map((m) => `${m.version}_${m.name}`).join(", ")}); run \`modeltap migrate\``,
    );
  }
}
