/**
 * The HTTP layer of `modeltap api`: routing, the secret checks (an API token for the ground-truth
 * API, the webhook secret for the webhook, a signed and unexpired URL for media), body caps and
 * JSON parsing. Handlers (handlers.ts) do the work. Bodies and secrets are never logged.
 */
import http from "node:http";
import { errorMessage } from "../core/errors.js";
import type { NamedSecret } from "../config-secrets.js";
import { parseJsonBody, percentEncodingOk } from "./request-input.js";
import { MEDIA_PATH, bearerOk, bearerTokenName, checkMediaQuery } from "./auth.js";
import {
  getGroundTruth,
  getMedia,
  postGroundTruth,
  postWebhook,
  type HandlerDeps,
  type Reply,
} from "./handlers.js";

export interface ApiServerOptions {
  host: string;
  port: number;
  /** Ground-truth API tokens by name. */
  tokens: readonly NamedSecret[];
  /** The labeling webhook's Bearer secret ("" accepts no webhook). */
  webhookSecret: string;
  /** Media-signing keys by key id; every one verifies. */
  mediaKeys: readonly NamedSecret[];
  /** Serve /metrics on this port (MODELTAP_API_METRICS=same). */
  serveMetrics: boolean;
  /** Unix seconds now (tests move it). */
  nowSeconds?: () => number;
  /** Cap on a request body (ground-truth batches, webhook payloads); past it: 413. */
  maxBodyBytes: number;
  ready: () => boolean;
}

class HttpProblem extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function readJson(req: http.IncomingMessage, max: number): Promise<unknown> {
  const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/json") throw new HttpProblem(415, "content-type must be application/json");
  const encoding = (req.headers["content-encoding"] ?? "identity").toLowerCase();
  if (encoding !== "identity") throw new HttpProblem(415, "compressed request bodies are not accepted");
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > max) throw new HttpProblem(413, `body over ${max} bytes (MODELTAP_API_MAX_BODY_BYTES)`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) throw new HttpProblem(413, `body over ${max} bytes (MODELTAP_API_MAX_BODY_BYTES)`);
    chunks.push(chunk as Buffer);
  }
  const parsed = parseJsonBody(Buffer.concat(chunks));
  if ("error" in parsed) throw new HttpProblem(400, parsed.error);
  return parsed.value;
}

function send(res: http.ServerResponse, reply: Reply): void {
  if (reply.bytes) {
    res.writeHead(reply.status, {
      "content-type": reply.bytes.contentType,
      "content-length": reply.bytes.data.byteLength,
      "cache-control":
        reply.status === 200 && reply.bytes.contentType.startsWith("image/")
          ? "private, max-age=3600"
          : "no-store",
      // The labeling tool's front end loads images from another origin.
      "access-control-allow-origin": "*",
      "x-content-type-options": "nosniff",
    });
    res.end(reply.bytes.data);
    return;
  }
  const text = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

export function startApiServer(deps: HandlerDeps, opts: ApiServerOptions): Promise<http.Server> {
  const now = opts.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
  const route = async (req: http.IncomingMessage): Promise<{ endpoint: string; reply: Reply }> => {
    if (!percentEncodingOk(req.url ?? "/"))
      throw new HttpProblem(400, "malformed percent-encoding in the URL");
    const url = new URL(req.url ?? "/", "http://api");
    const method = req.method ?? "GET";
    const path = url.pathname;
    if (path === "/healthz") return { endpoint: "healthz", reply: { status: 200, body: { ok: true } } };
    if (path === "/metrics" && opts.serveMetrics) {
      const text = await deps.metrics.registry.metrics();
      return {
        endpoint: "metrics",
        reply: {
          status: 200,
          body: null,
          bytes: { data: Buffer.from(text), contentType: deps.metrics.registry.contentType },
        },
      };
    }
    if (path === "/readyz") {
      const ok = opts.ready();
      return { endpoint: "readyz", reply: { status: ok ? 200 : 503, body: { ready: ok } } };
    }
    if (path === MEDIA_PATH && method === "GET") {
      const check = checkMediaQuery(url.searchParams, opts.mediaKeys, now());
      if (!check.ok) {
        if (check.status !== 400)
          deps.log.warn(
            {
              endpoint: "media",
              status: check.status,
              reason: check.error,
              kid: url.searchParams.get("kid"),
            },
            "media URL refused",
          );
        return { endpoint: "media", reply: { status: check.status, body: { error: check.error } } };
      }
      return { endpoint: "media", reply: await getMedia(check.captureId, check.instance, deps) };
    }
    const endpoint =
      path === "/v1/ground-truth"
        ? "ground_truth"
        : path.startsWith("/v1/ground-truth/")
          ? "ground_truth_get"
          : path === "/v1/labeling/webhook"
            ? "webhook"
            : undefined;
    if (!endpoint)
      return { endpoint: "unknown", reply: { status: 404, body: { error: `no route ${path}` } } };
    // Checked before the body is read: an unauthenticated caller gets nothing parsed and nothing
    // written. The webhook takes only the webhook secret, the API only an API token.
    const caller =
      endpoint === "webhook"
        ? bearerOk(req.headers.authorization, opts.webhookSecret)
          ? "webhook"
          : undefined
        : bearerTokenName(req.headers.authorization, opts.tokens);
    if (caller === undefined) {
      deps.log.warn({ endpoint, remote: req.socket.remoteAddress }, "request without a valid secret");
      const wanted =
        endpoint === "webhook" ? "MODELTAP_WEBHOOK_SECRET" : "an API token (MODELTAP_API_TOKENS)";
      return {
        endpoint,
        reply: { status: 401, body: { error: `missing or bad Authorization: Bearer <${wanted}>` } },
      };
    }
    if (endpoint === "ground_truth_get") {
      if (method !== "GET") return { endpoint, reply: { status: 405, body: { error: "use GET" } } };
      const id = decodeURIComponent(path.slice("/v1/ground-truth/".length));
      return { endpoint, reply: await getGroundTruth(id, deps) };
    }
    if (method !== "POST") return { endpoint, reply: { status: 405, body: { error: "use POST" } } };
    const body = await readJson(req, opts.maxBodyBytes);
    return {
      endpoint,
      reply:
        endpoint === "webhook" ? await postWebhook(body, deps) : await postGroundTruth(body, deps, caller),
    };
  };

  const server = http.createServer((req, res) => {
    const started = performance.now();
    route(req)
      .then(({ endpoint, reply }) => {
        deps.metrics.requests.inc({ endpoint, code: String(reply.status) });
        deps.metrics.requestSeconds.observe({ endpoint }, (performance.now() - started) / 1000);
        send(res, reply);
      })
      .catch((err: unknown) => {
        const status = err instanceof HttpProblem ? err.status : 500;
        if (status === 500) deps.log.error({ err, path: req.url?.split("?")[0] }, "api request failed");
        else
          deps.log.warn(
            { status, reason: errorMessage(err), path: req.url?.split("?")[0] },
            "api request refused",
          );
        deps.metrics.requests.inc({ endpoint: "error", code: String(status) });
        // Drain what is left of a refused body so the client sees the answer, not a reset.
        req.resume();
        send(res, { status, body: { error: status === 500 ? "internal error" : errorMessage(err) } });
      });
  });
  server.requestTimeout = 60_000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve(server));
  });
}
