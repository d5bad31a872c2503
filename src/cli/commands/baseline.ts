/** `modeltap baseline create|list|show|activate|import` (docs/monitoring.md#baselines). */
import fs from "node:fs";
import path from "node:path";
import { readDataset } from "../../adapters/fs/dataset-file.js";
import { ConfigError, ModeltapError } from "../../core/errors.js";
import {
  buildBaseline,
  ValueCollector,
  type Baseline,
  type BaselineField,
} from "../../core/monitoring/baseline.js";
import { checkBaseline } from "../../core/monitoring/baseline-check.js";
import { std } from "../../core/monitoring/summary.js";
import { baselineFromWindow } from "../../monitor/read.js";
import type { Command } from "../command.js";
import { intOption } from "../program.js";
import {
  assertKnownModel,
  JSON_OPTION,
  MODEL_OPTION,
  openMonitorDb,
  required,
  text,
  timeOption,
} from "./monitor-options.js";

const MAX_BASELINE_FILE_BYTES = 64 * 1024 * 1024;

function defaultId(model: string, at: Date): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return `${model.replace(/[^A-Za-z0-9._-]/g, "_").slice(0, 80)}-${stamp}`;
}

function describeField(name: string, f: BaselineField): string[] {
  const what =
    f.kind === "numeric" && f.summary
      ? `mean ${f.summary.mean.toPrecision(4)}, std ${std(f.summary).toPrecision(4)}, ${f.edges?.length ?? 0} edges`
      : `${Object.keys(f.categories ?? {}).length} categories${f.other ? ` + ${f.other} other` : ""}`;
  return [name, f.kind, f.method, String(f.threshold), String(f.count), String(f.missing), what];
}

function fieldTable(b: Baseline): string {
  const head = ["FIELD", "KIND", "METHOD", "THRESHOLD", "COUNT", "MISSING", "SUMMARY"];
  const rows = Object.entries(b.fields).map(([n, f]) => describeField(n, f));
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [head, ...rows]
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

function summaryLine(b: Baseline): string {
  const src =
    b.source.kind === "file"
      ? `file ${b.source.file}`
      : `${b.source.kind} ${b.source.from} .. ${b.source.to}`;
  return `${b.id}: model ${b.model}${b.version ? ` version ${b.version}` : ""}, ${b.captures} captures, ${Object.keys(b.fields).length} fields, from ${src}`;
}

const create: Command = {
  name: "create",
  summary:
    "Build a versioned baseline from a window of stored captures or from a training file, and store it",
  options: {
    model: MODEL_OPTION,
    version: {
      type: "string",
      value: "V",
      description: "only captures of this version (a window baseline); recorded in the baseline",
    },
    from: { type: "string", value: "T", description: "window start (ISO 8601, or -2h)" },
    to: { type: "string", value: "T", description: "window end (ISO 8601, -1h, now)" },
    file: {
      type: "string",
      value: "FILE",
      description: "a training file instead: .csv, .jsonl or .parquet, one row per instance",
    },
    target: {
      type: "string",
      value: "COL",
      description: "with --file: the label column; its distribution is the reference for prediction drift",
    },
    id: { type: "string", value: "ID", description: "the baseline's id (default: <model>-<UTC time>)" },
    bins: {
      type: "string",
      value: "N",
      description: "quantile bins per numeric field (2 to 1000; default 20)",
    },
    "min-count": {
      type: "string",
      value: "N",
      description: "values a window needs before drift is judged and alerted on (default 200)",
    },
    activate: { type: "boolean", description: "make it the model's active baseline" },
    out: { type: "string", value: "FILE", description: "also write the baseline JSON to FILE" },
  },
  examples: [
    "modeltap baseline create --model iris --from 2026-11-01T00:00Z --to 2026-11-08T00:00Z --activate",
    "modeltap baseline create --model churn --file train.parquet --target churned --activate",
  ],
  async run({ config, options }) {
    const model = required(options, "model");
    const now = new Date();
    const file = text(options, "file");
    const from = timeOption(options, "from", now);
    const to = timeOption(options, "to", now);
    if ((file === undefined) === (from === undefined || to === undefined))
      throw new ConfigError([
        "give either --from and --to (a window of stored captures) or --file (a training file)",
      ]);
    if (file === undefined && !(from! < to!)) throw new ConfigError(["--from must be before --to"]);
    if (file === undefined && text(options, "target") !== undefined)
      throw new ConfigError(["--target: only with --file"]);
    const version = text(options, "version") ?? null;
    const meta = {
      id: text(options, "id") ?? defaultId(model, now),
      model,
      version,
      createdAt: now,
      bins: intOption(options, "bins", 20, 2, 1000),
      minCount: intOption(options, "min-count", 200, 1, 100_000_000),
    };
    const db = await openMonitorDb(config);
    try {
      let baseline: Baseline;
      if (file !== undefined) {
        baseline = await fromFile(file, text(options, "target") ?? null, meta);
      } else {
        await assertKnownModel(db, model);
        console.error(
          `baseline: reading captures of ${model} from ${from!.toISOString()} to ${to!.toISOString()}...`,
        );
        baseline = await baselineFromWindow(
          db.monitor,
          { ...meta, source: { kind: "window", from: from!.toISOString(), to: to!.toISOString() } },
          { from: from!, to: to!, version },
          { refusalPatterns: config.monitor.refusalPatterns },
          (n) => console.error(`baseline: ${n} captures read`),
        );
        if (baseline.captures === 0) throw new ConfigError([`no captures of ${model} in that window`]);
      }
      checkBaseline(baseline);
      await db.monitor.saveBaseline(baseline, options.activate === true);
      const outFile = text(options, "out");
      if (outFile) fs.writeFileSync(outFile, `${JSON.stringify(baseline, null, 2)}\n`);
      console.log(summaryLine(baseline));
      console.log(fieldTable(baseline));
      console.log(
        options.activate
          ? `active for ${model}: workers count new captures on its edges within 15 s`
          : `stored, not active: modeltap baseline activate ${baseline.id}`,
      );
      return 0;
    } finally {
      await db.close();
    }
  },
};

async function fromFile(
  file: string,
  target: string | null,
  meta: {
    id: string;
    model: string;
    version: string | null;
    createdAt: Date;
    bins: number;
    minCount: number;
  },
): Promise<Baseline> {
  console.error(`baseline: reading ${file}...`);
  const data = await readDataset(file, {}, (rows) => console.error(`baseline: ${rows} rows read`));
  if (target !== null && !data.columns.includes(target))
    throw new ConfigError([
      `--target: ${file} has no column ${JSON.stringify(target)} (columns: ${data.columns.slice(0, 20).join(", ")})`,
    ]);
  const values = new ValueCollector();
  const targetNumeric =
    target !== null && data.rows.every((r) => r[target] === null || typeof r[target] === "number");
  for (const row of data.rows) {
    values.captures += 1;
    values.instances += 1;
    for (const col of data.columns) {
      const v = row[col] ?? null;
      if (col === target) {
        if (targetNumeric) values.numeric("prediction.value", v);
        else values.category("prediction.label", v === null ? null : String(v));
      } else values.value(`feature.${col}`, v);
    }
  }
  return buildBaseline(values, {
    ...meta,
    source: { kind: "file", file: path.basename(file), format: data.format, sha256: data.sha256, target },
  });
}

const list: Command = {
  name: "list",
  summary: "Stored baselines, newest first per model; the active one marked",
  options: { model: MODEL_OPTION, json: JSON_OPTION },
  examples: ["modeltap baseline list --model iris"],
  async run({ config, options }) {
    const db = await openMonitorDb(config);
    try {
      const rows = await db.monitor.baselines(text(options, "model"));
      if (options.json) {
        console.log(
          JSON.stringify(
            rows.map((r) => ({
              id: r.id,
              model: r.model,
              version: r.version,
              active: r.active,
              created_at: r.createdAt,
            })),
            null,
            2,
          ),
        );
        return 0;
      }
      if (rows.length === 0) console.log("no baselines");
      for (const r of rows)
        console.log(`${r.active ? "*" : " "} ${summaryLine(r.doc)} (created ${r.createdAt.toISOString()})`);
      return 0;
    } finally {
      await db.close();
    }
  },
};

const show: Command = {
  name: "show",
  summary: "One baseline's fields, methods and thresholds (--json: the whole document)",
  args: "<id>",
  options: { json: JSON_OPTION },
  examples: [
    "modeltap baseline show iris-20261128T120000Z",
    "modeltap baseline show iris-20261128T120000Z --json > baseline.json",
  ],
  async run({ config, options, positionals }) {
    const id = positionals[0];
    if (!id) throw new ConfigError(["baseline show: give the baseline's id"]);
    const db = await openMonitorDb(config);
    try {
      const b = await db.monitor.baseline(id);
      if (!b)
        throw new ModeltapError(
          "BASELINE_NOT_FOUND",
          `no baseline ${JSON.stringify(id)} (modeltap baseline list)`,
        );
      if (options.json) console.log(JSON.stringify(b.doc, null, 2));
      else {
        console.log(`${b.active ? "active" : "inactive"} ${summaryLine(b.doc)}`);
        if (b.doc.quality)
          console.log(
            `quality on ${b.doc.quality.labeled} labeled: ${Object.entries(b.doc.quality.metrics)
              .map(([k, v]) => `${k} ${v.toFixed(4)}`)
              .join(", ")}`,
          );
        console.log(
          `prediction field: ${b.doc.prediction_field ?? "-"}; dataset drift at ${b.doc.dataset_drift_share}; min_count ${b.doc.min_count}`,
        );
        console.log(fieldTable(b.doc));
      }
      return 0;
    } finally {
      await db.close();
    }
  },
};

const activate: Command = {
  name: "activate",
  summary: "Make a stored baseline its model's active one (the one drift is measured against)",
  args: "<id>",
  examples: ["modeltap baseline activate iris-20261128T120000Z"],
  async run({ config, positionals }) {
    const id = positionals[0];
    if (!id) throw new ConfigError(["baseline activate: give the baseline's id"]);
    const db = await openMonitorDb(config);
    try {
      const b = await db.monitor.activateBaseline(id);
      console.log(`active for ${b.model}: ${b.id}`);
      return 0;
    } finally {
      await db.close();
    }
  },
};

const importCommand: Command = {
  name: "import",
  summary: "Store a baseline JSON file (schema/baseline-v1.schema.json), checked field by field",
  args: "<file>",
  options: { activate: { type: "boolean", description: "make it the model's active baseline" } },
  examples: ["modeltap baseline import baseline.json --activate"],
  async run({ config, options, positionals }) {
    const file = positionals[0];
    if (!file) throw new ConfigError(["baseline import: give the file"]);
    const size = fs.statSync(file).size;
    if (size > MAX_BASELINE_FILE_BYTES)
      throw new ModeltapError(
        "BASELINE_INVALID",
        `${file}: ${size} bytes is over the ${MAX_BASELINE_FILE_BYTES}-byte limit`,
      );
    let doc: unknown;
    try {
      doc = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (err) {
      throw new ModeltapError("BASELINE_INVALID", `${file}: not JSON (${(err as Error).message})`);
    }
    const baseline = checkBaseline(doc);
    const db = await openMonitorDb(config);
    try {
      await db.monitor.saveBaseline(baseline, options.activate === true);
      console.log(`${options.activate ? "stored and active" : "stored"}: ${summaryLine(baseline)}`);
      return 0;
    } finally {
      await db.close();
    }
  },
};

export const baselineCommand: Command = {
  name: "baseline",
  summary: "Create, list, show, activate and import drift baselines",
  subcommands: [create, list, show, activate, importCommand],
  examples: ["modeltap baseline create --model iris --from -2h --to -1h --activate"],
};
