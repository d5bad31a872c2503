/**
 * The tables of `npm run bench:overhead`: per cell, the noise floor, the saturation cell, and the
 * targets with measured value, limit and PASS/FAIL.
 */
import type { SaturationResult } from "./overhead-saturation.js";

export type CellName =
  | "baseline"
  | "baseline again"
  | "observability s0"
  | "observability s0.1"
  | "observability s1"
  | "normal s0"
  | "normal s0.1"
  | "peer s0"
  | "peer s0.1";

export interface CellResult {
  cell: CellName;
  listener: string;
  /** What the CPU column sums. */
  cpuOf: string;
  exchanges: number;
  errors: number;
  cpuSeconds: number;
  cpuUsPerExchange: number;
  /** Envoy's part of cpuUsPerExchange. */
  envoyCpuUsPerExchange: number;
  p50: number;
  p99: number;
  p999: number;
  roundP99s: number[];
}

export interface NoiseFloor {
  /** |p99(baseline again) − p99(baseline)|, ms. */
  pairP99Ms: number;
  /** max − min of the per-round p99s of both baseline cells, ms. */
  roundSpreadMs: number;
  /** max of the two: how far a cell's p99 may be from the baseline's and still be noise. */
  bandMs: number;
  /** CPU per exchange, baseline again / baseline. */
  cpuRatio: number;
}

export interface Target {
  metric: string;
  target: string;
  measured: string;
  limit: string;
  pass: boolean;
}

const ms = (n: number) => n.toFixed(n < 10 ? 3 : 1);
const signed = (n: number, f: (x: number) => string) => `${n >= 0 ? "+" : "−"}${f(Math.abs(n))}`;

export function noiseFloor(results: readonly CellResult[]): NoiseFloor {
  const base = get(results, "baseline");
  const again = get(results, "baseline again");
  const rounds = [...base.roundP99s, ...again.roundP99s];
  const pairP99Ms = Math.abs(again.p99 - base.p99);
  const roundSpreadMs = Math.max(...rounds) - Math.min(...rounds);
  return {
    pairP99Ms,
    roundSpreadMs,
    bandMs: Math.max(pairP99Ms, roundSpreadMs),
    cpuRatio: again.cpuUsPerExchange / base.cpuUsPerExchange,
  };
}

export function get(results: readonly CellResult[], cell: CellName): CellResult {
  const r = results.find((x) => x.cell === cell);
  if (!r) throw new Error(`no result for cell ${cell}`);
  return r;
}

export function cellTable(results: readonly CellResult[]): string[] {
  const base = get(results, "baseline");
  const lines = [
    "| cell | listener | CPU summed over | exchanges | CPU µs/exchange | of which Envoy | CPU vs baseline | p50 ms | p99 ms | p99.9 ms | p99 vs baseline | per-round p99 ms (min–max) | errors |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of results) {
    const d = r.p99 - base.p99;
    lines.push(
      `| ${r.cell} | ${r.listener} | ${r.cpuOf} | ${r.exchanges} | ${r.cpuUsPerExchange.toFixed(0)} | ${r.envoyCpuUsPerExchange.toFixed(0)} | ${(r.cpuUsPerExchange / base.cpuUsPerExchange).toFixed(3)}× | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.p999)} | ${r === base ? "-" : `${signed(d, ms)} ms (${signed((100 * d) / base.p99, (x) => x.toFixed(1))}%)`} | ${ms(Math.min(...r.roundP99s))}–${ms(Math.max(...r.roundP99s))} | ${r.errors} |`,
    );
  }
  return lines;
}

export function noiseLines(n: NoiseFloor): string[] {
  return [
    `Noise floor (baseline again vs baseline, the same listener measured as two cells): CPU per exchange ${n.cpuRatio.toFixed(3)}×; |Δp99| ${ms(n.pairP99Ms)} ms; spread of the per-round p99s of both baseline cells ${ms(n.roundSpreadMs)} ms.`,
    `"Inside the noise floor's spread" means |p99(cell) − p99(baseline)| ≤ max(|p99(baseline again) − p99(baseline)|, max − min of the per-round p99s of both baseline cells) = ${ms(n.bandMs)} ms.`,
  ];
}

export function saturationTable(s: SaturationResult, connections: number, seconds: number): string[] {
  return [
    `| saturation (sample rate 1.0, :10000 /bench/s1, ${connections} connections, ${seconds} s, worker running) | value |`,
    "|---|---|",
    `| requests (non-2xx, errors) | ${s.requests} (${s.non2xx}, ${s.errors}) |`,
    `| requests/s | ${s.rps.toFixed(0)} |`,
    `| Envoy ext_proc streams started (failed) | ${s.streamsStarted} (${s.streamsFailed}) |`,
    `| Envoy failure_mode_allowed | ${s.failureModeAllowed} |`,
    `| collector captures (modeltap_captures_total) | ${s.captured} |`,
    `| collector drops (modeltap_capture_drops_total) | ${s.collectorDrops} |`,
    `| lost (streams started − captured, after the drain) | ${s.lost} |`,
    `| peak publish buffer, records (polled every second) | ${s.peakBufferRecords} |`,
    `| publish buffer empty after the load | ${s.bufferDrainSeconds === undefined ? "no, within 120 s" : `in ${s.bufferDrainSeconds.toFixed(1)} s`} |`,
    `| buffer empty and no exchange open after the load | ${s.drained ? `in ${s.drainSeconds.toFixed(1)} s` : "no, within 120 s"} |`,
    `| worker caught up within 120 s of the load's end | ${s.workerCaughtUp ? "yes" : "no"} |`,
    `| peak collector RSS | ${s.peakCollectorRssMb.toFixed(0)} MB |`,
    `| CPU µs/exchange (Envoy + collector + NATS + worker + Postgres + SeaweedFS, load and drain) | ${s.cpuUsPerExchange.toFixed(0)} (${s.cpuSecondsMeasured.toFixed(1)} CPU s) |`,
  ];
}

export function targets(
  results: readonly CellResult[],
  noise: NoiseFloor,
  sat: SaturationResult | undefined,
  bufferCapacity: number,
): Target[] {
  const base = get(results, "baseline");
  const cpuX = (r: CellResult) => r.cpuUsPerExchange / base.cpuUsPerExchange;
  const out: Target[] = [];
  for (const cell of ["observability s0", "normal s0"] as const) {
    const r = get(results, cell);
    out.push({
      metric: `Sample rate 0 on gated routes (${cell}): CPU per exchange`,
      target: "≤ 1.05× baseline",
      measured: `${r.cpuUsPerExchange.toFixed(0)} µs = ${cpuX(r).toFixed(3)}× baseline (${base.cpuUsPerExchange.toFixed(0)} µs); Envoy alone ${(r.envoyCpuUsPerExchange / base.envoyCpuUsPerExchange).toFixed(3)}× (${r.envoyCpuUsPerExchange.toFixed(0)} vs ${base.envoyCpuUsPerExchange.toFixed(0)} µs)`,
      limit: `≤ ${(1.05 * base.cpuUsPerExchange).toFixed(0)} µs`,
      pass: cpuX(r) <= 1.05,
    });
  }
  for (const cell of ["observability s0", "normal s0"] as const) {
    const r = get(results, cell);
    const d = r.p99 - base.p99;
    out.push({
      metric: `Sample rate 0 on gated routes (${cell}): p99`,
      target: "inside the noise floor's spread",
      measured: `${ms(r.p99)} ms, ${signed(d, ms)} ms vs baseline ${ms(base.p99)} ms`,
      limit: `|Δ| ≤ ${ms(noise.bandMs)} ms`,
      pass: Math.abs(d) <= noise.bandMs,
    });
  }
  const obs01 = get(results, "observability s0.1");
  const addedCpu = obs01.cpuUsPerExchange - base.cpuUsPerExchange;
  out.push({
    metric: "Sample rate 10% (observability s0.1): added CPU per exchange",
    target: "≤ 0.15× baseline",
    measured: `${signed(addedCpu, (x) => x.toFixed(0))} µs = ${(addedCpu / base.cpuUsPerExchange).toFixed(3)}× baseline`,
    limit: `≤ ${(0.15 * base.cpuUsPerExchange).toFixed(0)} µs`,
    pass: addedCpu <= 0.15 * base.cpuUsPerExchange,
  });
  const addedP99 = obs01.p99 - base.p99;
  out.push({
    metric: "Sample rate 10% (observability s0.1): added p99",
    target: "≤ 10%",
    measured: `${signed(addedP99, ms)} ms (${signed((100 * addedP99) / base.p99, (x) => x.toFixed(1))}%)`,
    limit: `≤ ${ms(0.1 * base.p99)} ms`,
    pass: addedP99 <= 0.1 * base.p99,
  });
  const peer01 = get(results, "peer s0.1");
  out.push({
    metric: "modeltap vs the Go peer at 10% (observability s0.1 vs peer s0.1): CPU per exchange",
    target: "ahead (lower)",
    measured: `${obs01.cpuUsPerExchange.toFixed(0)} vs ${peer01.cpuUsPerExchange.toFixed(0)} µs`,
    limit: `< ${peer01.cpuUsPerExchange.toFixed(0)} µs`,
    pass: obs01.cpuUsPerExchange < peer01.cpuUsPerExchange,
  });
  out.push({
    metric: "modeltap vs the Go peer at 10% (observability s0.1 vs peer s0.1): p99",
    target: "ahead (lower)",
    measured: `${ms(obs01.p99)} vs ${ms(peer01.p99)} ms`,
    limit: `< ${ms(peer01.p99)} ms`,
    pass: obs01.p99 < peer01.p99,
  });
  const normal0 = get(results, "normal s0");
  const normalAdded = normal0.p99 - base.p99;
  out.push({
    metric: "Normal mode, sampled-out exchanges (:10001 /bench/s0): added p99",
    target: "≤ 0.5 ms",
    measured: `${signed(normalAdded, ms)} ms`,
    limit: "≤ 0.500 ms",
    pass: normalAdded <= 0.5,
  });
  if (sat) {
    out.push({
      metric: "Sample rate 1.0, saturation through Envoy: drops",
      target: "0",
      measured: `${sat.drops} (collector drops ${sat.collectorDrops} + failure_mode_allowed ${sat.failureModeAllowed} + lost ${sat.lost})`,
      limit: "0",
      pass: sat.drops === 0,
    });
    out.push({
      metric: "Sample rate 1.0, saturation through Envoy: publish buffer",
      target: "bounded (peak stated)",
      measured: `peak ${sat.peakBufferRecords} records; ${sat.bufferDrainSeconds === undefined ? "not empty within 120 s" : `empty ${sat.bufferDrainSeconds.toFixed(1)} s after the load`}`,
      limit: `< ${bufferCapacity} records (MODELTAP_BUFFER_MAX_RECORDS), empty within 120 s`,
      pass: sat.peakBufferRecords < bufferCapacity && sat.bufferDrainSeconds !== undefined,
    });
    out.push({
      metric: "Sample rate 1.0, saturation through Envoy: collector RSS",
      target: "< 300 MB",
      measured: `peak ${sat.peakCollectorRssMb.toFixed(0)} MB`,
      limit: "< 300 MB",
      pass: sat.peakCollectorRssMb < 300,
    });
  }
  return out;
}

export function targetTable(rows: readonly Target[]): string[] {
  return [
    "| Metric | Target | Measured | Limit | Verdict |",
    "|---|---|---|---|---|",
    ...rows.map(
      (t) => `| ${t.metric} | ${t.target} | ${t.measured} | ${t.limit} | ${t.pass ? "PASS" : "FAIL"} |`,
    ),
  ];
}
