/**
 * src/core/monitoring/windows.ts and src/core/monitor-settings.ts: window lengths and names,
 * epoch-aligned tumbling windows that close `grace` after their end, and command-line times.
 */
import { describe, expect, it } from "vitest";
import {
  MAX_WINDOW_MS,
  MINUTE_MS,
  parseWindow,
  unitMs,
  windowName,
} from "../../src/core/monitor-settings.js";
import {
  closedBefore,
  expiryCutoff,
  lastClosedEnd,
  parseTime,
  windowEndOf,
} from "../../src/core/monitoring/windows.js";

const M = MINUTE_MS;
const H = 60 * M;
const D = 24 * H;
const t = (iso: string) => new Date(iso);
const iso = (d: Date | undefined) => d?.toISOString();

describe("parseWindow", () => {
  it.each([
    ["1m", M],
    ["5m", 5 * M],
    ["90m", 90 * M],
    ["1h", H],
    ["24h", D],
    ["1d", D],
    ["7d", 7 * D],
    ["31d", 31 * D],
    ["744h", 31 * D],
    ["44640m", 31 * D],
    [" 5m ", 5 * M],
  ])("%j is %i ms", (text, ms) => {
    expect(parseWindow(text)).toBe(ms);
  });

  it.each([
    "0m",
    "0h",
    "1s",
    "500ms",
    "32d",
    "745h",
    "44641m",
    "1.5h",
    "5 m",
    "5M",
    "-5m",
    "m",
    "5",
    "",
    "05m",
    "1w",
    "1e3m",
    "1000000m",
  ])("%j is refused", (text) => {
    expect(parseWindow(text)).toBeUndefined();
  });

  it("the longest window is 31 days", () => {
    expect(MAX_WINDOW_MS).toBe(31 * D);
  });
});

describe("windowName", () => {
  it.each([
    [M, "1m"],
    [5 * M, "5m"],
    [90 * M, "90m"],
    [H, "1h"],
    [36 * H, "36h"],
    [D, "1d"],
    [1440 * M, "1d"],
    [31 * D, "31d"],
  ])("%i ms is %s", (ms, name) => {
    expect(windowName(ms)).toBe(name);
  });

  it.each(["1m", "5m", "59m", "90m", "1h", "25h", "1d", "31d", "120m", "48h"])(
    "round trip of %s names the same length",
    (text) => {
      const ms = parseWindow(text)!;
      expect(parseWindow(windowName(ms))).toBe(ms);
    },
  );

  it.each([30_000, 1, 90_500])("%i ms is not whole minutes: a RangeError", (ms) => {
    expect(() => windowName(ms)).toThrow(RangeError);
  });
});

describe("unitMs", () => {
  it("knows m, h and d only, as own keys", () => {
    expect([unitMs("m"), unitMs("h"), unitMs("d")]).toEqual([M, H, D]);
    expect(unitMs("s")).toBeUndefined();
    expect(unitMs("constructor")).toBeUndefined();
  });
});

describe("expiryCutoff", () => {
  it.each([
    // `days` back, then down to UTC midnight: a day's windows expire together
    ["2026-05-10T15:42:00.000Z", 1, "2026-05-09T00:00:00.000Z"],
    ["2026-05-10T00:00:00.000Z", 1, "2026-05-09T00:00:00.000Z"],
    ["2026-05-09T23:59:59.999Z", 400, "2025-04-04T00:00:00.000Z"],
  ])("at %s keeping %i days, rows before %s go", (now, days, cutoff) => {
    expect(iso(expiryCutoff(t(now), days))).toBe(cutoff);
  });
});

describe("lastClosedEnd", () => {
  const grace = 30_000;
  it.each([
    // A 5m window ending at 12:05 closes at 12:05:30
    ["2026-05-01T12:05:29.999Z", 5 * M, "2026-05-01T12:00:00.000Z"],
    ["2026-05-01T12:05:30.000Z", 5 * M, "2026-05-01T12:05:00.000Z"],
    ["2026-05-01T12:09:59.999Z", 5 * M, "2026-05-01T12:05:00.000Z"],
    // The grace straddles the hour: at 13:00:10 the window ending at 13:00 is still open
    ["2026-05-01T13:00:10.000Z", H, "2026-05-01T12:00:00.000Z"],
    ["2026-05-01T13:00:30.000Z", H, "2026-05-01T13:00:00.000Z"],
    // Days are aligned to UTC midnight, and the grace straddles it
    ["2026-05-02T00:00:29.000Z", D, "2026-05-01T00:00:00.000Z"],
    ["2026-05-02T00:00:31.000Z", D, "2026-05-02T00:00:00.000Z"],
  ])("at %s the last closed %i ms window ends at %s", (now, windowMs, end) => {
    expect(iso(lastClosedEnd(t(now), windowMs, grace))).toBe(end);
  });

  it("without grace a window is closed at its end", () => {
    expect(iso(lastClosedEnd(t("2026-05-01T12:05:00.000Z"), 5 * M, 0))).toBe("2026-05-01T12:05:00.000Z");
  });

  it("a grace longer than the window holds back more than one window", () => {
    expect(iso(lastClosedEnd(t("2026-05-01T12:05:30.000Z"), M, 2.5 * M))).toBe("2026-05-01T12:03:00.000Z");
  });
});

describe("windowEndOf", () => {
  it.each([
    ["2026-05-01T12:00:00.000Z", 5 * M, "2026-05-01T12:05:00.000Z"],
    ["2026-05-01T12:04:00.000Z", 5 * M, "2026-05-01T12:05:00.000Z"],
    ["2026-05-01T12:05:00.000Z", 5 * M, "2026-05-01T12:10:00.000Z"],
    ["2026-05-01T12:59:00.000Z", H, "2026-05-01T13:00:00.000Z"],
    ["2026-05-01T23:59:00.000Z", D, "2026-05-02T00:00:00.000Z"],
    ["2026-05-01T12:07:00.000Z", M, "2026-05-01T12:08:00.000Z"],
  ])("the minute %s is in the %i ms window ending %s", (minute, windowMs, end) => {
    expect(iso(windowEndOf(t(minute), windowMs))).toBe(end);
  });

  it("every minute of a window is in it, and the window closes after its last minute does", () => {
    const grace = 45_000;
    for (let i = 0; i < 5; i++) {
      const minute = new Date(Date.UTC(2026, 4, 1, 12, 5 + i));
      const end = windowEndOf(minute, 5 * M);
      expect(iso(end)).toBe("2026-05-01T12:10:00.000Z");
      // When the window is first closed, its minutes are all closed too
      const closesAt = new Date(end.getTime() + grace);
      expect(lastClosedEnd(closesAt, 5 * M, grace).getTime()).toBe(end.getTime());
      expect(closedBefore(closesAt, grace).getTime()).toBeGreaterThan(minute.getTime());
      const justBefore = new Date(closesAt.getTime() - 1);
      expect(lastClosedEnd(justBefore, 5 * M, grace).getTime()).toBeLessThan(end.getTime());
    }
  });
});

describe("closedBefore", () => {
  it.each([
    ["2026-05-01T12:05:29.999Z", 30_000, "2026-05-01T12:04:00.000Z"],
    ["2026-05-01T12:05:30.000Z", 30_000, "2026-05-01T12:05:00.000Z"],
    ["2026-05-01T12:05:00.000Z", 0, "2026-05-01T12:05:00.000Z"],
    ["2026-05-01T00:00:10.000Z", 30_000, "2026-04-30T23:59:00.000Z"],
  ])("at %s with grace %i ms, minutes before %s are closed", (now, grace, before) => {
    expect(iso(closedBefore(t(now), grace))).toBe(before);
  });
});

describe("parseTime", () => {
  const now = t("2026-05-01T12:00:00.000Z");
  it.each([
    ["now", "2026-05-01T12:00:00.000Z"],
    ["-1h", "2026-05-01T11:00:00.000Z"],
    ["-90m", "2026-05-01T10:30:00.000Z"],
    ["-2d", "2026-04-29T12:00:00.000Z"],
    ["-0m", "2026-05-01T12:00:00.000Z"],
    ["2026-04-30T08:15:00Z", "2026-04-30T08:15:00.000Z"],
    ["2026-04-30T08:15:00+02:00", "2026-04-30T06:15:00.000Z"],
    ["2026-04-30", "2026-04-30T00:00:00.000Z"],
  ])("%s is %s", (text, expected) => {
    expect(iso(parseTime(text, now))).toBe(expected);
  });

  it.each([
    "",
    "Now",
    "yesterday",
    "-1s",
    "-1w",
    "-h",
    "1h",
    "+1h",
    "- 1h",
    "May 1, 2026",
    "2026-13-45",
    "2026-05-01Tgarbage",
    "1714564800",
  ])("%j is not a time", (text) => {
    expect(parseTime(text, now)).toBeUndefined();
  });
});
