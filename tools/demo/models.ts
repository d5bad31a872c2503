/**
 * The demo inference server's models: small, deterministic stand-ins that speak the real wire
 * protocols (Open Inference Protocol, TorchServe, Hugging Face pipelines, OpenAI chat with SSE),
 * so the demo and the end-to-end tests exercise modeltap's parsers, converters and scalers.
 */
import { imageSize } from "image-size";
import { parseMultipart } from "../../src/plugins/parsers/formats/multipart.js";

export interface DemoReply {
  status: number;
  contentType: string;
  body: Buffer;
  /** Response headers beside content-type (the OIP binary extension's header length). */
  headers?: Record<string, string>;
  /** Streamed replies: chunks written with a delay between them. */
  chunks?: Buffer[];
}

const json = (v: unknown, status = 200): DemoReply => ({
  status,
  contentType: "application/json",
  body: Buffer.from(JSON.stringify(v)),
});

const IRIS = ["setosa", "versicolor", "virginica"];

function iris(body: { inputs?: Array<{ data?: number[] }> }): DemoReply {
  const data = body.inputs?.[0]?.data ?? [];
  const rows = Math.max(1, Math.floor(data.length / 4));
  const labels: string[] = [];
  const scores: number[] = [];
  for (let r = 0; r < rows; r++) {
    const petal = data[r * 4 + 2] ?? 0;
    const k = petal < 2.5 ? 0 : petal < 4.9 ? 1 : 2;
    labels.push(IRIS[k]!);
    scores.push(+(0.9 - 0.1 * k).toFixed(2));
  }
  return json({
    model_name: "iris",
    outputs: [
      { name: "label", datatype: "BYTES", shape: [rows], data: labels },
      { name: "score", datatype: "FP32", shape: [rows], data: scores },
    ],
  });
}

function sentiment(body: { inputs?: Array<{ data?: string[] }> }): DemoReply {
  const texts = body.inputs?.[0]?.data ?? [];
  const labels = texts.map((t) => (/good|great|love|excellent/i.test(String(t)) ? "positive" : "negative"));
  return json({
    model_name: "sentiment",
    outputs: [{ name: "label", datatype: "BYTES", shape: [labels.length], data: labels }],
  });
}

/** Detects "the middle of the picture", answering in 640×640 letterboxed coordinates (YOLO style). */
function detector(image: Buffer): DemoReply {
  const { width: w = 0, height: h = 0 } = imageSize(image);
  const r = Math.min(640 / w, 640 / h);
  const padX = (640 - w * r) / 2;
  const padY = (640 - h * r) / 2;
  const box = [padX + (w / 4) * r, padY + (h / 4) * r, padX + ((3 * w) / 4) * r, padY + ((3 * h) / 4) * r];
  return json([{ label: "object", score: 0.87, box: box.map((v) => +v.toFixed(3)) }]);
}

/** Segments the middle of the picture as a polygon, in 320×320 stretched coordinates. */
function segmenter(image: Buffer): DemoReply {
  const { width: w = 0, height: h = 0 } = imageSize(image);
  const sx = 320 / w;
  const sy = 320 / h;
  const pts = [
    [w / 4, h / 4],
    [(3 * w) / 4, h / 4],
    [(3 * w) / 4, (3 * h) / 4],
    [w / 4, (3 * h) / 4],
  ].flatMap(([x, y]) => [+(x! * sx).toFixed(3), +(y! * sy).toFixed(3)]);
  // The Hugging Face box shape beside the polygon, as many segmentation servers answer.
  const box = { xmin: pts[0]!, ymin: pts[1]!, xmax: pts[4]!, ymax: pts[5]! };
  return json([{ label: "blob", score: 0.8, polygon: pts, box }]);
}

/** House prices, KServe V1 (TF Serving REST): {"instances": [[sqft, rooms], ...]} → {"predictions"}. */
const price = (sqft: number, rooms: number) => Math.round(150 * sqft + 10_000 * rooms);

function priceV1(body: { instances?: unknown[] }): DemoReply {
  const rows = (body.instances ?? []).map((r) => (Array.isArray(r) ? r.map(Number) : []));
  return json({ predictions: rows.map(([sqft = 0, rooms = 0]) => price(sqft, rooms)) });
}

/** The same model behind a plain CSV endpoint (header row, then one row per house): a JSON list out. */
function priceCsv(raw: Buffer): DemoReply {
  const [header, ...rows] = raw.toString("utf8").trim().split(/\r?\n/);
  const cols = (header ?? "").split(",");
  const at = (cells: string[], name: string) => Number(cells[cols.indexOf(name)] ?? 0);
  return json(rows.map((r) => r.split(",")).map((c) => price(at(c, "sqft"), at(c, "rooms"))));
}

/** Hugging Face image classification: top 3 of landscape/portrait/square by the image's aspect. */
function imageClassifier(image: Buffer): DemoReply {
  const { width: w = 1, height: h = 1 } = imageSize(image);
  const ranked =
    w > h * 1.1
      ? ["landscape", "square", "portrait"]
      : h > w * 1.1
        ? ["portrait", "square", "landscape"]
        : ["square", "landscape", "portrait"];
  return json(ranked.map((label, i) => ({ label, score: [0.85, 0.1, 0.05][i] })));
}

/** The image from a JSON body ({"inputs": "<base64>"}) or a multipart upload (first file part). */
function uploadedImage(raw: Buffer, contentType: string): Buffer {
  if (contentType.startsWith("multipart/form-data")) {
    const file = parseMultipart(raw, contentType).find((p) => p.filename !== undefined);
    if (!file) throw new Error("no file part");
    return Buffer.from(file.data);
  }
  const body = JSON.parse(raw.toString("utf8")) as { inputs?: unknown };
  return Buffer.from(String(body.inputs ?? ""), "base64");
}

const GAZETTEER: Record<string, string> = {
  Alice: "PER",
  Bob: "PER",
  Wolfgang: "PER",
  Berlin: "LOC",
  Paris: "LOC",
  London: "LOC",
};

/** Hugging Face token classification with aggregation, over a small gazetteer. */
function ner(body: { inputs?: unknown }): DemoReply {
  const text = String(body.inputs ?? "");
  const out = [...text.matchAll(/\b[A-Z][a-z]+\b/g)]
    .filter((m) => GAZETTEER[m[0]])
    .map((m) => ({
      entity_group: GAZETTEER[m[0]],
      score: 0.98,
      word: m[0],
      start: m.index,
      end: m.index + m[0].length,
    }));
  return json(out);
}

/** OpenAI-compatible chat: echoes the last user message back, streamed as SSE when asked. */
function chat(body: { messages?: Array<{ role: string; content: string }>; stream?: boolean }): DemoReply {
  const last = body.messages?.filter((m) => m.role === "user").at(-1)?.content ?? "";
  const words = `You said: ${last}`.split(" ");
  const usage = {
    prompt_tokens: last.split(" ").length,
    completion_tokens: words.length,
    total_tokens: last.split(" ").length + words.length,
  };
  if (!body.stream) {
    return json({
      id: "chatcmpl-demo",
      object: "chat.completion",
      choices: [
        { index: 0, message: { role: "assistant", content: words.join(" ") }, finish_reason: "stop" },
      ],
      usage,
    });
  }
  const event = (v: unknown) => Buffer.from(`data: ${JSON.stringify(v)}\n\n`);
  const chunks = [
    event({ choices: [{ index: 0, delta: { role: "assistant" } }] }),
    ...words.map((w, i) => event({ choices: [{ index: 0, delta: { content: i ? ` ${w}` : w } }] })),
    event({ choices: [{ index: 0, delta: {}, finish_reason: "stop" }], usage }),
    Buffer.from("data: [DONE]\n\n"),
  ];
  return { status: 200, contentType: "text/event-stream", body: Buffer.alloc(0), chunks };
}

type Handler = (raw: Buffer, headers: Record<string, string | string[] | undefined>) => DemoReply;

function jsonBody(fn: (body: never) => DemoReply): Handler {
  return (raw) => {
    try {
      return fn(JSON.parse(raw.toString("utf8")) as never);
    } catch (err) {
      return json({ error: `bad request: ${(err as Error).message}` }, 400);
    }
  };
}

function imageBody(fn: (image: Buffer) => DemoReply): Handler {
  return (raw) => {
    try {
      return fn(raw);
    } catch {
      return json({ error: "request body is not an image" }, 400);
    }
  };
}

/** Path → model. */
export const DEMO_MODELS: ReadonlyArray<[RegExp, Handler]> = [
  [
    /^\/v2\/models\/echo(-pii)?\/infer$/,
    (raw, h) => ({
      status: 200,
      contentType: String(h["content-type"] ?? "application/octet-stream"),
      body: raw,
    }),
  ],
  [/^\/v2\/models\/sentiment\/infer$/, jsonBody(sentiment)],
  [/^\/v2\/models\/[^/]+\/infer$/, jsonBody(iris)],
  [/^\/predictions\/detector$/, imageBody(detector)],
  [/^\/predictions\/segmenter$/, imageBody(segmenter)],
  [/^\/models\/ner$/, jsonBody(ner)],
  [/^\/v1\/models\/price:predict$/, jsonBody(priceV1)],
  [/^\/csv\/price$/, (raw) => priceCsv(raw)],
  [
    /^\/models\/image-classifier$/,
    (raw, h) =>
      imageBody((body) => imageClassifier(uploadedImage(body, String(h["content-type"] ?? ""))))(raw, h),
  ],
  [/^\/v1\/chat\/completions$/, jsonBody(chat)],
  // `npm run bench:overhead`: a model whose answer is small whatever it was sent (JSON or image).
  [
    /^\/bench\/s[0-9]+$/,
    (raw) => ({
      status: 200,
      contentType: "application/json",
      body: Buffer.from(JSON.stringify({ predictions: [{ label: "ok", score: 0.9 }], bytes: raw.length })),
    }),
  ],
];
