/**
 * `modeltap report`: one self-contained HTML document (inline style and SVG; no script, no link,
 * no font or image to fetch, and a Content-Security-Policy that would block them anyway) showing a
 * window of a model against its baseline. Captured data is hostile: every string from it (model,
 * field and category names) is escaped, and report-data.ts bounds how much is drawn.
 */
import { LOWER_IS_BETTER } from "./quality-aggregate.js";
import type { FieldDrift } from "./evaluate.js";
import {
  LLM_QUANTILE_FIELDS,
  MAX_DRAWN_BINS,
  MAX_DRAWN_CATEGORIES,
  MAX_REPORT_FIELDS,
  type Histogram,
  type ReportInput,
} from "./report-data.js";
import { COLORS, esc, fmt, histogramSvg, lineChartSvg } from "./report-svg.js";

export { reportInput, reportPoint, type ReportInput, type ReportPoint } from "./report-data.js";

const STYLE = `
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif;color:#222;margin:24px;background:#fff}
h1{font-size:22px;margin:0 0 8px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #ddd}
h3{font-size:14px;margin:0 0 4px;word-break:break-all}
table{border-collapse:collapse}td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:left}
th{background:#f6f6f6}td.num{text-align:right;font-variant-numeric:tabular-nums}
tr.drifted td{background:#fde0dc;font-weight:600}
.facts td:first-child{color:#666}.yes{color:#c0392b;font-weight:700}.no{color:#2e7d32}
.note{background:#fff8e1;border-left:4px solid #f9a825;padding:6px 10px;margin:8px 0}
.grid-2{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0;border:1px solid #eee;padding:8px;width:560px}
figcaption{color:#555;font-size:12px}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px}
svg .ref{fill:${COLORS.baseline}}svg .cur{fill:${COLORS.current}}
svg .grid{stroke:#eee}svg .axis{stroke:${COLORS.axis}}svg text{font-size:10px;fill:#444}
svg .other{font-style:italic;fill:#777}svg .line{fill:none;stroke-width:2}
svg .reference{stroke:#444;stroke-dasharray:6 4;stroke-width:1.5}
`;

export function renderReport(r: ReportInput): string {
  const title = `modeltap report: ${r.model}, ${r.window} window`;
  return [
    "<!DOCTYPE html>",
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    `<title>${esc(title)}</title><style>${STYLE}</style></head><body>`,
    `<h1>${esc(title)}</h1>`,
    header(r),
    r.note ? `<p class="note">${esc(r.note)}</p>` : "",
    driftSection(r),
    histogramSection(r),
    qualitySection(r),
    llmSection(r),
    `<p class="note">Drawn at most: ${MAX_REPORT_FIELDS} fields, ${MAX_DRAWN_BINS} bins or ${MAX_DRAWN_CATEGORIES} categories per field (more bins are merged pairwise, more categories counted as other).</p>`,
    "</body></html>",
    "",
  ].join("\n");
}

function row(cells: string[], cls = ""): string {
  return `<tr${cls ? ` class="${cls}"` : ""}>${cells.join("")}</tr>`;
}
const td = (text: string, num = false) => `<td${num ? ' class="num"' : ""}>${esc(text)}</td>`;
const yesNo = (v: boolean) => (v ? '<span class="yes">YES</span>' : '<span class="no">no</span>');

function header(r: ReportInput): string {
  const d = r.drift;
  const facts: Array<[string, string]> = [
    ["model", esc(r.model)],
    ["version", esc(r.version ?? "every version")],
    ["window", esc(`${r.window}: ${r.from} .. ${r.to}`)],
    ["captures", esc(String(r.captures))],
    ["instances", esc(String(r.instances))],
    ["labeled", esc(String(r.quality.labeled))],
    ["baseline", esc(r.baseline?.id ?? "none")],
  ];
  if (d) {
    const share = d.drift_share === null ? "-" : `${fmt(d.drift_share * 100)}%`;
    facts.push([
      "dataset drift",
      `${yesNo(d.dataset_drift)} ${esc(`(${d.drifted_inputs} of ${d.input_fields} input fields, ${share}; threshold ${fmt(d.dataset_drift_threshold * 100)}%)`)}`,
    ]);
    facts.push([
      "prediction drift",
      d.prediction ? `${yesNo(d.prediction.drifted)} ${esc(`(${d.prediction.field})`)}` : "-",
    ]);
  }
  facts.push(["generated", esc(r.generated_at)]);
  return `<table class="facts">${facts.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${v}</td></tr>`).join("")}</table>`;
}

function score(f: FieldDrift): string {
  return f.score === null ? "-" : fmt(f.score);
}

function driftSection(r: ReportInput): string {
  if (!r.drift) return "";
  const d = r.drift;
  const head = [
    "field",
    "kind",
    "method",
    "score",
    "threshold",
    "drifted",
    "baseline n",
    "current n",
    "note",
  ];
  const rows = d.fields.map((f) =>
    row(
      [
        td(f.field),
        td(f.kind),
        td(f.method),
        td(score(f), true),
        td(fmt(f.threshold), true),
        `<td>${f.drifted ? yesNo(true) : esc(f.enough ? "no" : "-")}</td>`,
        td(String(f.reference), true),
        td(String(f.current), true),
        td(
          [
            f.enough ? "" : `under min_count ${d.min_count}`,
            f.approximate ? `approx${f.error !== null ? ` ±${fmt(f.error)}` : ""}` : "",
          ]
            .filter(Boolean)
            .join("; "),
        ),
      ],
      f.drifted ? "drifted" : "",
    ),
  );
  return `<h2 id="drift">Drift against ${esc(d.baseline)}</h2><table class="drift"><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr>${rows.join("")}</table>`;
}

function legend(baseline: boolean): string {
  return `<div class="legend">${baseline ? `<span style="background:${COLORS.baseline}"></span>baseline` : ""}<span style="background:${COLORS.current}"></span>this window</div>`;
}

function histogramSection(r: ReportInput): string {
  if (r.histograms.length === 0)
    return `<h2 id="fields">Fields</h2><p>No field has values in this window.</p>`;
  const drifted = new Set(r.drift?.fields.filter((f) => f.drifted).map((f) => f.field));
  const figures = r.histograms.map((h) => figure(h, r, drifted.has(h.field)));
  const omitted = r.omitted_fields
    ? `<p class="note">${esc(`${r.omitted_fields} more fields are not drawn (at most ${MAX_REPORT_FIELDS}).`)}</p>`
    : "";
  return `<h2 id="fields">Fields: ${r.baseline ? "baseline against this window" : "this window"}</h2>${legend(r.baseline !== null)}<div class="grid-2">${figures.join("")}</div>${omitted}`;
}

function figure(h: Histogram, r: ReportInput, drifted: boolean): string {
  const f = r.fields.find((x) => x.field === h.field);
  const n = (v: number[] | null) => (v ? v.reduce((a, b) => a + b, 0) : 0);
  const caption = [
    h.baseline ? `baseline n ${n(h.baseline)}` : r.baseline ? "not in the baseline" : "",
    `this window n ${n(h.current)}`,
    f && f.missing ? `missing ${f.missing}` : "",
    f && f.mean !== null ? `mean ${fmt(f.mean)}, p50 ${fmt(f.p50)}, p99 ${fmt(f.p99)}` : "",
    h.estimated ? "window bins estimated from its quantile sketch (±1.65% of values)" : "",
  ]
    .filter(Boolean)
    .join("; ");
  return `<figure class="histogram" data-field="${esc(h.field)}"><h3>${esc(h.field)}${drifted ? ' <span class="yes">drifted</span>' : ""}</h3>${histogramSvg(h)}<figcaption>${esc(caption)}</figcaption></figure>`;
}

/** Sub-window ends as HH:MM (UTC), with the date when the series spans days. */
function times(r: ReportInput): string[] {
  const days = new Set(r.series.map((p) => p.to.slice(0, 10))).size > 1;
  return r.series.map((p) =>
    days && p.to.slice(11, 16) === "00:00" ? p.to.slice(5, 10) : p.to.slice(11, 16),
  );
}

function chart(title: string, body: string, caption: string): string {
  return `<figure class="chart"><h3>${esc(title)}</h3>${body}<figcaption>${esc(caption)}</figcaption></figure>`;
}

function qualitySection(r: ReportInput): string {
  const names = [
    ...new Set([
      ...r.series.flatMap((p) => Object.keys(p.metrics)),
      ...Object.keys(r.baseline?.quality?.metrics ?? {}),
    ]),
  ].sort();
  const head = `<h2 id="quality">Quality over time</h2>`;
  if (r.series.length === 0 || names.length === 0)
    return `${head}<p>No labeled predictions in this window${r.baseline && !r.baseline.quality ? ", and the baseline has no quality" : ""}.</p>`;
  const t = times(r);
  const step = r.series.length > 1 ? spanText(r) : "";
  const charts = names.map((name) => {
    const ref = r.baseline?.quality?.metrics[name] ?? null;
    const values = r.series.map((p) => (Object.hasOwn(p.metrics, name) ? p.metrics[name]! : null));
    const now = Object.hasOwn(r.quality.metrics, name) ? r.quality.metrics[name]! : null;
    return chart(
      name,
      lineChartSvg([{ name, values }], t, ref),
      `${step}; window ${fmt(now)}${ref !== null ? `, baseline ${fmt(ref)} (dashed)` : ""}; ${LOWER_IS_BETTER.has(name) ? "lower" : "higher"} is better`,
    );
  });
  const labeled = r.series.map((p) => p.labeled);
  charts.push(
    chart("labeled instances", lineChartSvg([{ name: "labeled", values: labeled }], t, null), step),
  );
  return `${head}<div class="grid-2">${charts.join("")}</div>`;
}

function spanText(r: ReportInput): string {
  const first = r.series[0]!;
  const minutes = Math.round((Date.parse(first.to) - Date.parse(first.from)) / 60_000);
  return `${r.series.length} sub-windows of ${minutes} min, UTC`;
}

function llmSection(r: ReportInput): string {
  const has =
    r.histograms.some((h) => h.field.startsWith("llm.")) ||
    r.series.some((p) => Object.keys(p.llm).length > 0 || p.refusal !== null);
  if (!has) return "";
  const t = times(r);
  const step = spanText(r);
  const charts: string[] = [];
  for (const name of LLM_QUANTILE_FIELDS) {
    if (!r.series.some((p) => Object.hasOwn(p.llm, name))) continue;
    const pick = (q: "p50" | "p90") =>
      r.series.map((p) => (Object.hasOwn(p.llm, name) ? p.llm[name]![q] : null));
    charts.push(
      chart(
        name,
        lineChartSvg(
          [
            { name: "p50", values: pick("p50") },
            { name: "p90", values: pick("p90") },
          ],
          t,
          null,
        ),
        `${step}; p50 (orange) and p90 (green), from each sub-window's sketch`,
      ),
    );
  }
  if (r.series.some((p) => p.refusal !== null))
    charts.push(
      chart(
        "refusal ratio",
        lineChartSvg([{ name: "refusal ratio", values: r.series.map((p) => p.refusal) }], t, null),
        `${step}; share of completions matching a refusal pattern`,
      ),
    );
  const finish = r.histograms.find((h) => h.field === "llm.finish_reason");
  if (finish)
    charts.push(chart("finish reasons", histogramSvg(finish), "share of completions per finish reason"));
  return `<h2 id="llm">LLM</h2><div class="grid-2">${charts.join("")}</div>`;
}
