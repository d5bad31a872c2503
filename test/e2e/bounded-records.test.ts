/**
 * Bounded records through the real Envoy, collector, NATS and worker: a 10k-row KServe batch,
 * whose analysis is over NATS's 1 MiB max payload, is captured and stored whole (its analysis
 * travels through the JetStream object store); a tensor shaped [N, 0] padded to 300 KB is stored
 * with a short parse_error, and the collector keeps serving.
 */
import { afterAll, expect, it } from "vitest";
import { send } from "../support/http.js";
import { OBS, collectorMetric, db, waitForRows } from "./helpers.js";

const pg = db();
afterAll(() => pg.end());

interface Stored {
  parse_error: string;
  analysis: { instances: unknown[]; over_budget?: string[] } | null;
  analysis_bytes: number;
}

async function stored(id: string): Promise<Stored> {
  const [row] = await waitForRows(pg, [id], 1, 60_000);
  expect(row, `capture ${id} was not stored`).toBeDefined();
  const res = await pg.query<Stored>(
    "SELECT parse_error, analysis, octet_length(analysis::text) AS analysis_bytes FROM captures WHERE id = $1",
    [row!.id],
  );
  return res.rows[0]!;
}

it("stores a 10k-row KServe batch with its whole analysis, parked past NATS's max payload", async () => {
  const n = 10_000;
  const data = Array.from({ length: n }, (_, i) => [5.1 + (i % 7) / 10, 3.5, 1.4, 0.2]).flat();
  const body = JSON.stringify({ inputs: [{ name: "x", datatype: "FP32", shape: [n, 4], data }] });
  const parkedBefore = await collectorMetric("modeltap_analysis_parked_total");
  const s = await send(`${OBS}/v2/models/iris/infer`, body);
  expect(s.status).toBe(200);
  const row = await stored(s.id);
  expect(row.parse_error).toBe("");
  expect(row.analysis!.instances).toHaveLength(n);
  expect(row.analysis!.over_budget).toBeUndefined();
  expect(Number(row.analysis_bytes)).toBeGreaterThan(1024 * 1024);
  expect(await collectorMetric("modeltap_analysis_parked_total")).toBeGreaterThan(parkedBefore);
});

it("stores a KServe tensor shaped [N, 0] padded to 300 KB with a short parse_error", async () => {
  const n = 290_000;
  const body = `{"inputs":[{"name":"x","datatype":"FP32","shape":[${n},0],"data":[]}]}${" ".repeat(300_000)}`;
  const t0 = performance.now();
  const s = await send(`${OBS}/v2/models/iris/infer`, body);
  expect(s.status).toBeGreaterThan(0);
  const row = await stored(s.id);
  expect(row.parse_error).toBe(
    `kserve_v2: request: inputs[0]: shape [${n}, 0] holds no values but claims ${n} rows`,
  );
  expect(row.parse_error.length).toBeLessThan(4096);
  expect(row.analysis).toBeNull();
  // The collector kept serving: a small request right after is captured too.
  const next = await send(
    `${OBS}/v2/models/iris/infer`,
    JSON.stringify({ inputs: [{ name: "x", datatype: "FP32", shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }] }),
  );
  expect((await stored(next.id)).parse_error).toBe("");
  expect(performance.now() - t0).toBeLessThan(30_000);
});
