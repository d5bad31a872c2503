/**
 * src/core/monitoring/fields.ts: each task's stored capture gives exactly its observations; odd and
 * hostile analyses never throw and stay bounded; MONITORED_FIELDS matches what is emitted and what
 * docs/monitoring.md lists.
 */
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { Analysis, Instance, Prediction, Task } from "../../src/core/canonical.js";
import { PACKAGE_ROOT } from "../../src/config.js";
import {
  DEFAULT_REFUSAL_PATTERNS,
  FEATURE_PREFIX,
  type FieldSink,
  MAX_FEATURE_NAME_CHARS,
  MAX_ITEM_OBSERVATIONS,
  MONITORED_FIELDS,
  observeCapture,
  type ProfiledCapture,
  REFUSAL_SCAN_CHARS,
} from "../../src/core/monitoring/fields.js";
import { captureRow, imageInstance, textInstance } from "../support/captures.js";
import { int, mulberry32 } from "../support/random.js";

type Method = "value" | "numeric" | "category";
type Observation = [Method, string, unknown];

class RecordingSink implements FieldSink {
  readonly seen: Observation[] = [];
  value(field: string, value: unknown): void {
    this.seen.push(["value", field, value]);
  }
  numeric(field: string, value: number | null | undefined): void {
    this.seen.push(["numeric", field, value]);
  }
  category(field: string, value: string | null | undefined): void {
    this.seen.push(["category", field, value]);
  }
}

/** Compiled as src/config.ts compiles MODELTAP_MONITOR_REFUSAL_PATTERNS. */
const opts = { refusalPatterns: DEFAULT_REFUSAL_PATTERNS.map((p) => new RegExp(p, "i")) };

function observe(c: ProfiledCapture): Observation[] {
  const sink = new RecordingSink();
  observeCapture(c, sink, opts);
  return sink.seen;
}

/** A stored capture of this task (route fields as captureRow makes them: 200, 10 ms, 0 bytes). */
const capture = (task: Task, instances: Instance[]) => captureRow("c1", task, instances);
/** An analysis that is not of the canonical type (what a corrupted row could hold). */
const raw = (analysis: unknown): ProfiledCapture => ({
  ...capture("unknown", []),
  analysis: analysis as Analysis,
});

const ROUTE_OK: Observation[] = [
  ["category", "route.status", "200"],
  ["numeric", "route.request_bytes", 0],
  ["numeric", "route.response_bytes", 0],
  ["numeric", "route.latency_ms", 10],
  ["category", "route.truncated", "false"],
  ["category", "route.parse_error", "false"],
];

const generation = (
  content: string,
  over: Partial<Extract<Prediction, { kind: "generation" }>> = {},
): Prediction => ({
  kind: "generation",
  message: { role: "assistant", content },
  finish_reason: "stop",
  usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 },
  streamed: true,
  ttft_ms: 12.5,
  total_ms: 40.25,
  ...over,
});

/** One stored capture per task, with exactly the observations it must give after the route's. */
const TASK_CASES: Array<[string, ProfiledCapture, Observation[]]> = [
  [
    "tabular classification",
    capture("tabular_classification", [
      {
        input: { features: { sepal: 5.1, colour: "red", fresh: true, weight: null } },
        prediction: { kind: "classification", label: "setosa", score: 0.9 },
      },
    ]),
    [
      ["value", "feature.sepal", 5.1],
      ["value", "feature.colour", "red"],
      ["value", "feature.fresh", true],
      ["value", "feature.weight", null],
      ["category", "prediction.kind", "classification"],
      ["category", "prediction.label", "setosa"],
      ["numeric", "prediction.score", 0.9],
    ],
  ],
  [
    "tabular regression, two rows",
    capture("tabular_regression", [
      { input: { features: { x: 1 } }, prediction: { kind: "regression", value: 3.25 } },
      { input: { features: { x: 2 } }, prediction: null },
    ]),
    [
      ["value", "feature.x", 1],
      ["category", "prediction.kind", "regression"],
      ["numeric", "prediction.value", 3.25],
      ["value", "feature.x", 2],
      ["category", "prediction.kind", "none"],
    ],
  ],
  [
    "image classification",
    capture("image_classification", [
      imageInstance(640, 480, { kind: "classification", label: "cat", score: null }),
    ]),
    [
      ["numeric", "input.image.width", 640],
      ["numeric", "input.image.height", 480],
      ["category", "input.image.format", "png"],
      ["category", "prediction.kind", "classification"],
      ["category", "prediction.label", "cat"],
      ["numeric", "prediction.score", null],
    ],
  ],
  [
    "object detection",
    capture("object_detection", [
      imageInstance(100, 200, {
        kind: "detection",
        boxes: [
          { label: "person", score: 0.75, xyxy: [10, 20, 50, 100] },
          // Inverted: both sides clamp to 0, so no aspect.
          { label: "dog", score: null, xyxy: [50, 50, 40, 40] },
        ],
      }),
    ]),
    [
      ["numeric", "input.image.width", 100],
      ["numeric", "input.image.height", 200],
      ["category", "input.image.format", "png"],
      ["category", "prediction.kind", "detection"],
      ["numeric", "prediction.instances", 2],
      ["category", "prediction.class", "person"],
      ["numeric", "prediction.score", 0.75],
      ["numeric", "prediction.box_area", 3200],
      ["numeric", "prediction.box_aspect", 0.5],
      ["category", "prediction.class", "dog"],
      ["numeric", "prediction.score", null],
      ["numeric", "prediction.box_area", 0],
      ["numeric", "prediction.box_aspect", null],
    ],
  ],
  [
    "instance segmentation: RLE, polygons, neither",
    capture("instance_segmentation", [
      imageInstance(4, 4, {
        kind: "segmentation",
        instances: [
          // Column-major 4×4: 2 zeros, 3 ones, 11 zeros.
          { label: "a", score: 0.5, xyxy: [0, 0, 2, 4], rle: { size: [4, 4], counts: [2, 3, 11] } },
          // A 4×3 rectangle (12) and a right triangle (2), either winding.
          {
            label: "b",
            score: 0.25,
            xyxy: [0, 0, 12, 12],
            polygons: [
              [0, 0, 4, 0, 4, 3, 0, 3],
              [10, 10, 10, 12, 12, 10],
            ],
          },
          { label: "c", score: 0.1, xyxy: [1, 1, 3, 2] },
        ],
      }),
    ]),
    [
      ["numeric", "input.image.width", 4],
      ["numeric", "input.image.height", 4],
      ["category", "input.image.format", "png"],
      ["category", "prediction.kind", "segmentation"],
      ["numeric", "prediction.instances", 3],
      ["category", "prediction.class", "a"],
      ["numeric", "prediction.score", 0.5],
      ["numeric", "prediction.box_area", 8],
      ["numeric", "prediction.box_aspect", 0.5],
      ["numeric", "prediction.mask_area", 3],
      ["category", "prediction.class", "b"],
      ["numeric", "prediction.score", 0.25],
      ["numeric", "prediction.box_area", 144],
      ["numeric", "prediction.box_aspect", 1],
      ["numeric", "prediction.mask_area", 14],
      ["category", "prediction.class", "c"],
      ["numeric", "prediction.score", 0.1],
      ["numeric", "prediction.box_area", 2],
      ["numeric", "prediction.box_aspect", 2],
      ["numeric", "prediction.mask_area", null],
    ],
  ],
  [
    "text classification: UTF-16 length, and a text the worker cut",
    capture("text_classification", [
      textInstance("h\u00e9llo \u{1F44B}", { kind: "classification", label: "greeting", score: 0.5 }),
      {
        input: Object.assign({ text: "a".repeat(1024) }, { text_chars: 20_000, text_uri: "s3://b/text-1" }),
        prediction: { kind: "classification", label: "long", score: 1 },
      },
    ]),
    [
      ["numeric", "input.text_length", 8],
      ["category", "prediction.kind", "classification"],
      ["category", "prediction.label", "greeting"],
      ["numeric", "prediction.score", 0.5],
      ["numeric", "input.text_length", 20_000],
      ["category", "prediction.kind", "classification"],
      ["category", "prediction.label", "long"],
      ["numeric", "prediction.score", 1],
    ],
  ],
  [
    "NER",
    capture("ner", [
      textInstance("Ada in London", {
        kind: "entities",
        entities: [
          { start: 0, end: 3, label: "PER", score: 0.9, text: "Ada" },
          { start: 7, end: 13, label: "LOC", score: null, text: "London" },
        ],
      }),
    ]),
    [
      ["numeric", "input.text_length", 13],
      ["category", "prediction.kind", "entities"],
      ["numeric", "prediction.entities", 2],
      ["category", "prediction.entity_type", "PER"],
      ["category", "prediction.entity_type", "LOC"],
    ],
  ],
  [
    "LLM chat: an answer and a refusal",
    capture("text_generation", [
      { input: { messages: [{ role: "user", content: "hi" }] }, prediction: generation("Hello!") },
      {
        input: { messages: [{ role: "user", content: "how do I ..." }] },
        prediction: generation("I’m sorry, but I can’t help with that.", {
          finish_reason: null,
          usage: { prompt_tokens: null, completion_tokens: 11, total_tokens: null },
          streamed: false,
          ttft_ms: null,
        }),
      },
    ]),
    [
      ["category", "prediction.kind", "generation"],
      ["numeric", "llm.prompt_tokens", 9],
      ["numeric", "llm.completion_tokens", 3],
      ["numeric", "llm.ttft_ms", 12.5],
      ["numeric", "llm.total_ms", 40.25],
      ["category", "llm.finish_reason", "stop"],
      ["category", "llm.refusal", "false"],
      ["numeric", "llm.completion_chars", 6],
      ["category", "prediction.kind", "generation"],
      ["numeric", "llm.prompt_tokens", null],
      ["numeric", "llm.completion_tokens", 11],
      ["numeric", "llm.ttft_ms", null],
      ["numeric", "llm.total_ms", 40.25],
      ["category", "llm.finish_reason", null],
      ["category", "llm.refusal", "true"],
      ["numeric", "llm.completion_chars", 38],
    ],
  ],
];

describe("observeCapture, per task", () => {
  it.each(TASK_CASES)("%s", (_name, c, expected) => {
    expect(observe(c)).toEqual([...ROUTE_OK, ...expected]);
  });

  it("a capture without an analysis gives the route fields only, from its row", () => {
    const c = captureRow("c2", "unknown", [], {
      analysis: null,
      statusCode: 503,
      durationMs: 12.5,
      parseError: "response: not JSON",
    });
    c.request.wireSizeBytes = 120;
    c.response.wireSizeBytes = 4096;
    c.response.truncated = true;
    expect(observe(c)).toEqual([
      ["category", "route.status", "503"],
      ["numeric", "route.request_bytes", 120],
      ["numeric", "route.response_bytes", 4096],
      ["numeric", "route.latency_ms", 12.5],
      ["category", "route.truncated", "true"],
      ["category", "route.parse_error", "true"],
    ]);
  });

  it('no response is status "0"; a request truncated alone is truncated', () => {
    const c = captureRow("c3", "unknown", [], { statusCode: 0 });
    c.request.truncated = true;
    const seen = observe(c);
    expect(seen).toContainEqual(["category", "route.status", "0"]);
    expect(seen).toContainEqual(["category", "route.truncated", "true"]);
  });
});

describe("refusal patterns", () => {
  const refusal = (content: string) =>
    observe(capture("text_generation", [{ input: {}, prediction: generation(content) }]));

  it.each([
    "I can't help with that request.",
    "i cannot assist with this",
    "I'm sorry, but I cannot do that.",
    "As an AI language model, I have no opinions.",
    "Sorry. I’m unable to help with that.",
    "I won't be able to help here.",
  ])("the defaults catch %j", (content) => {
    expect(refusal(content)).toContainEqual(["category", "llm.refusal", "true"]);
  });

  it.each([
    "Sure, here is the answer.",
    "I can help with that!",
    "Cannot parse the file: try again.",
    "Known as an AIrline",
  ])("the defaults pass %j", (content) => {
    expect(refusal(content)).toContainEqual(["category", "llm.refusal", "false"]);
  });

  it("the defaults fit MODELTAP_MONITOR_REFUSAL_PATTERNS: no commas, at most 200 characters each", () => {
    for (const p of DEFAULT_REFUSAL_PATTERNS) expect(p.includes(",") || p.length > 200, p).toBe(false);
  });

  it(`only the first ${REFUSAL_SCAN_CHARS} characters are tried`, () => {
    const late = `${"x".repeat(REFUSAL_SCAN_CHARS)} as an AI`;
    expect(refusal(late)).toContainEqual(["category", "llm.refusal", "false"]);
    expect(refusal(late.slice(20))).toContainEqual(["category", "llm.refusal", "true"]);
  });

  it("a global pattern gives the same answer every time (its lastIndex is reset)", () => {
    const c = capture("text_generation", [
      { input: {}, prediction: generation("no thanks") },
      { input: {}, prediction: generation("no thanks") },
    ]);
    const sink = new RecordingSink();
    observeCapture(c, sink, { refusalPatterns: [/no/g] });
    expect(sink.seen.filter(([, f]) => f === "llm.refusal").map(([, , v]) => v)).toEqual(["true", "true"]);
  });

  it("a missing completion is a missing refusal and length", () => {
    const p = { ...generation("x"), message: null } as unknown as Prediction;
    const seen = observe(capture("text_generation", [{ input: {}, prediction: p }]));
    expect(seen).toContainEqual(["category", "llm.refusal", null]);
    expect(seen).toContainEqual(["numeric", "llm.completion_chars", null]);
  });
});

const KIND_OF: Record<Method, string> = { value: "data", numeric: "numeric", category: "categorical" };

function tableRow(name: string) {
  const key = name.startsWith(FEATURE_PREFIX) ? `${FEATURE_PREFIX}<name>` : name;
  return MONITORED_FIELDS.find((f) => f.name === key);
}

/** Every observation is of a field in the table, of its kind, with a value of that kind. */
function expectWellFormed(seen: readonly Observation[]): void {
  for (const [method, name, value] of seen) {
    const row = tableRow(name);
    expect(row, `${name} is not in MONITORED_FIELDS`).toBeDefined();
    expect(KIND_OF[method], name).toBe(row!.kind);
    if (method === "numeric")
      expect(value === null || Number.isFinite(value), `${name}: ${String(value)}`).toBe(true);
    if (method === "category") expect(value === null || typeof value === "string", name).toBe(true);
  }
}

const HOSTILE_ANALYSES: unknown[] = [
  "x",
  42,
  [],
  { instances: "x" },
  { instances: { length: 1e9 } },
  {
    instances: [
      null,
      1,
      "s",
      [],
      { input: 5, prediction: 7 },
      {
        input: { features: [1, 2], image: "x", text: 5, text_chars: "many" },
        prediction: { kind: "__proto__" },
      },
      {
        input: { image: { width: "wide", height: NaN, format: 3 } },
        prediction: { kind: "detection", boxes: "x" },
      },
      {
        input: {},
        prediction: {
          kind: "detection",
          boxes: [
            null,
            { xyxy: ["a", 1, 2, 3] },
            { xyxy: [1, 2] },
            { xyxy: [0, 0, Infinity, 1], label: 7 },
            { xyxy: [0, 0, 1e308, 1e308] },
          ],
        },
      },
      {
        input: {},
        prediction: {
          kind: "segmentation",
          instances: [
            { rle: { counts: "abc" } },
            { rle: { counts: [1, -1] } },
            { rle: { counts: [1, NaN] } },
            { polygons: [[1, "x"]] },
            { polygons: "x" },
            { polygons: [[0, 0, 1e308, 0, 1e308, 1e308]] },
            { polygons: [[], [1], [1, 2, 3]] },
          ],
        },
      },
      { input: {}, prediction: { kind: "generation" } },
      { input: {}, prediction: { kind: "generation", usage: 5, message: { content: 7 }, ttft_ms: "1" } },
      { input: {}, prediction: { kind: "entities", entities: {} } },
      { input: {}, prediction: { kind: "entities", entities: [null, 5, { label: {} }] } },
      { input: {}, prediction: { kind: "classification", label: 5, score: "0.5" } },
      { input: {}, prediction: { kind: "regression", value: NaN } },
    ],
  },
];

describe("odd and hostile input", () => {
  it.each(HOSTILE_ANALYSES.map((a) => [JSON.stringify(a)?.slice(0, 60), a]))(
    "does not throw: %s",
    (_s, a) => {
      const seen = observe(raw(a));
      expect(seen.slice(0, ROUTE_OK.length)).toEqual(ROUTE_OK);
      expectWellFormed(seen);
    },
  );

  it("odd values are missing observations", () => {
    const seen = observe(raw(HOSTILE_ANALYSES.at(-1)));
    const of = (name: string) => seen.filter(([, n]) => n === name).map(([, , v]) => v);
    expect(of("prediction.kind")).toEqual([
      "invalid",
      "invalid",
      "detection",
      "detection",
      "segmentation",
      "generation",
      "generation",
      "entities",
      "entities",
      "classification",
      "regression",
    ]);
    expect(of("input.image.width")).toEqual([null]);
    expect(of("input.image.format")).toEqual([null]);
    expect(of("input.text_length")).toEqual([null]);
    expect(of("prediction.instances")).toEqual([null, 5, 7]);
    expect(of("prediction.box_area")).toEqual([
      null,
      null,
      null,
      null,
      null,
      null,
      null,
      null,
      null,
      null,
      null,
      null,
    ]);
    expect(of("prediction.mask_area")).toEqual([null, null, null, null, null, null, 0]);
    expect(of("prediction.entities")).toEqual([null, 3]);
    expect(of("prediction.entity_type")).toEqual([null, null, null]);
    expect(of("llm.prompt_tokens")).toEqual([null, null]);
    expect(of("llm.ttft_ms")).toEqual([null, null]);
    expect(of("prediction.label")).toEqual([null]);
    expect(of("prediction.score")).toEqual([
      null,
      null,
      null,
      null,
      null,
      null,
      null,
      null,
      null,
      null,
      null,
      null,
      null,
    ]);
    expect(of("prediction.value")).toEqual([null]);
  });

  it("odd route columns are missing, not exceptions", () => {
    const c = {
      ...capture("unknown", []),
      statusCode: NaN,
      durationMs: Infinity,
      parseError: null,
      request: { wireSizeBytes: "1", truncated: "yes" },
      response: { wireSizeBytes: -0, truncated: 1 },
    } as unknown as ProfiledCapture;
    expect(observe(c).slice(0, ROUTE_OK.length)).toEqual([
      ["category", "route.status", "0"],
      ["numeric", "route.request_bytes", null],
      ["numeric", "route.response_bytes", -0],
      ["numeric", "route.latency_ms", null],
      ["category", "route.truncated", "false"],
      ["category", "route.parse_error", "false"],
    ]);
  });

  it(`boxes and entities are observed one by one up to ${MAX_ITEM_OBSERVATIONS} per capture, counted in full`, () => {
    const box = { label: "b", score: 0.5, xyxy: [0, 0, 1, 1] as [number, number, number, number] };
    const boxes = Array.from({ length: 8_000 }, () => box);
    const entities = Array.from({ length: 5_000 }, () => ({
      start: 0,
      end: 1,
      label: "E",
      score: null,
      text: "x",
    }));
    const seen = observe(
      capture("unknown", [
        { input: {}, prediction: { kind: "detection", boxes } },
        { input: {}, prediction: { kind: "entities", entities } },
        { input: {}, prediction: { kind: "segmentation", instances: boxes } },
      ]),
    );
    const count = (name: string) => seen.filter(([, n]) => n === name).length;
    expect(count("prediction.class")).toBe(8_000);
    expect(count("prediction.entity_type")).toBe(MAX_ITEM_OBSERVATIONS - 8_000);
    expect(count("prediction.box_area")).toBe(8_000);
    expect(count("prediction.mask_area")).toBe(0);
    expect(seen.filter(([, n]) => n === "prediction.instances").map(([, , v]) => v)).toEqual([8_000, 8_000]);
    expect(seen).toContainEqual(["numeric", "prediction.entities", 5_000]);
  });

  it("feature names: __proto__ and constructor are plain names; empty and too long ones are skipped", () => {
    const long = "f".repeat(MAX_FEATURE_NAME_CHARS);
    const features = JSON.parse(
      JSON.stringify({ "": 1, [`${long}x`]: 2, [long]: 3 }).replace(
        "{",
        '{"__proto__": {"polluted": 1}, "constructor": "c", ',
      ),
    ) as Record<string, number>;
    const seen = observe(capture("tabular_regression", [{ input: { features }, prediction: null }]));
    expect(seen.filter(([m]) => m === "value")).toEqual([
      ["value", "feature.__proto__", { polluted: 1 }],
      ["value", "feature.constructor", "c"],
      ["value", `feature.${long}`, 3],
    ]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("random mutations of valid analyses never throw and stay well formed", () => {
    const rnd = mulberry32(13);
    const odd: unknown[] = [
      null,
      undefined,
      NaN,
      -Infinity,
      "",
      "x",
      0,
      -1,
      1e308,
      true,
      [],
      {},
      [1, 2, 3, 4],
      { kind: "detection" },
    ];
    const mutate = (v: unknown, depth: number): unknown => {
      if (rnd() < 0.15 || depth > 6) return odd[int(rnd, 0, odd.length - 1)];
      if (Array.isArray(v)) return v.map((x) => mutate(x, depth + 1));
      if (v !== null && typeof v === "object") {
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mutate(x, depth + 1)]));
      }
      return v;
    };
    for (let i = 0; i < 2_000; i++) {
      const [, c] = TASK_CASES[int(rnd, 0, TASK_CASES.length - 1)]!;
      const mutated = mutate(JSON.parse(JSON.stringify(c.analysis)), 0);
      expectWellFormed(observe(raw(mutated)));
    }
  });
});

describe("MONITORED_FIELDS", () => {
  const emitted = new Set(
    [...TASK_CASES.map(([, c]) => c), raw(HOSTILE_ANALYSES.at(-1))]
      .flatMap((c) => observe(c))
      .map(([, n]) => n),
  );

  it("every field the task fixtures emit is in the table, with its kind", () => {
    for (const [, c] of TASK_CASES) expectWellFormed(observe(c));
  });

  it("every row of the table is emitted by some fixture", () => {
    for (const f of MONITORED_FIELDS) {
      const hit =
        f.name === `${FEATURE_PREFIX}<name>`
          ? [...emitted].some((n) => n.startsWith(FEATURE_PREFIX))
          : emitted.has(f.name);
      expect(hit, f.name).toBe(true);
    }
  });

  it("a name appears once per unit of observation, and rows of one name agree on the kind", () => {
    const keys = MONITORED_FIELDS.map((f) => `${f.name}/${f.per}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const f of MONITORED_FIELDS) {
      expect(
        MONITORED_FIELDS.filter((g) => g.name === f.name).every((g) => g.kind === f.kind),
        f.name,
      ).toBe(true);
    }
  });

  it('docs/monitoring.md "What is monitored" lists exactly these fields', () => {
    const doc = fs.readFileSync(path.join(PACKAGE_ROOT, "docs/monitoring.md"), "utf8");
    const section = /^## What is monitored\n([\s\S]*?)^## /m.exec(doc)?.[1];
    expect(section, "the section exists").toBeDefined();
    const rows = section!.split("\n").filter((l) => /^\| `/.test(l));
    const documented = rows.map((l) => /^\| `([^`]+)`/.exec(l)![1]!);
    expect([...new Set(documented)].sort()).toEqual([...new Set(MONITORED_FIELDS.map((f) => f.name))].sort());
    for (const f of MONITORED_FIELDS) {
      expect(
        rows.some((l) => l.startsWith(`| \`${f.name}\` | ${f.kind} | ${f.per} |`)),
        `${f.name} per ${f.per}`,
      ).toBe(true);
    }
  });
});
