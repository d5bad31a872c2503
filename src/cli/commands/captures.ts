import { openDatabase } from "../../adapters/registry.js";
import { groundTruthJson } from "../../api/handlers.js";
import { ConfigError } from "../../core/errors.js";
import { bodyLocation, captureJson } from "../../core/storage/capture-json.js";
import { type CaptureRow } from "../../core/ports.js";
import type { GroundTruthRow } from "../../core/ports.js";
import type { Command } from "../command.js";
import { intOption } from "../program.js";
import { requestIdKey } from "../../core/capture-id.js";
import { bodyCommand } from "./captures-body.js";
import { findCapture } from "./find-capture.js";
import { deleteCommand } from "./captures-delete.js";

function table(rows: CaptureRow[]): string {
  const head = ["ID", "REQUEST ID", "MODEL", "VERSION", "TASK", "RECEIVED", "MS", "STATUS", "REQ", "RESP"];
  const size = (b: CaptureRow["request"]) => `${b.sizeBytes}${b.truncated ? "+" : ""}`;
  const lines = rows.map((r) => [
    r.id,
    clip(r.requestId, 40) || "-",
    r.model,
    r.version,
    r.task,
    r.receivedAt.toISOString(),
    r.durationMs.toFixed(1),
    String(r.statusCode),
    size(r.request),
    size(r.response),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  return [head, ...lines].map((l) => l.map((c, i) => c.padEnd(widths[i]!)).join("  ")).join("\n");
}

function detail(r: CaptureRow, truth: GroundTruthRow[]): string {
  const body = (name: string, b: CaptureRow["request"]) =>
    [
      `${name}:`,
      `  content_type:   ${b.contentType || "-"}${b.contentEncoding ? ` (${b.contentEncoding}${b.decoded ? ", decoded" : ""})` : ""}`,
      `  size:           ${b.sizeBytes} bytes stored, ${b.wireSizeBytes} on the wire${b.truncated ? ", TRUNCATED" : ""}`,
      ...(b.decodeError ? [`  decode_error:   ${b.decodeError}`] : []),
      `  stored:         ${bodyLocation(b)}`,
    ].join("\n");
  return [
    `id:          ${r.id}`,
    `request_id:  ${r.requestId || "- (none: sampled by a random draw)"}`,
    `model:       ${r.model} version ${r.version} (${r.task})`,
    `route:       ${r.route || "-"} -> cluster ${r.cluster || "-"} (${r.mode} mode)`,
    `request:     ${r.method} ${r.path}`,
    `received_at: ${r.receivedAt.toISOString()}`,
    `duration:    ${r.durationMs.toFixed(2)} ms at the collector, upstream ${r.upstreamMs ?? "-"} ms (Envoy), status ${r.statusCode}${r.complete ? "" : ", INCOMPLETE"}`,
    body("request", r.request),
    body("response", r.response),
    ...analysis(r),
    ...groundTruth(r, truth),
  ].join("\n");
}

function clip(s: string, n = 160): string {
  return s.length > n ? `${s.slice(0, n)}…` : s;
}

/** The canonical analysis, one line per instance input and prediction. */
function analysis(r: CaptureRow): string[] {
  const out = [
    `analysis:    ${r.protocol ? `protocol ${r.protocol}` : "-"}${r.parseError ? `, PARSE ERROR: ${r.parseError}` : ""}`,
  ];
  for (const [i, inst] of (r.analysis?.instances ?? []).entries()) {
    out.push(`  [${i}] input:      ${clip(JSON.stringify(inst.input))}`);
    out.push(`  [${i}] prediction: ${clip(JSON.stringify(inst.prediction), 400)}`);
  }
  return out;
}

/** The ground truth next to the prediction: every kept label version, newest first per instance. */
function groundTruth(r: CaptureRow, truth: GroundTruthRow[]): string[] {
  const queued = r.labelExports.length
    ? `; instances ${r.labelExports.join(", ")} sent to the labeling tool`
    : "";
  if (truth.length === 0) return [`ground_truth: none yet${queued}`];
  return [
    `ground_truth:${queued}`,
    ...truth.map(
      (t) =>
        `  [${t.instance}] ${t.source}${t.sourceRef ? ` #${t.sourceRef}` : ""} at ${t.labeledAt.toISOString()}: ${t.deleted ? "DELETED" : clip(JSON.stringify(t.label), 400)}`,
    ),
  ];
}

const json = {
  type: "boolean",
  description: "print JSON (the stable shape documented in docs/cli.md)",
} as const;

const list: Command = {
  name: "list",
  summary: "Newest captures first",
  options: {
    model: { type: "string", value: "M", description: "only captures of model M" },
    "request-id": {
      type: "string",
      value: "R",
      description: "only captures of x-request-id R: every hop of one request",
    },
    limit: { type: "string", value: "N", description: "at most N captures (1 to 10000; default 20)" },
    json,
  },
  examples: [
    "modeltap captures list --model iris --limit 5",
    "modeltap captures list --request-id 9f1c2b3d-4e5f-4a0c-9a59-0f1c2b3d4e5f",
  ],
  async run({ config, options }) {
    const limit = intOption(options, "limit", 20, 1, 10_000);
    const db = openDatabase(config, 1);
    try {
      const { model, "request-id": requestId } = options;
      const rows = await db.captures.listCaptures({
        ...(typeof model === "string" ? { model } : {}),
        ...(typeof requestId === "string" ? { requestId: requestIdKey(requestId) } : {}),
        limit,
      });
      console.log(options.json ? JSON.stringify(rows.map(captureJson), null, 2) : table(rows));
    } finally {
      await db.close();
    }
  },
};

const get: Command = {
  name: "get",
  summary:
    "One capture: where its bodies are stored, its canonical prediction and its ground truth; <id> is a capture id, or the x-request-id of a request captured on one hop",
  args: "<id>",
  options: { json },
  examples: ["modeltap captures get 0190b6a2-1c3d-7e4f-8a5b-6c7d8e9f0a1b --json"],
  exitCodes: {
    1: "also: no capture with that id (`[NOT_FOUND]`), or a request id of several hops (`[AMBIGUOUS_ID]`)",
  },
  async run({ config, options, positionals }) {
    const id = positionals[0];
    if (!id) throw new ConfigError(["captures get: needs a capture id"]);
    const db = openDatabase(config, 1);
    try {
      const row = await findCapture(db.captures, id);
      const truth = await db.groundTruth.groundTruthFor(row.id, row.requestId);
      console.log(
        options.json
          ? JSON.stringify(
              { ...captureJson(row), ground_truth: truth.map((t) => groundTruthJson(t, row)) },
              null,
              2,
            )
          : detail(row, truth),
      );
    } finally {
      await db.close();
    }
  },
};

export const capturesCommand: Command = {
  name: "captures",
  summary:
    "Query captured exchanges: where their bodies are stored, the prediction and the ground truth; read stored bodies, images and masks back",
  examples: [
    "modeltap captures list --model iris",
    "modeltap captures get <id> --json",
    "modeltap captures body <id> image 0 --out input.png",
  ],
  subcommands: [list, get, bodyCommand, deleteCommand],
};
