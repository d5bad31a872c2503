/**
 * The measuring parts of `npm run bench:overhead`: CPU time of process trees from /proc, metrics
 * from the collector and Envoy, fixed-concurrency latency timed per request, the quiesce between
 * cells, and the seeded shuffle of the cell order.
 */
import fs from "node:fs";
import http from "node:http";
import { mulberry32 } from "../../src/core/random.js";
import { sleep } from "./common.js";

/** /proc/<pid>/stat times are in clock ticks; CLK_TCK is 100 on Linux. */
export const CLK_TCK = 100;

interface ProcStat {
  ppid: number;
  /** utime + stime + cutime + cstime, ticks. */
  ticks: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after "(comm) ": state ppid ... utime(11) stime(12) cutime(13) cstime(14).
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return {
      ppid: Number(f[1]),
      ticks: Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]),
    };
  } catch {
    return undefined;
  }
}

/**
 * CPU ticks used so far by each pid and all its descendants (threads are in a process's own times).
 * A child that exited and was reaped moved its time into its parent's cutime/cstime, so the sum is
 * conserved across exits of children; it counts every descendant once.
 */
export function cpuTicks(roots: readonly number[]): number {
  const all = new Map<number, ProcStat>();
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) all.set(Number(name), s);
  }
  const children = new Map<number, number[]>();
  for (const [pid, s] of all) children.set(s.ppid, [...(children.get(s.ppid) ?? []), pid]);
  const seen = new Set<number>();
  let ticks = 0;
  const stack = roots.filter((p) => all.has(p));
  while (stack.length) {
    const pid = stack.pop()!;
    if (seen.has(pid)) continue;
    seen.add(pid);
    ticks += all.get(pid)!.ticks;
    stack.push(...(children.get(pid) ?? []));
  }
  return ticks;
}

/** Resident set size in MB (VmRSS), or undefined when the process is gone. */
export function rssMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** One variable of a process's environment (same user), or undefined. */
export function procEnv(pid: number, name: string): string | undefined {
  try {
    const env = fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
    return env.find((e) => e.startsWith(`${name}=`))?.slice(name.length + 1);
  } catch {
    return undefined;
  }
}

/** The sum of every series of one Prometheus metric (all label values), 0 if absent. */
export async function metricSum(port: number, name: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  let sum = 0;
  for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, "gm"))) sum += Number(m[1]);
  return sum;
}

/** One counter or gauge from Envoy's admin /stats, 0 if absent. */
export async function envoyStat(adminPort: number, name: string): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/stats?filter=${encodeURIComponent(`^${name}$`)}`, {
    signal: AbortSignal.timeout(5000),
  });
  const text = await res.text();
  const esc = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return Number(new RegExp(`^${esc}: (\\d+)$`, "m").exec(text)?.[1] ?? 0);
}

export interface Body {
  name: string;
  contentType: string;
  data: Buffer;
}

/** A JSON body of about `bytes` bytes: rows of 16 numbers under "instances". */
export function jsonBody(bytes: number): Buffer {
  const row = Array.from({ length: 16 }, (_, i) => +(i * 0.37).toFixed(2));
  const instances: number[][] = [];
  while (JSON.stringify({ instances }).length < bytes - 40) instances.push(row);
  return Buffer.from(JSON.stringify({ instances }));
}

/**
 * Fixed-concurrency latency, each request timed with hrtime (autocannon rounds to whole ms).
 * Latencies of 200 responses go to `out`; returns the exchanges completed (any response) and errors.
 */
export async function timed(
  url: string,
  body: Body,
  connections: number,
  seconds: number,
  out: number[],
): Promise<{ completed: number; errors: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const end = performance.now() + seconds * 1000;
  let errors = 0;
  let completed = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      const t0 = process.hrtime.bigint();
      const req = http.request(
        url,
        {
          method: "POST",
          agent,
          headers: { "content-type": body.contentType, "content-length": body.data.length },
        },
        (res) => {
          res.resume();
          res.on("end", () => {
            completed++;
            if (res.statusCode === 200) out.push(Number(process.hrtime.bigint() - t0) / 1e6);
            else errors++;
            resolve();
          });
        },
      );
      req.on("error", () => {
        errors++;
        resolve();
      });
      req.end(body.data);
    });
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < end) await one();
    }),
  );
  agent.destroy();
  return { completed, errors };
}

/** An Envoy (its admin port) and the ext_proc cluster whose open streams it holds for a capture server. */
export interface HeldStreams {
  adminPort: number;
  cluster: string;
}

/**
 * Until no Envoy holds an ext_proc stream for its capture server, and the collector has read every
 * open exchange and published its buffer (at most `ms`): a cell's work is then all done. The
 * worker is not waited for: it is stopped during the latency cells.
 */
export async function quiesce(
  collectorMetricsPort: number,
  held: readonly HeldStreams[],
  ms = 120_000,
): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    let busy =
      (await metricSum(collectorMetricsPort, "modeltap_publish_buffer_records")) +
      (await metricSum(collectorMetricsPort, "modeltap_active_exchanges"));
    for (const h of held) busy += await envoyStat(h.adminPort, `cluster.${h.cluster}.upstream_rq_active`);
    if (busy === 0) return true;
    await sleep(250);
  }
  return false;
}

/** The shuffles for all rounds from one seed (Fisher-Yates), so a run's order can be replayed. */
export function seededOrders<T>(items: readonly T[], rounds: number, seed: number): T[][] {
  const rand = mulberry32(seed);
  return Array.from({ length: rounds }, () => {
    const a = [...items];
    for (let i = a.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  });
}
