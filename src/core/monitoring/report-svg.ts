/**
 * The report's inline SVG: a histogram of baseline against current per field, and a line chart
 * over time. Every string from data goes through `esc`; sizes are fixed, so an SVG is bounded by
 * its bars (report-data.ts budgets them) and points.
 */
import type { Histogram } from "./report-data.js";

/** Colours the screenshot test looks for: keep them in step with test/e2e/report-screenshot.test.ts. */
export const COLORS = {
  baseline: "#4c78a8",
  current: "#f58518",
  series: ["#f58518", "#54a24b", "#b279a2", "#e45756"],
  axis: "#888888",
} as const;

/** Text for HTML (content and quoted attributes): markup characters escaped, control characters replaced. */
export function esc(text: string): string {
  return text.replace(/[&<>"'\p{Cc}]/gu, (c) => {
    switch (c) {
      case "&":
        return "&amp;";
      case "<":
        return "&lt;";
      case ">":
        return "&gt;";
      case '"':
        return "&quot;";
      case "'":
        return "&#39;";
      default:
        // tab and line breaks are text; other control characters are not allowed in HTML
        return c === "\t" || c === "\n" || c === "\r" ? c : "\ufffd";
    }
  });
}

/** A number for people: 4 significant digits, exponent form when very large or small. */
export function fmt(x: number | null | undefined): string {
  if (x === null || x === undefined) return "-";
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "inf" : "-inf";
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 1e6 || a < 1e-3) return x.toExponential(2);
  return String(Number(x.toPrecision(4)));
}

/** Cut long labels (before escaping, so an entity is never cut). */
export function clip(text: string, max: number): string {
  const chars = [...text];
  return chars.length > max ? `${chars.slice(0, max - 1).join("")}…` : text;
}

const r2 = (x: number) => String(Math.round(x * 100) / 100);

const H = { width: 560, height: 230, left: 48, right: 8, top: 12, bottom: 70 };

function proportions(counts: readonly number[]): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  return counts.map((n) => (total > 0 ? n / total : 0));
}

/** Bars side by side per bin or category (share of each side's values), edges or categories below. */
export function histogramSvg(h: Histogram): string {
  const pw = H.width - H.left - H.right;
  const ph = H.height - H.top - H.bottom;
  const bars = h.current.length;
  const ref = h.baseline ? proportions(h.baseline) : null;
  const cur = proportions(h.current);
  const top = Math.max(...cur, ...(ref ?? []), 1e-12);
  const group = pw / Math.max(1, bars);
  const barW = ref ? group * 0.4 : group * 0.7;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${H.width}" height="${H.height}" viewBox="0 0 ${H.width} ${H.height}" role="img">`,
  );
  // y axis: 0, half and the top share
  for (const f of [0, 0.5, 1]) {
    const y = H.top + ph - f * ph;
    out.push(
      `<line x1="${H.left}" x2="${H.width - H.right}" y1="${r2(y)}" y2="${r2(y)}" class="grid"/>`,
      `<text x="${H.left - 4}" y="${r2(y + 4)}" text-anchor="end" class="tick">${esc(pct(top * f))}</text>`,
    );
  }
  for (let i = 0; i < bars; i++) {
    const x0 = H.left + i * group + (group - (ref ? 2 * barW : barW)) / 2;
    if (ref) out.push(bar("ref", x0, barW, ref[i]!, top, ph));
    out.push(bar("cur", ref ? x0 + barW : x0, barW, cur[i]!, top, ph));
  }
  const base = H.top + ph;
  out.push(`<line x1="${H.left}" x2="${H.width - H.right}" y1="${base}" y2="${base}" class="axis"/>`);
  if (h.kind === "numeric") {
    const step = Math.max(1, Math.ceil(h.edges.length / 10));
    h.edges.forEach((e, i) => {
      if (i % step !== 0) return;
      const x = H.left + (i + 1) * group;
      out.push(
        `<line x1="${r2(x)}" x2="${r2(x)}" y1="${base}" y2="${base + 4}" class="axis"/>`,
        label(x, base + 8, fmt(e)),
      );
    });
  } else {
    h.categories.forEach((c, i) => out.push(label(H.left + (i + 0.5) * group, base + 8, c)));
    if (h.other)
      out.push(
        label(
          H.left + (bars - 0.5) * group,
          base + 8,
          `(other${h.folded ? `: ${h.folded} more` : ""})`,
          "other",
        ),
      );
  }
  out.push("</svg>");
  return out.join("");
}

function bar(cls: string, x: number, w: number, p: number, top: number, ph: number): string {
  const height = (p / top) * ph;
  return `<rect class="${cls}" x="${r2(x)}" y="${r2(H.top + ph - height)}" width="${r2(w)}" height="${r2(height)}" data-share="${p}"><title>${esc(pct(p))}</title></rect>`;
}

/** A rotated axis label, cut to 18 characters; the whole text is its tooltip. */
function label(x: number, y: number, text: string, cls = "tick"): string {
  const shown = clip(text, 18);
  const title = shown === text ? "" : `<title>${esc(text)}</title>`;
  return `<text class="${cls}" text-anchor="end" transform="translate(${r2(x)},${r2(y)}) rotate(-40)">${esc(shown)}${title}</text>`;
}

function pct(p: number): string {
  return `${fmt(Math.round(p * 1000) / 10)}%`;
}

export interface Series {
  name: string;
  /** One value per x position; null leaves a gap. */
  values: ReadonlyArray<number | null>;
}

const L = { width: 560, height: 210, left: 56, right: 10, top: 12, bottom: 44 };

/** Lines over time (one per series), an optional dashed reference, x labels from `times`. */
export function lineChartSvg(
  series: readonly Series[],
  times: readonly string[],
  reference: number | null,
): string {
  const n = times.length;
  const values = series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  if (reference !== null) values.push(reference);
  let lo = values.length ? Math.min(...values) : 0;
  let hi = values.length ? Math.max(...values) : 1;
  const pad = hi > lo ? (hi - lo) * 0.08 : Math.abs(hi) * 0.1 || 0.5;
  // Counts, shares and errors are never negative: no axis below 0 for them.
  lo = lo >= 0 ? Math.max(0, lo - pad) : lo - pad;
  hi += pad;
  const pw = L.width - L.left - L.right;
  const ph = L.height - L.top - L.bottom;
  const x = (i: number) => L.left + ((i + 0.5) * pw) / Math.max(1, n);
  const y = (v: number) => L.top + ph - ((v - lo) / (hi - lo)) * ph;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${L.width}" height="${L.height}" viewBox="0 0 ${L.width} ${L.height}" role="img">`,
  ];
  for (const f of [0, 0.5, 1]) {
    const v = lo + (hi - lo) * f;
    out.push(
      `<line x1="${L.left}" x2="${L.width - L.right}" y1="${r2(y(v))}" y2="${r2(y(v))}" class="grid"/>`,
      `<text x="${L.left - 4}" y="${r2(y(v) + 4)}" text-anchor="end" class="tick">${esc(fmt(v))}</text>`,
    );
  }
  if (reference !== null)
    out.push(
      `<line class="reference" x1="${L.left}" x2="${L.width - L.right}" y1="${r2(y(reference))}" y2="${r2(y(reference))}"><title>baseline ${esc(fmt(reference))}</title></line>`,
    );
  series.forEach((s, k) => {
    let d = "";
    let pen = false;
    s.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) {
        pen = false;
        return;
      }
      d += `${pen ? "L" : "M"}${r2(x(i))} ${r2(y(v))} `;
      pen = true;
    });
    const color = COLORS.series[k % COLORS.series.length]!;
    out.push(
      `<path class="line s${k}" stroke="${color}" d="${d.trim()}"><title>${esc(s.name)}</title></path>`,
    );
    s.values.forEach((v, i) => {
      if (v !== null && Number.isFinite(v))
        out.push(
          `<circle cx="${r2(x(i))}" cy="${r2(y(v))}" r="2.5" fill="${color}"><title>${esc(`${s.name} ${times[i] ?? ""}: ${fmt(v)}`)}</title></circle>`,
        );
    });
  });
  const base = L.top + ph;
  out.push(`<line x1="${L.left}" x2="${L.width - L.right}" y1="${base}" y2="${base}" class="axis"/>`);
  const step = Math.max(1, Math.ceil(n / 8));
  times.forEach((t, i) => {
    if (i % step === 0)
      out.push(`<text class="tick" x="${r2(x(i))}" y="${base + 16}" text-anchor="middle">${esc(t)}</text>`);
  });
  out.push("</svg>");
  return out.join("");
}
