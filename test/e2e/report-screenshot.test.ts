/**
 * `modeltap report` on real data, looked at: a tabular model of the test's own (its Envoy, its
 * upstream; the stack's collector, worker, api and Postgres) gets a minute of standard-normal
 * traffic with mostly right labels, a baseline is made of it (not activated: the report names it
 * with --baseline), then two minutes with feature x1 shifted by one standard deviation and worse
 * labels. The report is rendered by the CLI, screenshot by headless Chromium
 * (scripts/install.sh chromium), and the PNG is decoded and checked: not blank, the baseline's and
 * the window's bar colours side by side in the histogram rows, the drifted rows of the drift
 * table above them.
 */
import { execFileSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { decode } from "fast-png";
import { afterAll, beforeAll, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/config.js";
import { COLORS } from "../../src/core/monitoring/report-svg.js";
import { localSecrets } from "../../tools/stack/services.js";
import { productEnv } from "../../tools/stack/settings.js";
import { creditEnvoyConfig } from "../support/envoy-config.js";
import { send } from "../support/http.js";
import { draws } from "../support/random.js";
import { config, creditPrediction, db, freePort, startCreditModel, startEnvoy, until } from "./helpers.js";

const pg = db();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "modeltap-report-"));
const MODEL = `report-${Date.now().toString(36)}`;
const BASELINE = `${MODEL}-base`;
const MINUTE = 60_000;
const API = `http://127.0.0.1:${config.ports.api}`;
const secrets = localSecrets(config);
const ports = { listener: 0, admin: 0 };
const children: ChildProcess[] = [];
let upstream: http.Server | undefined;
/** The drifted rows' background in the drift table (report.ts STYLE). */
const DRIFTED_ROW = "#fde0dc";

beforeAll(async () => {
  upstream = await startCreditModel();
  for (const k of Object.keys(ports) as Array<keyof typeof ports>) ports[k] = await freePort();
  const envoyYaml = creditEnvoyConfig("report", MODEL, {
    ...ports,
    collector: config.ports.collector,
    upstream: (upstream.address() as AddressInfo).port,
  });
  children.push(await startEnvoy(dir, envoyYaml, ports.admin));
});

afterAll(async () => {
  for (const child of children) child.kill("SIGTERM");
  await new Promise((resolve) => upstream?.close(resolve));
  await pg.end();
  // The screenshot and the report stay in `dir` for a person to look at (its path is printed).
});

/** `n` requests, 20 at a time, every other one labeled (`agreement` of the labels right). */
async function burst(n: number, opts: { shift: number; agreement: number; seed: number }): Promise<number> {
  const { uniform, normal } = draws(opts.seed);
  const rows = Array.from({ length: n }, () => {
    const row: Record<string, number | string> = { x1: normal() + opts.shift, x2: normal(), x3: normal() };
    row.segment = uniform() < 0.6 ? "a" : "b";
    return { row, agree: uniform() < opts.agreement };
  });
  let ok = 0;
  for (let i = 0; i < n; i += 20) {
    await Promise.all(
      rows.slice(i, i + 20).map(async ({ row, agree }, j) => {
        const s = await send(
          `http://127.0.0.1:${ports.listener}/v1/models/credit:predict`,
          JSON.stringify({ instances: [row] }),
        );
        expect(s.status).toBe(200);
        ok += 1;
        if ((i + j) % 2 !== 0) return;
        const p = creditPrediction(row);
        const res = await fetch(`${API}/v1/ground-truth`, {
          method: "POST",
          headers: { authorization: `Bearer ${secrets.apiToken}`, "content-type": "application/json" },
          body: JSON.stringify({
            request_id: s.id,
            label: { kind: "classification", label: agree ? p : p === "approve" ? "deny" : "approve" },
            source: "e2e",
          }),
        });
        expect(res.status, await res.text()).toBeLessThan(300);
      }),
    );
  }
  return ok;
}

async function stored(): Promise<number> {
  const r = await pg.query<{ n: string }>("SELECT count(*) AS n FROM captures WHERE model = $1", [MODEL]);
  return Number(r.rows[0]!.n);
}

function sleepUntil(t: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, t - Date.now())));
}

function cli(...args: string[]): string {
  return execFileSync(process.execPath, [path.join(PACKAGE_ROOT, "bin", "modeltap.js"), ...args], {
    env: productEnv(process.env),
    encoding: "utf8",
  });
}

const rgb = (hex: string) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));

it("renders a report of real traffic that a browser draws as histograms, a drift table and charts", async () => {
  const chromium = ["chromium", "chromium-browser"].find((c) => {
    try {
      execFileSync("which", [c], { stdio: "ignore" });
      return true;
    } catch {
      return false;
    }
  });
  expect(chromium, "headless Chromium is missing: run scripts/install.sh chromium").toBeDefined();

  // Three minutes inside one hour: the report's window is that hour.
  const HOUR = 60 * MINUTE;
  if (HOUR - (Date.now() % HOUR) < 4 * MINUTE) await sleepUntil(Math.ceil(Date.now() / HOUR) * HOUR + 2000);
  const start = Date.now();
  let sent = await burst(300, { shift: 0, agreement: 0.95, seed: 1 });
  const baselineEnd = Date.now() + 1;
  await until("the baseline's captures stored", async () => (await stored()) === sent, 60_000);
  const created = cli(
    "baseline",
    "create",
    "--model",
    MODEL,
    "--from",
    new Date(start - 1000).toISOString(),
    "--to",
    new Date(baselineEnd).toISOString(),
    "--id",
    BASELINE,
  );
  expect(created).toContain(BASELINE);
  // Two more minutes: x1 shifted by one standard deviation, labels right 60% of the time.
  await sleepUntil(Math.ceil(Date.now() / MINUTE) * MINUTE + 1000);
  sent += await burst(250, { shift: 1, agreement: 0.6, seed: 2 });
  await sleepUntil(Math.ceil(Date.now() / MINUTE) * MINUTE + 1000);
  sent += await burst(250, { shift: 1, agreement: 0.6, seed: 3 });
  await until("every capture stored", async () => (await stored()) === sent, 60_000);

  const out = path.join(dir, "report.html");
  const at = new Date(Math.ceil(start / HOUR) * HOUR).toISOString();
  const printed = cli(
    "report",
    "--model",
    MODEL,
    "--window",
    "1h",
    "--at",
    at,
    "--points",
    "60",
    "--baseline",
    BASELINE,
    "--out",
    out,
  );
  expect(printed).toContain(out);
  const html = fs.readFileSync(out, "utf8");
  expect(html).not.toMatch(/<script/i);
  expect(html).toContain(`<td>captures</td><td>${sent}</td>`);
  expect(html).toMatch(/<tr class="drifted"><td>feature\.x1<\/td>/);
  expect(html).not.toMatch(/<tr class="drifted"><td>feature\.x2<\/td>/);
  expect(html).toContain("<h3>accuracy</h3>");

  // Headless Chromium, a profile of its own, the page at 1280 × 4000.
  const png = path.join(dir, "report.png");
  const started = Date.now();
  execFileSync(
    chromium!,
    [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--hide-scrollbars",
      `--user-data-dir=${path.join(dir, "chromium")}`,
      `--screenshot=${png}`,
      "--window-size=1280,4000",
      `file://${out}`,
    ],
    { stdio: "ignore", timeout: 90_000 },
  );
  console.log(`report screenshot: ${png} (${Date.now() - started} ms)`);
  const image = decode(fs.readFileSync(png));
  expect(image.width).toBe(1280);
  const { width, height, channels } = image;
  const data = image.data;
  const colours = new Set<number>();
  const near = (i: number, c: number[]) =>
    Math.abs(data[i]! - c[0]!) <= 2 &&
    Math.abs(data[i + 1]! - c[1]!) <= 2 &&
    Math.abs(data[i + 2]! - c[2]!) <= 2;
  const [blue, orange, red] = [rgb(COLORS.baseline), rgb(COLORS.current), rgb(DRIFTED_ROW)];
  const BAND = 40;
  const bands = Array.from({ length: Math.ceil(height / BAND) }, () => ({ blue: 0, orange: 0, red: 0 }));
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * channels;
      colours.add((data[i]! << 16) | (data[i + 1]! << 8) | data[i + 2]!);
      const b = bands[Math.floor(y / BAND)]!;
      if (near(i, blue)) b.blue += 1;
      else if (near(i, orange)) b.orange += 1;
      else if (near(i, red)) b.red += 1;
    }
  // Not blank: text, bars, lines, anti-aliasing.
  expect(colours.size).toBeGreaterThan(200);
  const total = (k: "blue" | "orange" | "red") => bands.reduce((s, b) => s + b[k], 0);
  expect(total("blue")).toBeGreaterThan(5000);
  expect(total("orange")).toBeGreaterThan(5000);
  // Histogram rows: the baseline's and the window's bars side by side, in many bands down the page.
  const histogramBands = bands.filter((b) => b.blue > 200 && b.orange > 200).length;
  expect(histogramBands).toBeGreaterThanOrEqual(8);
  // The drift table's drifted rows sit above the first histogram.
  const firstRed = bands.findIndex((b) => b.red > 500);
  const firstBars = bands.findIndex((b) => b.blue > 200 && b.orange > 200);
  expect(firstRed).toBeGreaterThanOrEqual(0);
  expect(firstRed).toBeLessThan(firstBars);
}, 360_000);
