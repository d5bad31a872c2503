/**
 * A small inference server for the demo and the tests, speaking Open Inference Protocol (V2) JSON:
 *   POST /v2/models/iris/infer       toy iris classifier over 4 features
 *   POST /v2/models/sentiment/infer  toy text classifier (BYTES input)
 *   POST /v2/models/echo/infer       returns the request body unchanged
 *   POST /v2/models/<other>/infer    same as iris
 *   GET  /v2/health/ready, /healthz
 * Responses are gzip-encoded when the client accepts gzip and sends `x-demo-gzip: 1`.
 */
import http from "node:http";
import zlib from "node:zlib";

const IRIS = ["setosa", "versicolor", "virginica"];

function iris(body: unknown): unknown {
  const inputs = (body as { inputs?: Array<{ data?: number[]; shape?: number[] }> }).inputs ?? [];
  const data = inputs[0]?.data ?? [];
  const rows = Math.max(1, Math.floor(data.length / 4));
  const labels: string[] = [];
  const scores: number[] = [];
  for (let r = 0; r < rows; r++) {
    const petal = data[r * 4 + 2] ?? 0;
    const k = petal < 2.5 ? 0 : petal < 4.9 ? 1 : 2;
    labels.push(IRIS[k]!);
    scores.push(0.9 - 0.1 * k);
  }
  return {
    model_name: "iris",
    outputs: [
      { name: "label", datatype: "BYTES", shape: [rows], data: labels },
      { name: "score", datatype: "FP32", shape: [rows], data: scores },
    ],
  };
}

function sentiment(body: unknown): unknown {
  const inputs = (body as { inputs?: Array<{ data?: string[] }> }).inputs ?? [];
  const texts = inputs[0]?.data ?? [];
  const labels = texts.map((t) => (/good|great|love|excellent/i.test(String(t)) ? "positive" : "negative"));
  return {
    model_name: "sentiment",
    outputs: [{ name: "label", datatype: "BYTES", shape: [labels.length], data: labels }],
  };
}

export function createInferenceServer(): http.Server {
  return http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = req.url ?? "/";
      if (req.method === "GET" && (url === "/healthz" || url === "/v2/health/ready")) {
        res.writeHead(200, { "content-type": "text/plain" });
        res.end("ok\n");
        return;
      }
      const m = /^\/v2\/models\/([^/]+)\/infer$/.exec(url);
      if (req.method !== "POST" || !m) {
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: `no route for ${req.method} ${url}` }));
        return;
      }
      const raw = Buffer.concat(chunks);
      let out: Buffer;
      let type = "application/json";
      if (m[1] === "echo") {
        out = raw;
        type = req.headers["content-type"] ?? "application/octet-stream";
      } else {
        let body: unknown;
        try {
          body = JSON.parse(raw.toString("utf8"));
        } catch {
          res.writeHead(400, { "content-type": "application/json" });
          res.end(JSON.stringify({ error: "request body is not JSON" }));
          return;
        }
        out = Buffer.from(JSON.stringify(m[1] === "sentiment" ? sentiment(body) : iris(body)));
      }
      const headers: Record<string, string> = { "content-type": type, "set-cookie": "session=demo-secret" };
      if (req.headers["x-demo-gzip"] === "1" && /gzip/.test(String(req.headers["accept-encoding"] ?? ""))) {
        out = zlib.gzipSync(out);
        headers["content-encoding"] = "gzip";
      }
      res.writeHead(200, headers);
      res.end(out);
    });
  });
}
