/**
 * A small inference server for the demo and the tests (models in models.ts, and the configurable
 * detector of detector-matrix.ts). Responses are gzip-encoded when the client accepts gzip and
 * sends `x-demo-gzip: 1`; every response sets a cookie, so redaction of set-cookie is visible in
 * captures.
 */
import http from "node:http";
import zlib from "node:zlib";
import { matrixHandler } from "./detector-matrix.js";
import { DEMO_MODELS } from "./models.js";

const STREAM_DELAY_MS = 15;

/**
 * Longer than Envoy's default upstream idle timeout (1 h): with Node's 5 s keep-alive the server
 * closes idle connections that Envoy may be reusing at that moment, and that request answers 503
 * "upstream connect error or disconnect/reset before headers" (docs/troubleshooting.md).
 */
const KEEP_ALIVE_MS = 3_660_000;

export function createInferenceServer(): http.Server {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = req.url ?? "/";
      if (req.method === "GET" && (url === "/healthz" || url === "/v2/health/ready")) {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("ok\n");
        return;
      }
      // The matrix detector (detector-matrix.ts) reads its query; the other models match the bare URL.
      const handler =
        req.method === "POST"
          ? (matrixHandler(url) ?? DEMO_MODELS.find(([re]) => re.test(url))?.[1])
          : undefined;
      if (!handler) {
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: `no route for ${req.method} ${url}` }));
        return;
      }
      const reply = handler(Buffer.concat(chunks), req.headers);
      const headers: Record<string, string> = {
        ...reply.headers,
        "content-type": reply.contentType,
        "set-cookie": "session=demo-secret",
      };
      if (reply.chunks) {
        res.writeHead(reply.status, headers);
        let i = 0;
        const next = (): void => {
          if (i >= reply.chunks!.length) {
            res.end();
            return;
          }
          res.write(reply.chunks![i++]);
          setTimeout(next, STREAM_DELAY_MS);
        };
        next();
        return;
      }
      let body = reply.body;
      if (req.headers["x-demo-gzip"] === "1" && /gzip/.test(String(req.headers["accept-encoding"] ?? ""))) {
        body = zlib.gzipSync(body);
        headers["content-encoding"] = "gzip";
      }
      res.writeHead(reply.status, headers);
      res.end(body);
    });
  });
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  return server;
}
