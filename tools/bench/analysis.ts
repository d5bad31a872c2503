/**
 * Parse/convert throughput per task: the collector's analysis step (protocol parser, converter,
 * scaler, JSON encoding of the canonical result) on realistic exchanges, with no I/O. Each case is
 * the demo model's real answer to a real request body. Reports records per second on one core.
 */
import { analyzeExchange } from "../../src/core/analysis/analyze.js";
import type { BodyView, ChunkTime, ParseContext } from "../../src/core/plugins.js";
import { compileRouteConfig, type RouteConfig } from "../../src/core/route-config.js";
import { DEMO_MODELS } from "../demo/models.js";
import { chatBody, nerBody } from "../demo/payloads.js";
import { PluginRegistry } from "../../src/plugins/registry.js";
import { noisyPng } from "./images.js";
import { writeResults } from "./common.js";

interface Case {
  name: string;
  route: Record<string, unknown>;
  path: string;
  contentType: string;
  body: Buffer;
}

const irisRows = (n: number) => ({
  inputs: [
    {
      name: "x",
      datatype: "FP32",
      shape: [n, 4],
      data: Array.from({ length: n * 4 }, (_, i) => +(1 + (i % 7) * 0.9).toFixed(1)),
    },
  ],
});
const IRIS_ROUTE = {
  model: "iris",
  task: "tabular_classification",
  protocol: "kserve_v2",
  features: ["sepal_length", "sepal_width", "petal_length", "petal_width"],
};
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

const CASES: Case[] = [
  {
    name: "tabular classification (KServe V2, 1 row)",
    route: IRIS_ROUTE,
    path: "/v2/models/iris/infer",
    contentType: "application/json",
    body: json(irisRows(1)),
  },
  {
    name: "tabular classification (KServe V2, 32 rows)",
    route: IRIS_ROUTE,
    path: "/v2/models/iris/infer",
    contentType: "application/json",
    body: json(irisRows(32)),
  },
  {
    name: "tabular regression (KServe V1, 1 row)",
    route: { model: "price", task: "tabular_regression", protocol: "kserve_v1", features: ["sqft", "rooms"] },
    path: "/v1/models/price:predict",
    contentType: "application/json",
    body: json({ instances: [[1200, 3]] }),
  },
  {
    name: "tabular regression (CSV, 2 rows)",
    route: { model: "price", task: "tabular_regression", protocol: "generic" },
    path: "/csv/price",
    contentType: "text/csv",
    body: Buffer.from("sqft,rooms\n1000,2\n1500,4\n"),
  },
  {
    name: "image classification (base64 PNG 224x224 in JSON)",
    route: { model: "image-classifier", task: "image_classification", protocol: "hf_pipeline", top_k: 2 },
    path: "/models/image-classifier",
    contentType: "application/json",
    body: json({ inputs: noisyPng(224, 224).toString("base64") }),
  },
  {
    name: "object detection (raw PNG 1280x720, voc, letterbox)",
    route: {
      model: "detector",
      task: "object_detection",
      protocol: "torchserve",
      converter: "voc",
      scaler: "letterbox",
      input_size: "640x640",
    },
    path: "/predictions/detector",
    contentType: "image/png",
    body: noisyPng(1280, 720),
  },
  {
    name: "instance segmentation (raw PNG 640x480, polygons, stretch)",
    route: {
      model: "segmenter",
      task: "instance_segmentation",
      protocol: "torchserve",
      converter: "polygons",
      scaler: "stretch",
      input_size: "320x320",
    },
    path: "/predictions/segmenter",
    contentType: "image/png",
    body: noisyPng(640, 480),
  },
  {
    name: "text classification (KServe V2 BYTES, 2 texts)",
    route: { model: "sentiment", task: "text_classification", protocol: "kserve_v2" },
    path: "/v2/models/sentiment/infer",
    contentType: "application/json",
    body: json({
      inputs: [{ name: "text", datatype: "BYTES", shape: [2], data: ["I love it", "awful stuff"] }],
    }),
  },
  {
    name: "NER (Hugging Face entity groups)",
    route: { model: "ner", task: "ner", protocol: "hf_pipeline", converter: "hf_ner" },
    path: "/models/ner",
    contentType: "application/json",
    body: Buffer.from(nerBody(2)),
  },
  {
    name: "LLM chat (JSON)",
    route: { model: "chat", task: "text_generation", protocol: "openai_chat" },
    path: "/v1/chat/completions",
    contentType: "application/json",
    body: Buffer.from(chatBody(1, false)),
  },
  {
    name: "LLM chat (streamed SSE, reassembled)",
    route: { model: "chat", task: "text_generation", protocol: "openai_chat" },
    path: "/v1/chat/completions",
    contentType: "application/json",
    body: Buffer.from(chatBody(1, true)),
  },
];

function view(bytes: Buffer, contentType: string): BodyView {
  return { bytes: new Uint8Array(bytes), contentType, headers: [], truncated: false };
}

/** The demo model's answer, exactly as the demo server would send it. */
function exchange(c: Case): ParseContext {
  const handler = DEMO_MODELS.find(([re]) => re.test(c.path))?.[1];
  if (!handler) throw new Error(`no demo model for ${c.path}`);
  const reply = handler(c.body, { "content-type": c.contentType });
  if (reply.status !== 200) throw new Error(`${c.name}: demo model answered ${reply.status}`);
  const body = reply.chunks ? Buffer.concat(reply.chunks) : reply.body;
  // Streams: one chunk time per SSE frame, 15 ms apart, as the demo server paces them.
  let offset = 0;
  const times: ChunkTime[] = (reply.chunks ?? [body]).map((chunk, i) => {
    offset += chunk.byteLength;
    return [offset, 1_000 + i * 15_000];
  });
  return {
    request: view(c.body, c.contentType),
    response: view(body, reply.contentType),
    route: { features: undefined },
    startedAtUs: 0,
    responseChunkTimes: times,
  };
}

interface Row {
  name: string;
  records: number;
  seconds: number;
  perSecond: number;
  usPerRecord: number;
  instancesPerSecond: number;
  requestBytes: number;
}

function measure(c: Case, registry: PluginRegistry, budgetMs: number): Row {
  const compiled = compileRouteConfig(registry, { version: "1", ...c.route });
  if (!compiled?.ok) throw new Error(`${c.name}: ${compiled ? compiled.problems.join("; ") : "no config"}`);
  const cfg: RouteConfig = compiled.config;
  const ctx = { ...exchange(c), route: { features: cfg.analysis.features } };
  const parsers = registry.detectionOrder();
  const once = () => {
    const r = analyzeExchange(cfg.task, cfg.analysis, parsers, ctx);
    if (r.parseError || !r.analysis) throw new Error(`${c.name}: ${r.parseError || "no analysis"}`);
    // The collector ships the canonical analysis as JSON on the record.
    JSON.stringify(r.analysis);
    return r.analysis.instances.length;
  };
  for (let i = 0; i < 200; i++) once(); // warm-up (JIT)
  let records = 0;
  const instances = once();
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(budgetMs) * 1_000_000n;
  let now = start;
  while (now < deadline) {
    for (let i = 0; i < 50; i++) once();
    records += 50;
    now = process.hrtime.bigint();
  }
  const seconds = Number(now - start) / 1e9;
  return {
    name: c.name,
    records,
    seconds,
    perSecond: records / seconds,
    usPerRecord: (seconds * 1e6) / records,
    instancesPerSecond: (records * instances) / seconds,
    requestBytes: c.body.byteLength,
  };
}

function main(): void {
  const budgetMs = Number(process.env.MODELTAP_BENCH_ANALYSIS_MS ?? 1500);
  const registry = new PluginRegistry();
  const rows: Row[] = [];
  console.log(`parse/convert throughput, one core, ${budgetMs} ms per case`);
  for (const c of CASES) {
    const row = measure(c, registry, budgetMs);
    rows.push(row);
    console.log(`  ${row.name}: ${Math.round(row.perSecond)} records/s`);
  }
  const lines = [
    `Parse/convert throughput per task (one core, ${budgetMs} ms per case; parser + converter + scaler + JSON)`,
    "",
    "| exchange | request bytes | records/s | µs/record | instances/s |",
    "|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.requestBytes} | ${Math.round(r.perSecond)} | ${r.usPerRecord.toFixed(1)} | ${Math.round(r.instancesPerSecond)} |`,
    ),
  ];
  console.log(`\n${lines.join("\n")}`);
  writeResults("analysis", { budgetMs, rows }, lines);
}

main();
