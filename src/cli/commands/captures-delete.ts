/**
 * `modeltap captures delete`: erasure on request. Everything stored for one request (every hop's
 * capture) or one capture: rows, objects, ground truth, label-export state (docs/retention.md).
 */
import { requestIdKey } from "../../core/capture-id.js";
import { createObjectStore, openDatabase } from "../../adapters/registry.js";
import { ConfigError } from "../../core/errors.js";
import type { CaptureSelection } from "../../core/ports.js";
import { eraseSelection } from "../../worker/retention.js";
import type { Command } from "../command.js";
import { totalsLine } from "./retention.js";

const BATCH = 100;

export const deleteCommand: Command = {
  name: "delete",
  summary:
    "Erase everything stored for one request (every hop's capture) or one capture: rows, bodies, images, masks, ground truth, label exports; running it again deletes nothing more",
  options: {
    "request-id": {
      type: "string",
      value: "R",
      description: "every capture whose x-request-id is R, and ground truth posted under R",
    },
    id: {
      type: "string",
      value: "ID",
      description: "the capture with id ID, and ground truth posted under ID",
    },
  },
  examples: [
    "modeltap captures delete --request-id 5b0e7c1a-1f7e-4a0c-9a59-0f1c2b3d4e5f",
    "modeltap captures delete --id 0190b6a2-7c3e-7d4f-8a1b-2c3d4e5f6a7b",
  ],
  async run({ config, options }) {
    const given = options["request-id"];
    // As stored: a long x-request-id is kept as a prefix and its hash (core/capture-id.ts).
    const requestId = typeof given === "string" ? requestIdKey(given) : given;
    const id = options.id;
    if ((typeof requestId === "string") === (typeof id === "string")) {
      throw new ConfigError(["captures delete: give exactly one of --request-id R and --id ID"]);
    }
    const key = (typeof requestId === "string" ? requestId : id) as string;
    if (key === "") throw new ConfigError(["captures delete: the id must not be empty"]);
    const selection: CaptureSelection =
      typeof requestId === "string" ? { kind: "request", requestId } : { kind: "ids", ids: [key] };
    const db = openDatabase(config, 2);
    const blobs = createObjectStore(config);
    try {
      await db.assertMigrated();
      const deps = { repo: db.retention, blobs, concurrency: 16 };
      const erased: string[] = [];
      const totals = await eraseSelection(deps, selection, BATCH, (_, last) => {
        for (const c of last) {
          erased.push(c.id);
          console.log(`deleted capture ${c.id} (model ${c.model}, received ${c.receivedAt.toISOString()})`);
        }
      });
      // Labels posted under the request id (or an id whose capture never arrived) go too.
      const labels = await db.retention.eraseGroundTruth({
        captureIds: [key],
        requestIds: typeof requestId === "string" ? [requestId] : [],
      });
      totals.groundTruth += labels;
      const what =
        typeof requestId === "string" ? `request ${JSON.stringify(key)}` : `capture ${JSON.stringify(key)}`;
      console.log(
        totals.captures + labels === 0
          ? `nothing stored for ${what}`
          : `erased for ${what}: ${totalsLine(totals)}`,
      );
    } finally {
      blobs.destroy();
      await db.close();
    }
  },
};
