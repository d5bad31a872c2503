/**
 * Added-latency benchmark through the real Envoy: the same requests against the baseline listener
 * (no filter), observability mode and normal mode, interleaved in rounds so machine noise hits all
 * three alike. Reports p50/p99/p99.9 and ratios against the baseline.
 */
import http from "node:http";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { PACKAGE_ROOT, loadConfig } from "../config.js";
import { irisBody } from "../demo/traffic.js";
import { updateReadmeTable } from "./readme.js";

interface Target {
  name: string;
  port: number;
  route: string;
}

function percentile(sorted: number[], p: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

function request(agent: http.Agent, port: number, route: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const req = http.request(
      {
        host: "127.0.0.1",
        port,
        path: route,
        method: "POST",
        agent,
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          "x-request-id": randomUUID(),
        },
      },
      (res) => {
        res.resume();
        res.on("end", () => {
          if (res.statusCode !== 200) reject(new Error(`status ${res.statusCode}`));
          else resolve(Number(process.hrtime.bigint() - start) / 1e6);
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

async function run(target: Target, count: number, concurrency: number, samples: number[]): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        samples.push(await request(agent, target.port, target.route, irisBody(i)));
      }
    }),
  );
  agent.destroy();
}

export async function main(): Promise<void> {
  const config = loadConfig();
  const perConfig = Number(process.env.BENCH_REQUESTS ?? 3000);
  const rounds = 6;
  const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 4);
  const targets: Target[] = [
    { name: "baseline (no filter)", port: config.ports.envoyBaseline, route: "/v2/models/iris/infer" },
    { name: "observability, sample 1.0", port: config.ports.envoy, route: "/v2/models/iris/infer" },
    { name: "normal, sample 1.0", port: config.ports.envoyNormal, route: "/v2/models/iris/infer" },
    {
      name: "normal, sample 0 (mode override)",
      port: config.ports.envoyNormal,
      route: "/v2/models/shadow/infer",
    },
    { name: "observability, sample 0", port: config.ports.envoy, route: "/v2/models/shadow/infer" },
  ];
  const samples = new Map(targets.map((t) => [t.name, [] as number[]]));
  for (const t of targets) await run(t, 200, concurrency, []); // warm-up
  for (let r = 0; r < rounds; r++) {
    for (const t of targets) await run(t, Math.ceil(perConfig / rounds), concurrency, samples.get(t.name)!);
    console.error(`[bench] round ${r + 1}/${rounds} done`);
  }
  const rows = targets.map((t) => {
    const s = samples.get(t.name)!.sort((a, b) => a - b);
    return {
      name: t.name,
      n: s.length,
      p50: percentile(s, 50),
      p99: percentile(s, 99),
      p999: percentile(s, 99.9),
    };
  });
  const base = rows[0]!;
  const lines = [
    `Added latency through the real Envoy (${rows[0]!.n} requests per configuration, concurrency ${concurrency}, 1 KB-class JSON, ${rounds} interleaved rounds)`,
    "",
    "| configuration | n | p50 ms | p99 ms | p99.9 ms | p50 ratio | p99 ratio | p99 added ms |",
    "|---|---|---|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.n} | ${r.p50.toFixed(3)} | ${r.p99.toFixed(3)} | ${r.p999.toFixed(3)} | ${(r.p50 / base.p50).toFixed(2)} | ${(r.p99 / base.p99).toFixed(2)} | ${(r.p99 - base.p99).toFixed(3)} |`,
    ),
  ];
  console.log(lines.join("\n"));
  const dir = path.join(PACKAGE_ROOT, "bench", "results");
  fs.mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  fs.writeFileSync(
    path.join(dir, `latency-${stamp}.json`),
    JSON.stringify({ concurrency, rounds, rows }, null, 2),
  );
  fs.writeFileSync(path.join(dir, "latency-latest.md"), `${lines.join("\n")}\n`);
  updateReadmeTable("latency", lines.slice(2).join("\n"));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
