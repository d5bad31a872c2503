/** `modeltap drift`: one window of a model against its baseline, the previous window, or a range. */
import { ConfigError, ModeltapError } from "../../core/errors.js";
import type { Baseline } from "../../core/monitoring/baseline.js";
import { evaluateDrift, type DriftResult, type FieldDrift } from "../../core/monitoring/evaluate.js";
import { referenceFromProfile } from "../../core/monitoring/reference.js";
import { windowProfile } from "../../monitor/read.js";
import type { Command } from "../command.js";
import {
  assertKnownModel,
  AT_OPTION,
  JSON_OPTION,
  MODEL_OPTION,
  openMonitorDb,
  rangeOption,
  required,
  span,
  text,
  timeOption,
  VERSION_OPTION,
  windowAt,
  windowOption,
} from "./monitor-options.js";

function score(f: FieldDrift): string {
  if (f.score === null) return "-";
  if (!Number.isFinite(f.score)) return "inf";
  return f.score < 1e-4 && f.score > 0 ? f.score.toExponential(2) : f.score.toFixed(4);
}

export function driftTable(r: DriftResult): string {
  const head = [
    "FIELD",
    "KIND",
    "METHOD",
    "SCORE",
    "THRESHOLD",
    "DRIFTED",
    "REF N",
    "CUR N",
    "MISSING",
    "NOTE",
  ];
  const rows = r.fields.map((f) => [
    f.field,
    f.kind,
    f.method,
    score(f),
    String(f.threshold),
    f.drifted ? "YES" : f.enough ? "no" : "-",
    String(f.reference),
    String(f.current),
    String(f.missing),
    [
      !f.enough ? `under min_count ${r.min_count}` : "",
      f.approximate ? `approx${f.error !== null ? ` ±${f.error.toPrecision(2)}` : ""}` : "",
    ]
      .filter(Boolean)
      .join("; "),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((l) => l[i]!.length)));
  return [head, ...rows]
    .map((l) =>
      l
        .map((c, i) => c.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export const driftCommand: Command = {
  name: "drift",
  summary: "Drift of one window of a model against its active baseline, the previous window, or a time range",
  options: {
    model: MODEL_OPTION,
    window: {
      type: "string",
      value: "W",
      description: "window length: 5m, 1h, 1d (whole minutes, up to 31d)",
    },
    at: AT_OPTION,
    against: {
      type: "string",
      value: "REF",
      description:
        "baseline (the model's active one; default), previous (the window before), or A..B (a time range)",
    },
    version: VERSION_OPTION,
    json: JSON_OPTION,
  },
  exitCodes: { 3: "the window has drifted (dataset drift, or the prediction field drifted)" },
  examples: [
    "modeltap drift --model iris --window 1h",
    "modeltap drift --model iris --window 5m --against previous --json",
    "modeltap drift --model iris --window 1d --against 2026-11-01T00:00Z..2026-11-08T00:00Z",
  ],
  async run({ config, options }) {
    const model = required(options, "model");
    const window = windowOption(options);
    const now = new Date();
    const at = timeOption(options, "at", now) ?? now;
    const against = text(options, "against") ?? "baseline";
    const version = text(options, "version") ?? null;
    const db = await openMonitorDb(config);
    try {
      await assertKnownModel(db, model);
      const { from, to } = windowAt(at, window.ms);
      const current = await windowProfile(db.monitor, model, from, to, version);
      const active = await db.monitor.activeBaseline(model);
      let reference: Baseline;
      let described: string;
      if (against === "baseline") {
        if (!active)
          throw new ModeltapError(
            "NO_BASELINE",
            `model ${model} has no active baseline; create one (modeltap baseline create --model ${model} --from T --to T --activate) or use --against previous`,
          );
        reference = active;
        described = `baseline ${active.id}`;
      } else {
        const range =
          against === "previous"
            ? { from: new Date(from.getTime() - window.ms), to: from }
            : against.includes("..")
              ? rangeOption(against, now, "against")
              : undefined;
        if (!range)
          throw new ConfigError([
            `--against: expected baseline, previous or A..B, got ${JSON.stringify(against)}`,
          ]);
        const profile = await windowProfile(db.monitor, model, range.from, range.to, version);
        if (profile.captures === 0)
          throw new ModeltapError(
            "TOO_FEW_INSTANCES",
            `the reference window ${span(range.from, range.to)} holds no captures of ${model}`,
          );
        reference = referenceFromProfile(profile, { ...range, model }, active);
        described = `window ${span(range.from, range.to)} (${profile.captures} captures)`;
      }
      const result = evaluateDrift(reference, current);
      const enough = result.fields.some((f) => f.enough);
      if (options.json) {
        console.log(
          JSON.stringify(
            { model, version, window: window.name, from, to, against: described, ...result },
            null,
            2,
          ),
        );
      } else {
        console.log(
          `model ${model}${version ? ` version ${version}` : ""}, window ${window.name} ${span(from, to)}: ${current.captures} captures, ${current.instances} instances`,
        );
        console.log(`against ${described}`);
        console.log("");
        console.log(driftTable(result));
        console.log("");
        const share = result.drift_share === null ? "-" : `${(result.drift_share * 100).toFixed(0)}%`;
        console.log(
          `dataset drift: ${result.dataset_drift ? "YES" : "no"} (${result.drifted_inputs} of ${result.input_fields} input fields drifted, ${share}; threshold ${(result.dataset_drift_threshold * 100).toFixed(0)}%)`,
        );
        if (result.prediction)
          console.log(
            `prediction drift (${result.prediction.field}): ${result.prediction.drifted ? "YES" : "no"}`,
          );
      }
      if (!enough)
        throw new ModeltapError(
          "TOO_FEW_INSTANCES",
          `window ${span(from, to)} holds fewer than min_count ${result.min_count} values in every field: drift is not judged`,
        );
      return result.dataset_drift || result.prediction?.drifted ? 3 : 0;
    } finally {
      await db.close();
    }
  },
};
