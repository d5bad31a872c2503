/** `modeltap retention run`: delete what has aged out, once or every interval (docs/retention.md). */
import { createObjectStore, openDatabase } from "../../adapters/registry.js";
import { ConfigError, errorMessage } from "../../core/errors.js";
import { parseInterval } from "../../core/retention.js";
import { runRetention, type ErasedTotals, type RetentionRun } from "../../worker/retention.js";
import type { Config } from "../../config.js";
import type { Command } from "../command.js";
import { intOption } from "../program.js";
import { onShutdown } from "../shutdown.js";

export function totalsLine(t: ErasedTotals): string {
  return `${t.captures} captures, ${t.objects} objects, ${t.groundTruth} ground-truth labels, ${t.labelExports} label exports`;
}

function policyLine(config: Config): string {
  const days = (d: number) => (d === 0 ? "forever" : `${d} days`);
  const models = [...config.retention.models].map(([m, d]) => `${m}: ${days(d)}`);
  return `keeping captures ${days(config.retention.defaultDays)}${models.length ? ` (${models.join(", ")})` : ""}`;
}

const run: Command = {
  name: "run",
  summary:
    "Delete captures older than their model's retention, with their objects, ground truth and label-export state, in batches",
  options: {
    every: {
      type: "string",
      value: "INTERVAL",
      description:
        "keep running: sweep now and then every INTERVAL (90s, 15m, 1h, 1d) until SIGTERM or SIGINT",
    },
    batch: {
      type: "string",
      value: "N",
      description: "captures per batch, one transaction each (1 to 10000; default 100)",
    },
    model: {
      type: "string",
      value: "M",
      description: "only captures of model M (orphan labels are left alone)",
    },
  },
  examples: [
    "MODELTAP_RETENTION_DAYS=30 MODELTAP_RETENTION_MODELS=bert=7 modeltap retention run",
    "modeltap retention run --every 1h",
  ],
  async run({ config, options, log }) {
    const batch = intOption(options, "batch", 100, 1, 10_000);
    const every = options.every;
    const intervalMs = typeof every === "string" ? parseInterval(every) : undefined;
    if (typeof every === "string" && intervalMs === undefined) {
      throw new ConfigError([
        `--every: expected a whole number and a unit, s, m, h or d, from 1s to 7d (90s, 15m, 1h), got ${JSON.stringify(every)}`,
      ]);
    }
    const model = typeof options.model === "string" ? options.model : undefined;
    const db = openDatabase(config, 2);
    const blobs = createObjectStore(config);
    try {
      await db.assertMigrated();
      const deps = { repo: db.retention, blobs, concurrency: 16 };
      const sweep = async (): Promise<RetentionRun> => {
        console.log(`retention: ${policyLine(config)}${model !== undefined ? `; model ${model} only` : ""}`);
        const done = await runRetention(deps, config.retention, new Date(), {
          batch,
          ...(model !== undefined ? { model } : {}),
          progress: (t) => console.log(`retention: batch ${t.batches}: erased so far ${totalsLine(t)}`),
          onFailed: (c, err) =>
            console.error(
              `retention: capture ${c.id} not erased, left for the next sweep: ${errorMessage(err)}`,
            ),
        });
        console.log(`retention: done: erased ${totalsLine(done)}; ${done.orphanGroundTruth} orphan labels`);
        if (done.failed > 0) console.error(`retention: ${done.failed} aged-out captures could not be erased`);
        return done;
      };
      if (intervalMs === undefined) return (await sweep()).failed > 0 ? 1 : 0;
      const stop = onShutdown(log);
      let stopped = false;
      void stop.then(() => (stopped = true));
      while (!stopped) {
        // One failed sweep (a store outage) is reported, and the next interval tries again.
        await sweep().catch((err: unknown) => console.error(`retention: sweep failed: ${errorMessage(err)}`));
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([stop, new Promise((r) => (timer = setTimeout(r, intervalMs)))]);
        clearTimeout(timer);
      }
      return 0;
    } finally {
      blobs.destroy();
      await db.close();
    }
  },
};

export const retentionCommand: Command = {
  name: "retention",
  summary:
    "Delete captured data that has aged out (MODELTAP_RETENTION_DAYS, MODELTAP_RETENTION_MODELS): rows, objects, ground truth, label exports",
  examples: ["modeltap retention run", "modeltap retention run --every 1h"],
  subcommands: [run],
};
