import { PostgresCaptureRepository } from "../../src/adapters/postgres/capture-repository.js";
import { createPool } from "../../src/adapters/postgres/pool.js";
import { bodyLocation } from "../../src/core/storage/capture-json.js";
import { isSampledBytes } from "../../src/core/sampler.js";
import { chatBody, irisBody, nerBody, pngImage, sentimentBody } from "./payloads.js";
import { pool, send, type SentExchange } from "./traffic.js";
import { demoGroundTruth } from "./ground-truth.js";
import { driftStory } from "./drift-story.js";
import { stackUp } from "../stack/stack.js";
import { stackSamplingSeed } from "../stack/services.js";
import type { Command } from "../../src/cli/command.js";
import type { StackConfig } from "../stack/settings.js";

const say = (line: string) => console.log(line);

export const demoCommand: Command<StackConfig> = {
  name: "demo",
  summary:
    "Bring the local stack up, send a mix of inference traffic through Envoy, show what was captured, the ground-truth loop and a drift story (development)",
  examples: ["modeltap demo"],
  async run({ config }) {
    say(
      "== 1/6 starting the local stack (first run installs Envoy, NATS, SeaweedFS, Postgres, MLServer, Label Studio) ==",
    );
    await stackUp(config, { progress: (l) => say(`  ${l}`) });
    const obs = `http://127.0.0.1:${config.ports.envoy}`;
    const normal = `http://127.0.0.1:${config.ports.envoyNormal}`;

    say("\n== 2/6 sending traffic through Envoy ==");
    const plan: Array<{
      what: string;
      count: number;
      rate: number;
      run: (i: number) => Promise<SentExchange>;
    }> = [
      {
        what: "detector (object detection, raw PNG in, letterboxed boxes out)",
        count: 6,
        rate: 1,
        run: (i) =>
          send(`${obs}/predictions/detector`, pngImage(320 + 160 * i, 240 + 40 * i), {
            contentType: "image/png",
          }),
      },
      {
        what: "segmenter (instance segmentation, polygons)",
        count: 4,
        rate: 1,
        run: (i) =>
          send(`${obs}/predictions/segmenter`, pngImage(300 + 50 * i, 200), { contentType: "image/png" }),
      },
      {
        what: "image-classifier (base64 image in Hugging Face pipeline JSON)",
        count: 3,
        rate: 1,
        run: (i) =>
          send(
            `${obs}/models/image-classifier`,
            JSON.stringify({ inputs: pngImage(200 + 100 * i, 200).toString("base64") }),
          ),
      },
      {
        what: "price (tabular regression, KServe V1 instances)",
        count: 3,
        rate: 1,
        run: (i) =>
          send(
            `${obs}/v1/models/price:predict`,
            JSON.stringify({ instances: [[900 + 100 * i, 2 + (i % 3)]] }),
          ),
      },
      {
        what: "price (tabular regression, CSV rows)",
        count: 2,
        rate: 1,
        run: (i) =>
          send(`${obs}/csv/price`, `sqft,rooms\n${1000 + i},3\n${1500 + i},4\n`, { contentType: "text/csv" }),
      },
      {
        what: "ner (Hugging Face token classification)",
        count: 9,
        rate: 1,
        run: (i) => send(`${obs}/models/ner`, nerBody(i)),
      },
      {
        what: "chat (OpenAI-compatible, streamed SSE)",
        count: 4,
        rate: 1,
        run: (i) => send(`${obs}/v1/chat/completions`, chatBody(i, true)),
      },
      {
        what: "iris (tabular, sample_rate 1.0, observability mode)",
        count: 60,
        rate: 1,
        run: (i) => send(`${obs}/v2/models/iris/infer`, irisBody(i)),
      },
      {
        what: "iris (normal mode with mode override)",
        count: 20,
        rate: 1,
        run: (i) => send(`${normal}/v2/models/iris/infer`, irisBody(i)),
      },
      {
        what: "iris with a gzip-encoded response",
        count: 10,
        rate: 1,
        run: (i) =>
          send(`${obs}/v2/models/iris/infer`, irisBody(i), {
            headers: { "accept-encoding": "gzip", "x-demo-gzip": "1" },
          }),
      },
      {
        what: "sentiment (text, sample_rate 0.25)",
        count: 80,
        rate: 0.25,
        run: (i) =>
          send(`${obs}/v2/models/sentiment/infer`, sentimentBody(i), {
            headers: { authorization: "Bearer demo-token" },
          }),
      },
      {
        what: "shadow (sample_rate 0)",
        count: 20,
        rate: 0,
        run: (i) => send(`${obs}/v2/models/shadow/infer`, irisBody(i)),
      },
      {
        what: "echo, 600 KB body (travels via the JetStream object store)",
        count: 2,
        rate: 1,
        run: () =>
          send(`${obs}/v2/models/echo/infer`, Buffer.alloc(600 * 1024, 7), {
            contentType: "application/octet-stream",
          }),
      },
      {
        what: "echo, 3 MB body (over max_body_bytes: truncated)",
        count: 1,
        rate: 1,
        run: () =>
          send(`${obs}/v2/models/echo/infer`, Buffer.alloc(3 * 1024 * 1024, 9), {
            contentType: "application/octet-stream",
          }),
      },
    ];
    const expected: string[] = [];
    const seed = stackSamplingSeed(config);
    let failed = 0;
    let exchanges = 0;
    const streamsBefore = await envoyStreams(config.ports.envoyAdmin);
    for (const step of plan) {
      const sent = await pool(step.count, 8, step.run);
      exchanges += sent.length;
      failed += sent.filter((s) => s.status !== 200).length;
      // The gate's hash, over the id's header bytes, with the collector's seed.
      const sampled = sent.filter((s) => isSampledBytes(Buffer.from(s.id, "latin1"), step.rate, seed));
      expected.push(...sampled.map((s) => s.id));
      say(
        `  ${String(step.count).padStart(3)} x ${step.what}: ${sent.filter((s) => s.status === 200).length} ok, ${sampled.length} expected captured`,
      );
    }
    if (failed) say(`  !! ${failed} requests failed`);
    const streams = (await envoyStreams(config.ports.envoyAdmin)) - streamsBefore;
    say(
      `  Envoy opened ${streams} ext_proc streams for ${exchanges} exchanges: its sampling gate skipped the other ${exchanges - streams} before any stream (docs/envoy.md, The sampling gate)`,
    );

    say("\n== 3/6 waiting for the worker to persist captures ==");
    const pg = createPool(config.databaseUrl, 2);
    const repo = new PostgresCaptureRepository(pg);
    try {
      const deadline = Date.now() + 60_000;
      let found = 0;
      while (Date.now() < deadline) {
        const res = await pg.query<{ n: string }>(
          "SELECT count(*) AS n FROM captures WHERE request_id = ANY($1)",
          [expected],
        );
        found = Number(res.rows[0]!.n);
        if (found >= expected.length) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      say(`  ${found} of ${expected.length} expected captures are in Postgres`);

      // Sent by request id; stored under capture ids of their own (one per exchange and hop).
      const captured = (
        await pg.query<{ id: string }>("SELECT id FROM captures WHERE request_id = ANY($1)", [expected])
      ).rows.map((r) => r.id);
      say("\n== 4/6 what was captured ==");
      const counts = await pg.query<{ model: string; n: string; truncated: string; bytes: string }>(
        `SELECT model, count(*) AS n, count(*) FILTER (WHERE request_truncated OR response_truncated) AS truncated,
                sum(request_size_bytes + response_size_bytes) AS bytes
           FROM captures WHERE id = ANY($1) GROUP BY model ORDER BY model`,
        [captured],
      );
      say("  model              captures  truncated  stored bytes");
      for (const r of counts.rows)
        say(
          `  ${r.model.padEnd(17)}  ${r.n.padStart(8)}  ${r.truncated.padStart(9)}  ${r.bytes.padStart(12)}`,
        );
      const sample = (await repo.listCaptures({ limit: 1000 })).filter((r) => captured.includes(r.id));
      const show = [
        sample.find((r) => r.model === "iris" && r.response.contentEncoding === "gzip"),
        sample.find((r) => r.model === "sentiment"),
        sample.find((r) => r.model === "echo" && r.request.truncated),
        sample.find((r) => r.model === "detector"),
        sample.find((r) => r.model === "segmenter"),
        sample.find((r) => r.model === "image-classifier"),
        sample.find((r) => r.model === "price"),
        sample.find((r) => r.model === "ner"),
        sample.find((r) => r.model === "chat"),
      ].filter((r) => r !== undefined);
      for (const r of show) {
        say(
          `\n  ${r.id} (x-request-id ${r.requestId})  ${r.model} v${r.version} (${r.task})  ${r.method} ${r.path} -> ${r.statusCode}, upstream ${r.upstreamMs ?? "-"} ms`,
        );
        for (const [name, b] of [
          ["request", r.request],
          ["response", r.response],
        ] as const) {
          const flags = [b.truncated ? "truncated" : "", b.decoded ? `${b.contentEncoding} decoded` : ""]
            .filter(Boolean)
            .join(", ");
          say(
            `    ${name.padEnd(8)} ${b.contentType || "-"}, ${b.sizeBytes} bytes${flags ? ` (${flags})` : ""} -> ${bodyLocation(b)}`,
          );
        }
        for (const inst of r.analysis?.instances.slice(0, 2) ?? []) {
          say(`    input      ${JSON.stringify(inst.input).slice(0, 150)}`);
          say(`    prediction ${JSON.stringify(inst.prediction).slice(0, 300)}`);
        }
        if (r.parseError) say(`    parse_error ${r.parseError}`);
        const auth = r.request.headers.find((h) => h.name === "authorization");
        if (auth) say(`    authorization header stored as ${auth.value}`);
      }
      say("\n== 5/6 ground truth: Label Studio tasks with pre-annotations, a labeler, another system ==");
      const truth = await demoGroundTruth(config, pg, captured, say);
      say(
        "\n== 6/6 a drift story on iris: a baseline, normal traffic, then a shifted feature and worse labels (about 4 minutes: it waits for whole 1m windows) ==",
      );
      const story = await driftStory(config, pg, say);
      say(`\nExplore: node bin/modeltap.js captures list --model iris | captures get <id> --json`);
      say(`Envoy stats: curl -s 127.0.0.1:${config.ports.envoyAdmin}/stats | grep ext_proc`);
      say(`Stop everything: node bin/modeltap.js stack down`);
      return found >= expected.length && failed === 0 && truth && story ? 0 : 1;
    } finally {
      await pg.end();
    }
  },
};

/** Envoy's ext_proc streams_started, summed over the modeltap filter of every listener. */
async function envoyStreams(adminPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/stats?filter=streams_started`)).text();
  return [...text.matchAll(/^http\.[\w.]+\.ext_proc\.modeltap\.streams_started: (\d+)$/gm)].reduce(
    (sum, m) => sum + Number(m[1]),
    0,
  );
}
