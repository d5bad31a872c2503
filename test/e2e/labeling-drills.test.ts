/**
 * No-loss, no-duplicate drills for the label exporter against the real processes: Label Studio
 * killed while captures queue up, and `modeltap api` killed around an export. Afterwards every
 * queued capture must be exactly one Label Studio task.
 */
import { randomUUID } from "node:crypto";
import { afterAll, expect, it } from "vitest";
import { createLabelingBackend, openDatabase } from "../../src/adapters/registry.js";
import { exportPass } from "../../src/api/exporter.js";
import { createApiMetrics } from "../../src/api/metrics.js";
import { planPersist } from "../../src/core/storage/persist-plan.js";
import { type CaptureRecord } from "../../src/core/record.js";
import { newRecord } from "../support/records.js";
import { createLogger } from "../../src/log.js";
import { nerBody } from "../../tools/demo/payloads.js";
import { pool, send } from "../support/http.js";
import { stopPid } from "../../tools/stack/process.js";
import { localSecrets } from "../../tools/stack/services.js";
import { restartService, serviceByName, stackContext } from "../../tools/stack/stack.js";
import { OBS, captureIdsOf, config, db, poll, waitForRows } from "./helpers.js";

const pg = db();
const ctx = stackContext(config);
const secrets = localSecrets(config);
afterAll(async () => {
  await restartService("label-studio", ctx);
  await restartService("api", ctx);
  await pg.end();
});

function kill(name: string): Promise<void> {
  const pid = serviceByName(name).pid(ctx);
  expect(pid, `${name} should be running`).toBeDefined();
  return stopPid(pid!, "SIGKILL");
}

async function exportStates(ids: readonly string[]): Promise<Map<string, string>> {
  const r = await pg.query<{ capture_id: string; state: string }>(
    "SELECT capture_id, state FROM label_exports WHERE capture_id IN (SELECT id FROM captures WHERE request_id = ANY($1))",
    [ids],
  );
  return new Map(r.rows.map((x) => [x.capture_id, x.state]));
}

async function waitExported(ids: readonly string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = [...(await exportStates(ids)).values()];
    if (states.length === ids.length && states.every((s) => s === "exported")) return;
    if (Date.now() > deadline) {
      throw new Error(
        `not all exported: ${JSON.stringify(states.reduce<Record<string, number>>((a, s) => ({ ...a, [s]: (a[s] ?? 0) + 1 }), {}))}`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** How many Label Studio tasks exist per capture id in the model's project (looked up by id). */
async function tasksPerCapture(ids: readonly string[]): Promise<Map<string, number>> {
  const project = await pg.query<{ project_ref: string }>(
    "SELECT project_ref FROM labeling_projects WHERE backend = 'label_studio' AND model = 'ner'",
  );
  const counts = new Map<string, number>(ids.map((id) => [id, 0]));
  for (let i = 0; i < ids.length; i += 30) {
    const items = ids.slice(i, i + 30).map((value) => ({
      filter: "filter:tasks:data.capture_id",
      operator: "equal",
      type: "String",
      value,
    }));
    const query = encodeURIComponent(JSON.stringify({ filters: { conjunction: "or", items } }));
    const res = await fetch(
      `http://127.0.0.1:${config.ports.labelStudio}/api/tasks?project=${project.rows[0]!.project_ref}&page_size=500&fields=all&query=${query}`,
      { headers: { authorization: `Token ${secrets.labelStudioToken}` } },
    );
    const body = (await res.json()) as { tasks: Array<{ data: { capture_id: string } }> };
    for (const t of body.tasks) counts.set(t.data.capture_id, (counts.get(t.data.capture_id) ?? 0) + 1);
  }
  return counts;
}

const sendNer = (n: number) => pool(n, 8, (i) => send(`${OBS}/models/ner`, nerBody(i)));

it("with Label Studio killed, captures queue and retry; once it is back each becomes exactly one task", async () => {
  await kill("label-studio");
  const sent = await sendNer(30);
  expect(sent.filter((s) => s.status !== 200)).toEqual([]);
  const ids = sent.map((s) => s.id);
  expect(await waitForRows(pg, ids)).toHaveLength(ids.length);
  // The exporter tries, fails, and keeps the rows for a retry: nothing is lost, nothing marked done.
  const deadline = Date.now() + 15_000;
  let errors = 0;
  while (Date.now() < deadline && errors < ids.length) {
    const r = await pg.query<{ n: string }>(
      "SELECT count(*) AS n FROM label_exports WHERE capture_id IN (SELECT id FROM captures WHERE request_id = ANY($1)) AND state = 'exporting' AND last_error <> ''",
      [ids],
    );
    errors = Number(r.rows[0]!.n);
    await new Promise((r) => setTimeout(r, 250));
  }
  expect(errors).toBe(ids.length);
  const started = Date.now();
  await restartService("label-studio", ctx);
  await waitExported(ids, 120_000);
  console.log(
    `Label Studio back after ${((Date.now() - started) / 1000).toFixed(1)} s; all ${ids.length} queued captures exported`,
  );
  const counts = await tasksPerCapture(await captureIdsOf(pg, ids));
  expect([...counts.values()].filter((n) => n !== 1)).toEqual([]);
});

it("with the api killed around an export, every capture still becomes exactly one task", async () => {
  await kill("api");
  const sent = await sendNer(60);
  const ids = sent.map((s) => s.id);
  expect(await waitForRows(pg, ids)).toHaveLength(ids.length);
  expect([...(await exportStates(ids)).values()].every((s) => s === "pending")).toBe(true);
  // Start it and kill it again as soon as it has claimed work, mid-export.
  await restartService("api", ctx);
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const states = [...(await exportStates(ids)).values()];
    if (states.some((s) => s !== "pending")) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  await kill("api");
  const mid = [...(await exportStates(ids)).values()];
  console.log(
    `api killed with ${mid.filter((s) => s === "exported").length} exported, ${mid.filter((s) => s === "exporting").length} claimed, ${mid.filter((s) => s === "pending").length} pending`,
  );
  // Rows claimed by the dead process come due again once its lease ends; make that now.
  await pg.query(
    "UPDATE label_exports SET next_attempt_at = now() WHERE capture_id IN (SELECT id FROM captures WHERE request_id = ANY($1)) AND state = 'exporting'",
    [ids],
  );
  await restartService("api", ctx);
  await waitExported(ids, 60_000);
  const counts = await tasksPerCapture(await captureIdsOf(pg, ids));
  expect([...counts.values()].filter((n) => n !== 1)).toEqual([]);
});

it("annotations made while the api was down (their webhooks lost) are reconciled when it is back", async () => {
  const sent = await sendNer(2);
  const ids = sent.map((s) => s.id);
  await waitExported(ids, 30_000);
  const refs = await pg.query<{ capture_id: string; task_ref: string }>(
    "SELECT capture_id, task_ref FROM label_exports WHERE capture_id IN (SELECT id FROM captures WHERE request_id = ANY($1)) ORDER BY capture_id",
    [ids],
  );
  const hdr = { authorization: `Token ${secrets.labelStudioToken}`, "content-type": "application/json" };
  const annotate = async (taskRef: string) => {
    const task = (await (await fetch(`${LS}/api/tasks/${taskRef}`, { headers: hdr })).json()) as {
      predictions: Array<{ result: unknown[] }>;
    };
    const res = await fetch(`${LS}/api/tasks/${taskRef}/annotations`, {
      method: "POST",
      headers: hdr,
      body: JSON.stringify({ result: task.predictions[0]!.result.slice(0, 1) }),
    });
    return ((await res.json()) as { id: number }).id;
  };
  // One annotation arrives normally, then the api goes down.
  const [a, b] = refs.rows;
  const kept = await annotate(a!.task_ref);
  await poll("the first annotation", async () => ((await truth(a!.capture_id)).length ? true : undefined));
  await kill("api");
  // While it is down: a new annotation on the second task, and the first one is deleted.
  await annotate(b!.task_ref);
  await fetch(`${LS}/api/annotations/${kept}`, { method: "DELETE", headers: hdr });
  expect(await truth(b!.capture_id)).toEqual([]);
  await restartService("api", ctx);
  const second = await poll("the reconciled annotation", async () => {
    const r = await truth(b!.capture_id);
    return r.length ? r : undefined;
  });
  expect(second[0]!.deleted).toBe(false);
  const first = await poll("the reconciled deletion", async () => {
    const r = await truth(a!.capture_id);
    return r[0]?.deleted ? r : undefined;
  });
  expect(first).toHaveLength(1);
});

const LS = `http://127.0.0.1:${config.ports.labelStudio}`;

async function truth(captureId: string) {
  const r = await pg.query<{ deleted: boolean }>("SELECT deleted FROM ground_truth WHERE capture_id = $1", [
    captureId,
  ]);
  return r.rows;
}

it("two exporters meeting a new model at once make one project, and every capture one task", async () => {
  await kill("api");
  const model = `lock-${randomUUID().slice(0, 8)}`;
  const db = openDatabase(config, 4);
  try {
    // Twenty NER captures of a model no exporter has seen, persisted the way the worker does.
    const ids = Array.from({ length: 20 }, () => randomUUID());
    const repo = db.captures;
    await repo.insertCaptures(ids.map((id) => planPersist(nerRecord(id, model), (k) => `s3://x/${k}`).row));
    const backend = createLabelingBackend({
      ...config,
      labeling: "label_studio",
      labelStudio: { url: LS, token: secrets.labelStudioToken },
      webhookSecret: secrets.webhookSecret,
    });
    const exporter = () =>
      exportPass({
        queue: db.labelExports,
        captures: repo,
        backend,
        mediaUrl: () => "http://127.0.0.1/none",
        metrics: createApiMetrics(),
        log: createLogger("silent", "test"),
        batch: 10,
        leaseMs: 60_000,
        maxAttempts: 3,
      });
    const passes = await Promise.all([exporter(), exporter()]);
    expect(passes.map((p) => p.claimed)).toEqual([10, 10]);
    await waitExported(ids, 10_000);
    const projects = await pg.query<{ project_ref: string }>(
      "SELECT DISTINCT project_ref FROM label_exports WHERE capture_id IN (SELECT id FROM captures WHERE request_id = ANY($1))",
      [ids],
    );
    expect(projects.rows).toHaveLength(1);
    const titled = (await (
      await fetch(`${LS}/api/projects?page_size=1000&title=${encodeURIComponent(`modeltap: ${model}`)}`, {
        headers: { authorization: `Token ${secrets.labelStudioToken}` },
      })
    ).json()) as { results: Array<{ title: string }> };
    expect(titled.results.filter((p) => p.title === `modeltap: ${model}`)).toHaveLength(1);
  } finally {
    await db.close();
  }
});

function nerRecord(id: string, model: string): CaptureRecord {
  const text = "Alice met Bob";
  const analysis = {
    schema_version: 1,
    task: "ner",
    protocol: "hf_pipeline",
    instances: [
      {
        input: { text },
        prediction: {
          kind: "entities",
          entities: [{ start: 0, end: 5, label: "PER", score: 0.9, text: "Alice" }],
        },
      },
    ],
  };
  return newRecord({
    id,
    model,
    task: "ner",
    route: "r",
    cluster: "c",
    path: "/ner",
    ttfbUs: 1,
    durationUs: 2,
    analysisJson: Buffer.from(JSON.stringify(analysis)),
    labelRate: 1,
    labelSet: ["PER", "LOC"],
  });
}
