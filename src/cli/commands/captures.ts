import { openDatabase } from "../../adapters/registry.js";
import { groundTruthJson } from "../../api/handlers.js";
import { loadConfig } from "../../config.js";
import { ConfigError, ModeltapError } from "../../core/errors.js";
import { bodyLocation, captureJson } from "../../core/storage/capture-json.js";
import { type CaptureRow } from "../../core/ports.js";
import type { GroundTruthRow } from "../../core/ports.js";
import { intFlag, parseArgs } from "../args.js";
import type { Command } from "../command.js";

function table(rows: CaptureRow[]): string {
  const head = ["ID", "MODEL", "VERSION", "TASK", "RECEIVED", "MS", "STATUS", "REQ", "RESP"];
  const size = (b: CaptureRow["request"]) => `${b.sizeBytes}${b.truncated ? "+" : ""}`;
  const lines = rows.map((r) => [
    r.id,
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

export const capturesCommand: Command = {
  name: "captures",
  usage: "captures list [--model M] [--limit N] [--json] | get <id> [--json]",
  summary: "Query captured exchanges: where their bodies are stored, the prediction and the ground truth",
  async run(args) {
    const [sub, ...rest] = args;
    const { flags, positional } = parseArgs(rest, { model: "string", limit: "string", json: "boolean" });
    if (sub !== "list" && sub !== "get")
      throw new ConfigError([`captures: expected "list" or "get", got ${JSON.stringify(sub)}`]);
    const config = loadConfig();
    const db = openDatabase(config, 1);
    const repo = db.captures;
    try {
      if (sub === "list") {
        const rows = await repo.listCaptures({
          ...(typeof flags.model === "string" ? { model: flags.model } : {}),
          limit: intFlag(flags, "limit", 20, 1, 10_000),
        });
        console.log(flags.json ? JSON.stringify(rows.map(captureJson), null, 2) : table(rows));
        return 0;
      }
      const id = positional[0];
      if (!id) throw new ConfigError(["captures get: needs a capture id"]);
      const row = await repo.getCapture(id);
      if (!row) throw new ModeltapError("NOT_FOUND", `no capture with id ${JSON.stringify(id)}`);
      const truth = await db.groundTruth.groundTruthFor(id);
      console.log(
        flags.json
          ? JSON.stringify(
              { ...captureJson(row), ground_truth: truth.map((t) => groundTruthJson(t, row)) },
              null,
              2,
            )
          : detail(row, truth),
      );
      return 0;
    } finally {
      await db.close();
    }
  },
};
