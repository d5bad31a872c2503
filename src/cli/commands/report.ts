/** `modeltap report`: one self-contained HTML file of a model's window against its baseline. */
import fs from "node:fs";
import path from "node:path";
import { ModeltapError } from "../../core/errors.js";
import type { Baseline } from "../../core/monitoring/baseline.js";
import { evaluateDrift } from "../../core/monitoring/evaluate.js";
import { MAX_REPORT_POINTS } from "../../core/monitoring/report-data.js";
import { renderReport, reportInput, reportPoint, type ReportPoint } from "../../core/monitoring/report.js";
import { MINUTE_MS } from "../../core/monitor-settings.js";
import { windowProfile, windowQuality } from "../../monitor/read.js";
import type { Command } from "../command.js";
import { intOption } from "../program.js";
import {
  assertKnownModel,
  AT_OPTION,
  MODEL_OPTION,
  openMonitorDb,
  required,
  text,
  timeOption,
  VERSION_OPTION,
  windowAt,
  windowOption,
} from "./monitor-options.js";

const DEFAULT_POINTS = 24;

/** The sub-windows of [from, to): `points` of them, whole minutes each, the last ending at `to`. */
export function subWindows(from: Date, to: Date, points: number): Array<{ from: Date; to: Date }> {
  const ms = to.getTime() - from.getTime();
  const step = Math.max(MINUTE_MS, Math.round(ms / points / MINUTE_MS) * MINUTE_MS);
  const count = Math.max(1, Math.min(points, Math.floor(ms / step)));
  const out: Array<{ from: Date; to: Date }> = [];
  for (let i = count; i >= 1; i--) {
    const end = to.getTime() - (i - 1) * step;
    out.push({ from: new Date(end - step), to: new Date(end) });
  }
  return out;
}

export const reportCommand: Command = {
  name: "report",
  summary:
    "One self-contained HTML report of a model's window: histograms against the baseline, the drift table, quality over time, LLM panels",
  options: {
    model: MODEL_OPTION,
    window: {
      type: "string",
      value: "W",
      description: "window length: 1h, 1d, 7d (whole minutes, up to 31d; default 1d)",
    },
    at: AT_OPTION,
    version: VERSION_OPTION,
    baseline: {
      type: "string",
      value: "ID",
      description:
        "compare with this stored baseline (default: the model's active one; none: no drift table)",
    },
    points: {
      type: "string",
      value: "N",
      description: `points of the over-time charts: sub-windows of window/N, whole minutes (default ${DEFAULT_POINTS}, at most ${MAX_REPORT_POINTS})`,
    },
    out: { type: "string", value: "FILE", description: "the HTML file to write (required)" },
  },
  examples: [
    "modeltap report --model iris --window 1d --out report.html",
    "modeltap report --model iris --window 1h --points 12 --baseline iris-20261128T120000Z --out iris.html",
  ],
  async run({ config, options }) {
    const model = required(options, "model");
    const out = required(options, "out");
    const window = windowOption({ ...options, window: text(options, "window") ?? "1d" });
    const points = intOption(options, "points", DEFAULT_POINTS, 1, MAX_REPORT_POINTS);
    const now = new Date();
    const at = timeOption(options, "at", now) ?? now;
    const version = text(options, "version") ?? null;
    const baselineId = text(options, "baseline");
    const db = await openMonitorDb(config);
    let html: string;
    try {
      await assertKnownModel(db, model);
      const { from, to } = windowAt(at, window.ms);
      let baseline: Baseline | undefined;
      if (baselineId !== undefined) {
        const stored = await db.monitor.baseline(baselineId);
        if (!stored)
          throw new ModeltapError(
            "BASELINE_NOT_FOUND",
            `no baseline ${JSON.stringify(baselineId)} (modeltap baseline list)`,
          );
        baseline = stored.doc;
      } else baseline = await db.monitor.activeBaseline(model);
      const profile = await windowProfile(db.monitor, model, from, to, version);
      const quality = await windowQuality(db.monitor, model, from, to, version);
      const series: ReportPoint[] = [];
      for (const w of subWindows(from, to, points)) {
        const p = await windowProfile(db.monitor, model, w.from, w.to, version);
        series.push(
          reportPoint(w.from, w.to, p, await windowQuality(db.monitor, model, w.from, w.to, version)),
        );
      }
      html = renderReport(
        reportInput({
          model,
          version,
          window: window.name,
          from,
          to,
          now,
          profile,
          quality,
          baseline,
          drift: baseline ? evaluateDrift(baseline, profile) : null,
          note: baseline
            ? null
            : `Model ${model} has no active baseline: the window is shown alone, without drift. Create one with modeltap baseline create --model ${model} --from T --to T --activate.`,
          series,
        }),
      );
    } finally {
      await db.close();
    }
    const file = path.resolve(out);
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, html);
    fs.renameSync(tmp, file);
    console.log(`${file} (${Buffer.byteLength(html)} bytes)`);
    return 0;
  },
};
