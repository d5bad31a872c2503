/**
 * The demo's last act: the ground-truth loop on the local stack. Waits for the demo's captures to
 * reach Label Studio, plays a labeler (accepts one NER pre-annotation through Label Studio's API, so
 * its webhook fires), sends one label from "another system" through POST /v1/ground-truth, and
 * shows both as stored.
 */
import type pg from "pg";
import type { StackConfig } from "../stack/settings.js";
import { localSecrets } from "../stack/services.js";

type Say = (line: string) => void;

async function until<T>(ms: number, fn: () => Promise<T | undefined>): Promise<T | undefined> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  return undefined;
}

export async function demoGroundTruth(
  config: StackConfig,
  db: pg.Pool,
  ids: string[],
  say: Say,
): Promise<boolean> {
  const secrets = localSecrets(config);
  const ls = `http://127.0.0.1:${config.ports.labelStudio}`;
  const queued = await db.query<{ n: string }>(
    "SELECT count(*) AS n FROM label_exports WHERE capture_id = ANY($1)",
    [ids],
  );
  const want = Number(queued.rows[0]!.n);
  await until(60_000, async () => {
    const r = await db.query<{ n: string }>(
      "SELECT count(*) AS n FROM label_exports WHERE capture_id = ANY($1) AND state IN ('exported', 'skipped', 'failed')",
      [ids],
    );
    return Number(r.rows[0]!.n) >= want ? true : undefined;
  });
  const per = await db.query<{ model: string; state: string; n: string; project: string | null }>(
    `SELECT model, state, count(*) AS n, max(project_ref) AS project FROM label_exports
      WHERE capture_id = ANY($1) GROUP BY model, state ORDER BY model, state`,
    [ids],
  );
  for (const r of per.rows) {
    say(
      `  ${r.model.padEnd(17)} ${r.n.padStart(4)} ${r.state}${r.project ? `  -> ${ls}/projects/${r.project}/data` : ""}`,
    );
  }
  const ok = per.rows.every((r) => r.state === "exported");

  // A labeler accepts the model's entities for one NER task.
  const ner = await db.query<{ capture_id: string; task_ref: string }>(
    "SELECT capture_id, task_ref FROM label_exports WHERE capture_id = ANY($1) AND model = 'ner' AND state = 'exported' LIMIT 1",
    [ids],
  );
  const hdr = { authorization: `Token ${secrets.labelStudioToken}`, "content-type": "application/json" };
  let labeled = false;
  if (ner.rows[0]) {
    const { capture_id, task_ref } = ner.rows[0];
    const task = (await (await fetch(`${ls}/api/tasks/${task_ref}`, { headers: hdr })).json()) as {
      predictions: Array<{ result: unknown[] }>;
    };
    await fetch(`${ls}/api/tasks/${task_ref}/annotations`, {
      method: "POST",
      headers: hdr,
      body: JSON.stringify({ result: task.predictions[0]?.result ?? [] }),
    });
    const row = await until(10_000, async () => {
      const g = await db.query<{ label: unknown }>(
        "SELECT label FROM ground_truth WHERE capture_id = $1 AND source = 'label_studio'",
        [capture_id],
      );
      return g.rows[0];
    });
    labeled = row !== undefined;
    say(
      `\n  a labeler accepted task ${task_ref} in Label Studio; its webhook stored for capture ${capture_id}:`,
    );
    say(`    ${JSON.stringify(row?.label ?? "NOTHING").slice(0, 300)}`);
  }

  // Another system sends the true class of an iris capture.
  const iris = await db.query<{ id: string }>(
    "SELECT id FROM captures WHERE id = ANY($1) AND model = 'iris' LIMIT 1",
    [ids],
  );
  let posted = false;
  if (iris.rows[0]) {
    const res = await fetch(`http://127.0.0.1:${config.ports.api}/v1/ground-truth`, {
      method: "POST",
      headers: { authorization: `Bearer ${secrets.apiToken}`, "content-type": "application/json" },
      body: JSON.stringify({
        capture_id: iris.rows[0].id,
        label: { kind: "classification", label: "setosa" },
        source: "crm",
      }),
    });
    const body = (await res.json()) as { outcome?: string };
    posted = res.status === 200 && body.outcome !== undefined;
    say(
      `\n  POST /v1/ground-truth for iris capture ${iris.rows[0].id}: ${res.status} ${JSON.stringify(body)}`,
    );
    say(`    see it next to the prediction: node bin/modeltap.js captures get ${iris.rows[0].id}`);
  }
  say(`\n  Label Studio: ${ls} (user ${secrets.labelStudioUser}, password in ${config.home}/secrets.json)`);
  return ok && labeled && posted;
}
