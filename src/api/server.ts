/**
 * The HTTP layer of `modeltap api`: routing, the shared-secret check, body caps and JSON parsing.
 * Handlers (handlers.ts) do the work. Bodies are never logged.
 */
import http from "node:http";
import { errorMessage } from "../core/errors.js";
import { MEDIA_PATH, bearerOk, mediaSignatureOk } from "./auth.js";
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
  secret: string;
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
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
  } catch (err) {
    throw new HttpProblem(400, `body is not valid JSON: ${errorMessage(err)}`);
  }
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
  const route = async (req: http.IncomingMessage): Promise<{ endpoint: string; reply: Reply }> => {
    const url = new URL(req.url ?? "/", "http://api");
    const method = req.method ?? "GET";
    const path = url.pathname;
    if (path === "/healthz") return { endpoint: "healthz", reply: { status: 200, body: { ok: true } } };
    if (path === "/metrics") {
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
      const captureId = url.searchParams.get("capture") ?? "";
      const instanceText = url.searchParams.get("instance") ?? "";
      const instance = Number(instanceText);
      if (!captureId || !/^\d{1,6}$/.test(instanceText)) {
        return { endpoint: "media", reply: { status: 400, body: { error: "needs capture and instance" } } };
      }
      if (!mediaSignatureOk(opts.secret, captureId, instance, url.searchParams.get("sig") ?? "")) {
        return {
          endpoint: "media",
          reply: { status: 403, body: { error: "bad or missing media signature" } },
        };
      }
      return { endpoint: "media", reply: await getMedia(captureId, instance, deps) };
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
    // Checked before the body is read: an unauthenticated caller gets nothing parsed and nothing written.
    if (!bearerOk(req.headers.authorization, opts.secret)) {
      deps.log.warn({ endpoint, remote: req.socket.remoteAddress }, "request without a valid shared secret");
      return {
        endpoint,
        reply: { status: 401, body: { error: "missing or bad Authorization: Bearer <secret>" } },
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
      reply: endpoint === "webhook" ? await postWebhook(body, deps) : await postGroundTruth(body, deps),
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
