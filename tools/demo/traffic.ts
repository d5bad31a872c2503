/**
 * The demo's inference traffic: real HTTP requests through Envoy, a few at a time. The bodies it
 * sends are in payloads.ts; the tests have their own client (test/support/http.ts).
 */
import { randomUUID } from "node:crypto";

export interface SentExchange {
  id: string;
  model: string;
  url: string;
  status: number;
  requestBody: Buffer;
  responseBody: Buffer;
  error?: string;
}

export interface SendOptions {
  id?: string;
  headers?: Record<string, string>;
  contentType?: string;
}

export async function send(
  url: string,
  body: Buffer | string,
  opts: SendOptions = {},
): Promise<SentExchange> {
  const id = opts.id ?? randomUUID();
  const requestBody = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const model = /\/v2\/models\/([^/]+)\//.exec(url)?.[1] ?? "";
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: {
        "x-request-id": id,
        "content-type": opts.contentType ?? "application/json",
        ...opts.headers,
      },
      body: requestBody,
      signal: AbortSignal.timeout(30_000),
    });
    const responseBody = Buffer.from(await res.arrayBuffer());
    return { id, model, url, status: res.status, requestBody, responseBody };
  } catch (err) {
    return {
      id,
      model,
      url,
      status: 0,
      requestBody,
      responseBody: Buffer.alloc(0),
      error: (err as Error).message,
    };
  }
}

/** Run tasks with at most `limit` in flight. */
export async function pool<T>(count: number, limit: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, count) }, async () => {
      while (next < count) {
        const i = next++;
        out[i] = await task(i);
      }
    }),
  );
  return out;
}
