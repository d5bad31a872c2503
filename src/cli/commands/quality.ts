/** `modeltap quality`: a model's quality over one window, from its captures and their labels. */
import { ModeltapError } from "../../core/errors.js";
import {
  classificationMetrics,
  detectionMetrics,
  entityMetrics,
  regressionMetrics,
  segmentationMetrics,
} from "../../core/monitoring/quality.js";
import {
  headlineMetrics,
  LOWER_IS_BETTER,
  QUALITY_ALERT_MIN_LABELED,
} from "../../core/monitoring/quality-aggregate.js";
import { windowQuality } from "../../monitor/read.js";
import type { Command } from "../command.js";
import {
  assertKnownModel,
  AT_OPTION,
  JSON_OPTION,
  MODEL_OPTION,
  openMonitorDb,
  required,
  span,
  text,
  timeOption,
  VERSION_OPTION,
  windowAt,
  windowOption,
} from "./monitor-options.js";

export const qualityCommand: Command = {
  name: "quality",
  summary:
    "A model's quality over one window (by prediction time), from its labeled captures, beside its baseline's",
  options: {
    model: MODEL_OPTION,
    window: {
      type: "string",
      value: "W",
      description: "window length: 1h, 1d, 7d (whole minutes, up to 31d)",
    },
    at: AT_OPTION,
    version: VERSION_OPTION,
    json: JSON_OPTION,
  },
  examples: ["modeltap quality --model iris --window 1d", "modeltap quality --model yolo --window 7d --json"],
  async run({ config, options }) {
    const model = required(options, "model");
    const window = windowOption(options);
    const now = new Date();
    const at = timeOption(options, "at", now) ?? now;
    const version = text(options, "version") ?? null;
    const db = await openMonitorDb(config);
    try {
      await assertKnownModel(db, model);
      const { from, to } = windowAt(at, window.ms);
      const q = await windowQuality(db.monitor, model, from, to, version);
      const baseline = await db.monitor.activeBaseline(model);
      const metrics = headlineMetrics(q);
      const detail = {
        ...(q.classification ? { classification: classificationMetrics(q.classification) } : {}),
        ...(q.regression ? { regression: regressionMetrics(q.regression) } : {}),
        ...(q.detection ? { detection: detectionMetrics(q.detection) } : {}),
        ...(q.segmentation ? { segmentation: segmentationMetrics(q.segmentation) } : {}),
        ...(q.entities ? { entities: entityMetrics(q.entities) } : {}),
      };
      if (options.json) {
        console.log(
          JSON.stringify(
            {
              model,
              version,
              window: window.name,
              from,
              to,
              labeled: q.labeled,
              mismatched: q.mismatched,
              metrics,
              baseline: baseline?.quality ?? null,
              detail,
            },
            null,
            2,
          ),
        );
      } else {
        console.log(
          `model ${model}${version ? ` version ${version}` : ""}, window ${window.name} ${span(from, to)}: ${q.labeled} labeled instances${q.mismatched ? ` (${q.mismatched} whose label and prediction differ in kind, not scored)` : ""}`,
        );
        const names = Object.keys(metrics);
        if (names.length === 0) console.log("no labeled predictions in this window");
        for (const name of names) {
          const ref = baseline?.quality?.metrics[name];
          const delta =
            ref === undefined
              ? ""
              : `  (baseline ${ref.toFixed(4)}, ${LOWER_IS_BETTER.has(name) ? "lower is better" : "higher is better"})`;
          console.log(`  ${name.padEnd(14)} ${metrics[name]!.toFixed(4)}${delta}`);
        }
      }
      if (q.labeled === 0)
        throw new ModeltapError(
          "TOO_FEW_INSTANCES",
          `no labeled predictions of ${model} in ${span(from, to)}`,
        );
      if (q.labeled < QUALITY_ALERT_MIN_LABELED && !options.json)
        console.error(
          `note: ${q.labeled} labeled instances; the shipped QualityDrop rule (docs/ops/alerts.yml) waits for ${QUALITY_ALERT_MIN_LABELED} in a window`,
        );
      return 0;
    } finally {
      await db.close();
    }
  },
};
