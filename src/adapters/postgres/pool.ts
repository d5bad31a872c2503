import pg from "pg";

export function createPool(url: string, max = 8): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: 5000 });
  // An idle client losing its connection (Postgres restart) must not crash the process.
  pool.on("error", () => undefined);
  return pool;
}

/**
 * Run fn with one client checked out (a transaction, an advisory lock). While it is checked out,
 * the pool's error handler does not cover it: a server shutdown between two queries would emit an
 * unhandled 'error' and kill the process. So listen here, and after any failure destroy the client
 * rather than hand a possibly broken connection back to the pool.
 */
export async function withClient<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let failed = false;
  const onError = () => {
    failed = true;
  };
  client.on("error", onError);
  try {
    return await fn(client);
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    client.off("error", onError);
    client.release(failed);
  }
}
