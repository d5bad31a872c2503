/** src/core/ground-truth/items.ts: the POST /v1/ground-truth body: items, ids, sources, labeled_at timestamps and batches. */
import { describe, expect, it } from "vitest";
import type { Prediction } from "../../src/core/canonical.js";
import {
  MAX_GROUND_TRUTH_ITEMS,
  parseGroundTruthBody,
  type GroundTruthItem,
  type ItemResult,
} from "../../src/core/ground-truth/items.js";

const box = (xyxy: unknown, extra: Record<string, unknown> = {}) => ({ label: "cat", xyxy, ...extra });
const KNOWN_KINDS = "classification, regression, detection, segmentation, entities, generation";

describe("parseGroundTruthBody", () => {
  const now = new Date("2026-05-01T12:00:00Z");
  const cat = { kind: "classification", label: "cat" };
  const catLabel: Prediction = { kind: "classification", label: "cat", score: null };

  function items(raw: unknown): ItemResult[] {
    const result = parseGroundTruthBody(raw, now);
    if (!result.ok) throw new Error(`expected items, got ${result.error}`);
    return result.items;
  }
  function one(raw: Record<string, unknown>): GroundTruthItem {
    const [result] = items(raw);
    if (!result?.ok) throw new Error(`expected a valid item, got ${JSON.stringify(result)}`);
    return result.item;
  }
  function itemProblems(raw: Record<string, unknown>): string[] {
    const [result] = items(raw);
    if (!result || result.ok) throw new Error(`expected problems, got ${JSON.stringify(result)}`);
    return result.problems;
  }
  function bodyError(raw: unknown): string {
    const result = parseGroundTruthBody(raw, now);
    if (result.ok) throw new Error(`expected a body error, got ${JSON.stringify(result)}`);
    return result.error;
  }

  it("parses one item with defaults: source api, labeled now", () => {
    const result = parseGroundTruthBody({ capture_id: "abc-1", label: cat }, now);
    expect(result).toEqual({
      ok: true,
      batch: false,
      items: [
        {
          ok: true,
          item: {
            captureId: "abc-1",
            requestId: "",
            instance: 0,
            source: "api",
            label: catLabel,
            labeledAt: now,
            requireCapture: false,
          },
        },
      ],
    });
  });

  it("takes require_capture as a boolean only", () => {
    expect(one({ capture_id: "a", label: cat, require_capture: true }).requireCapture).toBe(true);
    const bad = parseGroundTruthBody({ capture_id: "a", label: cat, require_capture: "yes" }, now);
    expect(bad.ok && bad.items[0]).toMatchObject({
      ok: false,
      problems: ['require_capture: must be true or false, got "yes"'],
    });
  });

  it("takes request_id as the request's id (every hop of it), and keeps source and labeled_at", () => {
    expect(
      one({
        request_id: "5b0e:42.x_Y/any chars ü",
        label: cat,
        source: "label-studio",
        labeled_at: "2026-04-30T08:15:00.250+02:00",
      }),
    ).toEqual({
      captureId: "",
      requestId: "5b0e:42.x_Y/any chars ü",
      instance: 0,
      source: "label-studio",
      label: catLabel,
      labeledAt: new Date("2026-04-30T06:15:00.250Z"),
      requireCapture: false,
    });
  });

  it("does not share the caller's clock object between items", () => {
    const labeledAt = one({ capture_id: "a", label: cat }).labeledAt;
    expect(labeledAt).toEqual(now);
    expect(labeledAt).not.toBe(now);
  });

  it.each<[string, string]>([
    ["2026-05-01T12:00:00Z", "2026-05-01T12:00:00.000Z"],
    ["2026-05-01t12:00:00z", "2026-05-01T12:00:00.000Z"],
    ["2026-05-01T12:00:00.123456789Z", "2026-05-01T12:00:00.123Z"],
    ["2026-05-01T00:30:00-05:30", "2026-05-01T06:00:00.000Z"],
    ["2024-02-29T23:59:59+00:00", "2024-02-29T23:59:59.000Z"],
    ["2000-02-29T00:00:00Z", "2000-02-29T00:00:00.000Z"], // divisible by 400: a leap year
    ["0050-01-01T00:00:00Z", "0050-01-01T00:00:00.000Z"],
  ])("accepts labeled_at %s", (labeledAt, iso) => {
    expect(one({ capture_id: "a", label: cat, labeled_at: labeledAt }).labeledAt.toISOString()).toBe(iso);
  });

  it.each<[unknown]>([
    ["yesterday"],
    ["2026-05-01"],
    ["2026-05-01T12:00:00"], // no offset
    ["2026-05-01 12:00:00Z"],
    ["2026-02-29T00:00:00Z"], // not a leap year
    ["2100-02-29T00:00:00Z"], // divisible by 100, not by 400: not a leap year
    ["2026-04-31T00:00:00Z"],
    ["2026-13-01T00:00:00Z"],
    ["2026-05-01T24:00:00Z"],
    ["2026-05-01T12:00:60Z"],
    ["2026-05-01T12:00:00+24:00"],
    [1714564800000],
  ])("refuses labeled_at %j", (labeledAt) => {
    expect(itemProblems({ capture_id: "a", label: cat, labeled_at: labeledAt })).toEqual([
      `labeled_at: must be an RFC 3339 timestamp such as "2026-05-01T12:00:00Z", got ${JSON.stringify(labeledAt)}`,
    ]);
  });

  const ID_RULE = "must be 1 to 200 characters of [A-Za-z0-9._:-]";
  it.each<[string, unknown, string]>([
    ["empty", "", `capture_id: ${ID_RULE}, got ""`],
    ["201 characters", "a".repeat(201), `capture_id: ${ID_RULE}, got "${"a".repeat(36)}...`],
    ["a slash", "a/b", `capture_id: ${ID_RULE}, got "a/b"`],
    ["a space", "a b", `capture_id: ${ID_RULE}, got "a b"`],
    ["a number", 42, `capture_id: ${ID_RULE}, got 42`],
    ["null", null, `capture_id: ${ID_RULE}, got null`],
  ])("refuses a capture_id with %s", (_, id, expected) => {
    expect(itemProblems({ capture_id: id, label: cat })).toEqual([expected]);
  });

  it("accepts a 200-character id", () => {
    expect(one({ capture_id: "a".repeat(200), label: cat }).captureId).toHaveLength(200);
  });

  it("takes any printable request_id up to 1024 characters, and refuses control characters", () => {
    expect(one({ request_id: "../x y/ü", label: cat }).requestId).toBe("../x y/ü");
    const rule = "request_id: must be 1 to 1024 characters with no control characters";
    expect(itemProblems({ request_id: "a\nb", label: cat })).toEqual([`${rule}, got "a\\nb"`]);
    expect(itemProblems({ request_id: "", label: cat })).toEqual([`${rule}, got ""`]);
    expect(itemProblems({ request_id: "x".repeat(1025), label: cat })[0]).toMatch(
      /^request_id: must be 1 to 1024/,
    );
  });

  it.each<[string, Record<string, unknown>, string[]]>([
    [
      "both ids",
      { capture_id: "a", request_id: "a", label: cat },
      ["request_id: give capture_id (one capture) or request_id (every hop of a request), not both"],
    ],
    ["no id", { label: cat }, ["capture_id: required (or request_id, for every capture of one request)"]],
    [
      "no label",
      { capture_id: "a" },
      ['label: required, a canonical label such as {"kind": "classification", "label": "cat"}'],
    ],
    [
      "a bad label",
      { capture_id: "a", label: { kind: "regression" } },
      ["label.value: must be a finite number"],
    ],
    [
      "an upper-case source",
      { capture_id: "a", label: cat, source: "Human" },
      ['source: must be 1 to 64 characters of [a-z0-9_.-], got "Human"'],
    ],
    [
      "an empty source",
      { capture_id: "a", label: cat, source: "" },
      ['source: must be 1 to 64 characters of [a-z0-9_.-], got ""'],
    ],
    [
      "a 65-character source",
      { capture_id: "a", label: cat, source: "s".repeat(65) },
      [`source: must be 1 to 64 characters of [a-z0-9_.-], got "${"s".repeat(36)}...`],
    ],
    [
      "an unknown key",
      { capture_id: "a", label: cat, labelled_at: "2026-05-01T12:00:00Z" },
      [
        "labelled_at: unknown key (known: capture_id, request_id, instance, label, source, labeled_at, require_capture)",
      ],
    ],
    [
      "everything wrong at once",
      { source: 1, label: "cat", labeled_at: "now" },
      [
        "capture_id: required (or request_id, for every capture of one request)",
        `label: must be an object with a kind (one of ${KNOWN_KINDS})`,
        "source: must be 1 to 64 characters of [a-z0-9_.-], got 1",
        'labeled_at: must be an RFC 3339 timestamp such as "2026-05-01T12:00:00Z", got "now"',
      ],
    ],
  ])("refuses an item with %s", (_, raw, expected) => {
    expect(itemProblems(raw)).toEqual(expected);
  });

  it("accepts a 64-character source", () => {
    expect(one({ capture_id: "a", label: cat, source: "s".repeat(64) }).source).toBe("s".repeat(64));
  });

  it("judges each item of a batch on its own, with its index and path", () => {
    const result = parseGroundTruthBody(
      {
        items: [
          { capture_id: "a", label: cat },
          { capture_id: "b", label: { kind: "detection", boxes: [box([3, 0, 1, 1])] } },
          "c",
          { request_id: "d", label: cat, source: "human" },
        ],
      },
      now,
    );
    expect(result).toEqual({
      ok: true,
      batch: true,
      items: [
        {
          ok: true,
          item: {
            captureId: "a",
            requestId: "",
            instance: 0,
            source: "api",
            label: catLabel,
            labeledAt: now,
            requireCapture: false,
          },
        },
        {
          ok: false,
          index: 1,
          problems: ["items[1].label.boxes[0].xyxy: must be 4 finite numbers with x1<=x2, y1<=y2"],
        },
        { ok: false, index: 2, problems: ["items[2]: must be an object {capture_id, label, ...}"] },
        {
          ok: true,
          item: {
            captureId: "",
            requestId: "d",
            instance: 0,
            source: "human",
            label: catLabel,
            labeledAt: now,
            requireCapture: false,
          },
        },
      ],
    });
  });

  it(`takes ${MAX_GROUND_TRUTH_ITEMS} items and refuses one more`, () => {
    const batch = (n: number) => ({
      items: Array.from({ length: n }, (_, i) => ({ capture_id: `c${i}`, label: cat })),
    });
    const full = items(batch(MAX_GROUND_TRUTH_ITEMS));
    expect(full).toHaveLength(1000);
    expect(full.every((r) => r.ok)).toBe(true);
    expect(bodyError(batch(MAX_GROUND_TRUTH_ITEMS + 1))).toBe(
      "items: at most 1000 items per request, got 1001",
    );
  });

  it.each<[string, unknown, string]>([
    ["null", null, 'body: must be a JSON object, one item or {"items": [...]}, got null'],
    [
      "an array",
      [{ capture_id: "a", label: cat }],
      'body: must be a JSON object, one item or {"items": [...]}, got [{"capture_id":"a","label":{"kind":"c...',
    ],
    ["a string", "cat", 'body: must be a JSON object, one item or {"items": [...]}, got "cat"'],
    ["a number", 3, 'body: must be a JSON object, one item or {"items": [...]}, got 3'],
    ["items not a list", { items: { capture_id: "a" } }, "items: must be a list of items"],
    ["no items", { items: [] }, "items: must hold at least one item"],
    [
      "items beside item keys",
      { items: [], capture_id: "a" },
      'body: a batch has only "items", got also capture_id',
    ],
  ])("refuses a body that is %s", (_, raw, expected) => {
    expect(bodyError(raw)).toBe(expected);
  });
});
