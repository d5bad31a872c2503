/**
 * src/core/monitoring/report.ts (with report-data.ts and report-svg.ts): the HTML of
 * `modeltap report`. Self-contained, well-formed, hostile strings shown as text, one histogram per
 * field with bars proportional to each side's shares, quality and LLM charts drawn from the points
 * they are given, and every drawn list within its budget.
 */
import { describe, expect, it } from "vitest";
import {
  binPlanOf,
  buildBaseline,
  ValueCollector,
  type Baseline,
} from "../../src/core/monitoring/baseline.js";
import { countOnEdges } from "../../src/core/monitoring/bins.js";
import { evaluateDrift } from "../../src/core/monitoring/evaluate.js";
import { Profile } from "../../src/core/monitoring/profile.js";
import {
  addLabeled,
  emptyQuality,
  type QualityAggregate,
} from "../../src/core/monitoring/quality-aggregate.js";
import {
  MAX_DRAWN_BINS,
  MAX_DRAWN_CATEGORIES,
  MAX_REPORT_FIELDS,
  reportHistograms,
} from "../../src/core/monitoring/report-data.js";
import {
  renderReport,
  reportInput,
  reportPoint,
  type ReportPoint,
} from "../../src/core/monitoring/report.js";
import { esc } from "../../src/core/monitoring/report-svg.js";
import { subWindows } from "../../src/cli/commands/report.js";
import { mulberry32 } from "../support/random.js";

const HOSTILE_MODEL = `<script>alert("model")</script>`;
const HOSTILE_CATEGORY = "<script>alert(1)</script>";
const HOSTILE_FIELD = `feature.<img src=x onerror="alert(2)">`;
const FROM = new Date("2026-11-28T00:00:00Z");
const TO = new Date("2026-11-29T00:00:00Z");

function normals(n: number, seed: number, shift = 0): number[] {
  const rnd = mulberry32(seed);
  return Array.from(
    { length: n },
    () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd()) + shift,
  );
}

const SEGMENTS = ["a", "b", HOSTILE_CATEGORY];

function makeBaseline(n = 2000): Baseline {
  const c = new ValueCollector();
  const [x, y] = [normals(n, 1), normals(n, 2)];
  for (let i = 0; i < n; i++) {
    c.value("feature.x", x[i]);
    c.value(HOSTILE_FIELD, y[i]);
    c.category("feature.segment", SEGMENTS[i % 3]);
    c.category("prediction.label", i % 4 === 0 ? "deny" : "approve");
  }
  return buildBaseline(c, {
    id: "base-1",
    model: HOSTILE_MODEL,
    version: null,
    createdAt: FROM,
    source: { kind: "window", from: FROM.toISOString(), to: TO.toISOString() },
    quality: { labeled: 500, metrics: { accuracy: 0.9, macro_f1: 0.85 } },
  });
}

/** The window: x shifted by one standard deviation, counted on the baseline's edges. */
function makeProfile(b: Baseline | null, n = 1000): { profile: Profile; x: number[] } {
  const p = new Profile(b ? binPlanOf(b) : null);
  const [x, y] = [normals(n, 3, 1), normals(n, 4)];
  for (let i = 0; i < n; i++) {
    p.captures += 1;
    p.instances += 1;
    p.value("feature.x", x[i]);
    p.value(HOSTILE_FIELD, y[i]);
    p.category("feature.segment", SEGMENTS[i % 2]);
    p.category("prediction.label", i % 2 === 0 ? "deny" : "approve");
  }
  return { profile: p, x };
}

function quality(correct: number, wrong: number): QualityAggregate {
  const q = emptyQuality();
  const p = { kind: "classification" as const, label: "approve", score: null };
  for (let i = 0; i < correct; i++) addLabeled(q, p, p);
  for (let i = 0; i < wrong; i++) addLabeled(q, p, { ...p, label: "deny" });
  return q;
}

/** Hourly points; hour 5 has no labels (a gap in the line). */
const ACCURACY = Array.from({ length: 24 }, (_, i) => (i === 5 ? null : 0.5 + (i % 7) / 20));
function series(): ReportPoint[] {
  return ACCURACY.map((a, i) => {
    const from = new Date(FROM.getTime() + i * 3_600_000);
    const q = a === null ? emptyQuality() : quality(Math.round(a * 100), 100 - Math.round(a * 100));
    return reportPoint(from, new Date(from.getTime() + 3_600_000), new Profile(), q);
  });
}

function render(
  b: Baseline | null = makeBaseline(),
  profile = makeProfile(b ?? null).profile,
  points = series(),
) {
  return renderReport(
    reportInput({
      model: HOSTILE_MODEL,
      version: null,
      window: "1d",
      from: FROM,
      to: TO,
      now: TO,
      profile,
      quality: quality(80, 20),
      baseline: b ?? undefined,
      drift: b ? evaluateDrift(b, profile) : null,
      note: b ? null : "no active baseline",
      series: points,
    }),
  );
}

/** Tags open and close in order (void elements and self-closed ones aside); every `<` starts a tag. */
function assertWellFormed(html: string): void {
  const body = html.replace(/^<!DOCTYPE html>/, "");
  expect(body.match(/<(?![a-zA-Z/])/g) ?? []).toEqual([]);
  const stack: string[] = [];
  for (const m of body.matchAll(/<(\/?)([a-zA-Z][\w-]*)((?:[^>"]|"[^"]*")*)>/g)) {
    const [, close, name, rest] = m;
    if (name === "meta" || rest!.endsWith("/")) continue;
    if (close) expect(stack.pop(), `closing </${name}>`).toBe(name);
    else stack.push(name!);
  }
  expect(stack).toEqual([]);
}

/** The figure of one field, by its escaped name. */
function figureOf(html: string, field: string): string {
  const start = html.indexOf(`<figure class="histogram" data-field="${esc(field)}">`);
  expect(start, field).toBeGreaterThan(-1);
  return html.slice(start, html.indexOf("</figure>", start));
}

function rects(svg: string, cls: "ref" | "cur"): Array<{ height: number; share: number }> {
  return [
    ...svg.matchAll(new RegExp(`<rect class="${cls}"[^>]* height="([\\d.]+)" data-share="([^"]+)"`, "g")),
  ].map((m) => ({ height: Number(m[1]), share: Number(m[2]) }));
}

const shares = (v: number[]) => v.map((n) => n / v.reduce((a, b) => a + b, 0));

describe("renderReport", () => {
  it("is one self-contained document: no script, no fetch of anything, a CSP that forbids it", () => {
    const html = render();
    expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
    // Tags and attributes only: hostile names may say "src=" as escaped text.
    const tags = [...html.matchAll(/<([a-zA-Z][\w-]*)((?:[^>"]|"[^"]*")*)>/g)];
    expect(tags.length).toBeGreaterThan(100);
    const names = new Set(tags.map((m) => m[1]!.toLowerCase()));
    for (const t of ["script", "link", "img", "iframe", "object", "embed", "image", "use", "foreignobject"])
      expect(names.has(t), t).toBe(false);
    for (const [, , attrs] of tags)
      for (const a of attrs!.matchAll(/([\w:-]+)="([^"]*)"/g)) {
        expect(a[1]!.toLowerCase()).not.toMatch(/^(src|on.*|srcset|action|formaction)$/);
        if (/href$/i.test(a[1]!)) expect(a[2]!.startsWith("#")).toBe(true);
        expect(a[2]).not.toMatch(/url\(/);
      }
    expect(html).not.toMatch(/url\(|@import/i);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
    assertWellFormed(html);
  });

  it("shows hostile model, field and category names as text", () => {
    const html = render();
    for (const s of [HOSTILE_MODEL, HOSTILE_CATEGORY, HOSTILE_FIELD]) {
      expect(html).not.toContain(s);
      expect(html).toContain(esc(s));
    }
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    // A control character cannot reach the document either.
    expect(esc("a\u0000b\u001bc\td")).toBe("a\ufffdb\ufffdc\td");
  });

  it("draws one histogram per field, with bars proportional to each side's shares", () => {
    const b = makeBaseline();
    const { profile, x } = makeProfile(b);
    const html = render(b, profile);
    const figures = [...html.matchAll(/<figure class="histogram" data-field="([^"]*)">/g)].map((m) => m[1]);
    expect(figures).toEqual(
      ["feature.segment", "feature.x", HOSTILE_FIELD, "prediction.label"].sort().map(esc),
    );
    const fx = figureOf(html, "feature.x");
    const ref = rects(fx, "ref");
    const cur = rects(fx, "cur");
    const edges = b.fields["feature.x"]!.edges!;
    expect(ref).toHaveLength(edges.length + 1);
    // The window was counted on the baseline's edges: exact shares, not estimated.
    expect(cur.map((r) => r.share)).toEqual(shares(countOnEdges(edges, x)));
    expect(ref.map((r) => r.share)).toEqual(shares(b.fields["feature.x"]!.bins!));
    expect(fx).not.toContain("estimated");
    // Heights: share / the largest share × the plot height, the same scale for both sides.
    const all = [...ref, ...cur];
    const top = Math.max(...all.map((r) => r.share));
    const scale = all.find((r) => r.share === top)!.height / top;
    expect(scale).toBeGreaterThan(100);
    for (const r of all) expect(Math.abs(r.height - r.share * scale)).toBeLessThanOrEqual(0.006);
    // Shifted by one standard deviation: the window's mass sits right of the baseline's.
    const half = Math.floor(cur.length / 2);
    const right = (v: typeof cur) => v.slice(half).reduce((a, r) => a + r.share, 0);
    expect(right(cur)).toBeGreaterThan(right(ref) + 0.2);
    // Categories: hostile one included, shares per side.
    const seg = figureOf(html, "feature.segment");
    expect(rects(seg, "ref").map((r) => r.share)).toEqual(
      [1 / 3, 1 / 3, 1 / 3].map((v) => expect.closeTo(v, 3)),
    );
    expect(seg).toContain(esc(HOSTILE_CATEGORY));
  });

  it("marks drifted fields in the drift table and the header", () => {
    const html = render();
    const table = html.slice(
      html.indexOf('<table class="drift">'),
      html.indexOf("</table>", html.indexOf('<table class="drift">')),
    );
    const drifted = [...table.matchAll(/<tr class="drifted"><td>([^<]*)<\/td>/g)].map((m) => m[1]);
    expect(drifted).toContain("feature.x");
    expect(drifted).toContain("prediction.label");
    expect(drifted).not.toContain(esc(HOSTILE_FIELD));
    expect(html).toMatch(/dataset drift<\/td><td><span class="yes">YES<\/span>/);
    expect(html).toMatch(/prediction drift<\/td><td><span class="yes">YES<\/span> \(prediction\.label\)/);
  });

  it("draws quality over time through the given points, with the baseline dashed", () => {
    const html = render();
    const start = html.indexOf("<h3>accuracy</h3>");
    expect(start).toBeGreaterThan(-1);
    const svg = html.slice(start, html.indexOf("</figure>", start));
    const d = /<path class="line s0"[^>]* d="([^"]*)"/.exec(svg)![1]!;
    // One move, the gap at hour 5, then one more move: two segments.
    expect(d.match(/M/g)).toHaveLength(2);
    const pts = [...d.matchAll(/[ML]([\d.]+) ([\d.]+)/g)].map((m) => ({ x: Number(m[1]), y: Number(m[2]) }));
    const values = ACCURACY.filter((a): a is number => a !== null);
    expect(pts).toHaveLength(values.length);
    // y is linear in the value (higher is up) and x advances one step per point.
    const slope = (pts[1]!.y - pts[0]!.y) / (values[1]! - values[0]!);
    expect(slope).toBeLessThan(0);
    const near = (a: number, b: number) => expect(Math.abs(a - b)).toBeLessThan(0.15);
    pts.forEach((p, i) => near(p.y - pts[0]!.y, slope * (values[i]! - values[0]!)));
    const xs = ACCURACY.map((_, i) => i).filter((i) => ACCURACY[i] !== null);
    const dx = (pts[1]!.x - pts[0]!.x) / (xs[1]! - xs[0]!);
    pts.forEach((p, i) => near(p.x - pts[0]!.x, dx * (xs[i]! - xs[0]!)));
    // The baseline's 0.9 as a dashed line on the same scale.
    const ref = Number(/<line class="reference"[^>]* y1="([\d.]+)"/.exec(svg)![1]);
    near(ref - pts[0]!.y, slope * (0.9 - values[0]!));
    expect(svg).toContain("baseline 0.9 (dashed)");
  });

  it("without a baseline: the window alone, no drift table, a note", () => {
    const html = render(null);
    expect(html).not.toContain('<table class="drift">');
    expect(html).toContain('<p class="note">no active baseline</p>');
    const fx = figureOf(html, "feature.x");
    expect(rects(fx, "ref")).toEqual([]);
    expect(rects(fx, "cur").length).toBeGreaterThan(1);
    expect(fx).toContain("estimated from its quantile sketch");
    assertWellFormed(html);
  });

  it("draws LLM panels only when llm fields exist", () => {
    expect(render()).not.toContain('<h2 id="llm">');
    const p = new Profile();
    for (let i = 0; i < 300; i++) {
      p.numeric("llm.ttft_ms", 100 + i);
      p.category("llm.finish_reason", i % 10 === 0 ? "length" : "stop");
      p.category("llm.refusal", i % 4 === 0 ? "true" : "false");
    }
    const point = reportPoint(FROM, TO, p, emptyQuality());
    expect(point.refusal).toBe(0.25);
    expect(point.llm["llm.ttft_ms"]!.p50).toBeCloseTo(250, -1);
    const html = render(null, p, [point, point]);
    expect(html).toContain('<h2 id="llm">');
    expect(html).toContain("<h3>llm.ttft_ms</h3>");
    expect(html).toContain("<h3>refusal ratio</h3>");
    expect(html).toContain("<h3>finish reasons</h3>");
    assertWellFormed(html);
  });
});

describe("report budgets", () => {
  it("draws at most MAX_DRAWN_CATEGORIES bars, the rest summed in other", () => {
    const p = new Profile();
    for (let i = 0; i < 500; i++) p.category("feature.city", `city-${i % 50}`);
    const [h] = reportHistograms(p, undefined).histograms;
    expect(h!.current).toHaveLength(MAX_DRAWN_CATEGORIES);
    expect(h!.other).toBe(true);
    expect(h!.folded).toBe(50 - (MAX_DRAWN_CATEGORIES - 1));
    expect(h!.current.reduce((a, b) => a + b, 0)).toBe(500);
  });

  it("merges numeric bins pairwise past MAX_DRAWN_BINS, keeping the counts", () => {
    const c = new ValueCollector();
    const values = normals(5000, 7);
    for (const v of values) c.value("feature.x", v);
    const b = buildBaseline(c, {
      id: "wide",
      model: "m",
      version: null,
      createdAt: FROM,
      source: { kind: "window", from: FROM.toISOString(), to: TO.toISOString() },
      bins: 100,
    });
    const p = new Profile(binPlanOf(b));
    for (const v of values) p.value("feature.x", v);
    const [h] = reportHistograms(p, b).histograms;
    expect(h!.current.length).toBeLessThanOrEqual(MAX_DRAWN_BINS);
    expect(h!.edges).toHaveLength(h!.current.length - 1);
    expect(h!.current).toEqual(countOnEdges(h!.edges, values));
    expect(h!.baseline).toEqual(h!.current);
  });

  it("draws at most MAX_REPORT_FIELDS histograms and counts the rest", () => {
    const p = new Profile();
    for (let i = 0; i < MAX_REPORT_FIELDS + 5; i++) p.numeric(`feature.f${String(i).padStart(3, "0")}`, i);
    const { histograms, omitted } = reportHistograms(p, undefined);
    expect(histograms).toHaveLength(MAX_REPORT_FIELDS);
    expect(omitted).toBe(5);
  });
});

describe("report sub-windows", () => {
  const span = (w: Array<{ from: Date; to: Date }>) =>
    w.map((x) => `${x.from.toISOString().slice(11, 16)}-${x.to.toISOString().slice(11, 16)}`);

  it("tiles a 1d window with 24 hourly points, the last ending at the window's end", () => {
    const w = subWindows(FROM, TO, 24);
    expect(w).toHaveLength(24);
    expect(w[0]!.from).toEqual(FROM);
    expect(w[23]!.to).toEqual(TO);
    w.slice(1).forEach((x, i) => expect(x.from).toEqual(w[i]!.to));
  });

  it("rounds to whole minutes: never shorter than a minute, never past the window", () => {
    const to = new Date("2026-11-28T10:05:00Z");
    expect(span(subWindows(new Date("2026-11-28T10:00:00Z"), to, 24))).toEqual([
      "10:00-10:01",
      "10:01-10:02",
      "10:02-10:03",
      "10:03-10:04",
      "10:04-10:05",
    ]);
    // 60 / 7 = 8.57 minutes: 9-minute points, six of them, ending at the window's end.
    const w = subWindows(new Date("2026-11-28T09:00:00Z"), new Date("2026-11-28T10:00:00Z"), 7);
    expect(span(w)).toEqual([
      "09:06-09:15",
      "09:15-09:24",
      "09:24-09:33",
      "09:33-09:42",
      "09:42-09:51",
      "09:51-10:00",
    ]);
  });
});
