/** Inference traffic for the demo and the tests: real HTTP requests through Envoy. */
import { randomUUID } from "node:crypto";
import { encode } from "fast-png";

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

export function irisBody(i: number): string {
  const row = [5.1 + (i % 7) * 0.3, 3.5 - (i % 3) * 0.2, 1.4 + (i % 5) * 1.1, 0.2 + (i % 4) * 0.5];
  return JSON.stringify({
    inputs: [{ name: "features", datatype: "FP32", shape: [1, 4], data: row.map((x) => +x.toFixed(2)) }],
  });
}

export function sentimentBody(i: number): string {
  const texts = ["I love this product", "terrible support", "great value, excellent", "it broke after a day"];
  return JSON.stringify({
    inputs: [{ name: "text", datatype: "BYTES", shape: [1], data: [texts[i % texts.length]] }],
  });
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

/** A flat-colour PNG of the given size (the demo models only look at the size). */
export function pngImage(width: number, height: number): Buffer {
  const data = new Uint8Array(width * height * 3).fill(128);
  return Buffer.from(encode({ width, height, data, channels: 3, depth: 8 }));
}

export function nerBody(i: number): string {
  const texts = ["Alice flew from Paris to Berlin", "Bob lives in London", "Wolfgang met Alice in Paris"];
  return JSON.stringify({ inputs: texts[i % texts.length] });
}

export function chatBody(i: number, stream: boolean): string {
  return JSON.stringify({
    model: "demo",
    stream,
    messages: [{ role: "user", content: `question number ${i}` }],
  });
}
