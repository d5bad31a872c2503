/**
 * The end-to-end tests' HTTP client: inference requests through Envoy, each under a request id
 * the test knows, answered with the exact bytes sent and received so the test can compare them
 * with what was captured. It never throws: the drills send while services are down, so a request
 * that got no response comes back with status 0 and the reason.
 */
import { randomUUID } from "node:crypto";

/** One request and its answer: what a test compares with the capture Envoy made of them. */
export interface Sent {
  /** The x-request-id sent, which becomes the capture's id. */
  id: string;
  /** The HTTP status; 0 when no response came. */
  status: number;
  /** The request body, byte for byte as sent. */
  request: Buffer;
  /** The response body as received (empty when none came). */
  response: Buffer;
  /** Why no response came (refused, reset, timed out); absent when one did. */
  error?: string;
}

export interface SendOptions {
  /** The x-request-id; default a fresh UUID. */
  id?: string;
  /** Default application/json. */
  contentType?: string;
  /** Sent last, so they may replace x-request-id and content-type too. */
  headers?: Record<string, string>;
  /** Default 30 s, well inside the tests' own timeouts. */
  timeoutMs?: number;
}

/** POST body to url. */
export async function send(url: string, body: string | Uint8Array, opts: SendOptions = {}): Promise<Sent> {
  const id = opts.id ?? randomUUID();
  const request = typeof body === "string" ? Buffer.from(body, "utf8") : Buffer.from(body);
  const headers = {
    "x-request-id": id,
    "content-type": opts.contentType ?? "application/json",
    ...opts.headers,
  };
  const signal = AbortSignal.timeout(opts.timeoutMs ?? 30_000);
  try {
    const res = await fetch(url, { method: "POST", headers, body: request, signal });
    return { id, status: res.status, request, response: Buffer.from(await res.arrayBuffer()) };
  } catch (err) {
    return { id, status: 0, request, response: Buffer.alloc(0), error: reason(err) };
  }
}

/** fetch says only "fetch failed"; the cause says what happened (ECONNREFUSED, a reset, …). */
function reason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.cause instanceof Error ? `${err.message}: ${err.cause.message}` : err.message;
}

/** task(0) … task(count − 1), at most `limit` in flight at once; the results in index order. */
export async function pool<T>(count: number, limit: number, task: (i: number) => Promise<T>): Promise<T[]> {
  if (!(limit >= 1)) throw new RangeError(`pool: limit must be at least 1, got ${limit}`);
  const results = new Array<T>(count);
  let next = 0;
  const lane = async (): Promise<void> => {
    for (let i = next++; i < count; i = next++) results[i] = await task(i);
  };
  await Promise.all(Array.from({ length: Math.min(limit, count) }, lane));
  return results;
}
