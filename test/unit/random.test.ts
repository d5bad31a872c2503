/**
 * src/core/random.ts: mulberry32 gives the same numbers as the copies it replaced (pinned below,
 * computed with them), in [0, 1); draws' uniforms are in (0, 1] and its normals are standard.
 */
import { describe, expect, it } from "vitest";
import { draws, mulberry32 } from "../../src/core/random.js";

const take = (next: () => number, n: number) => Array.from({ length: n }, () => next());

describe("mulberry32", () => {
  it("gives the pinned first outputs for seed 42", () => {
    expect(take(mulberry32(42), 5)).toEqual([
      0.6011037519201636, 0.44829055899754167, 0.8524657934904099, 0.6697340414393693, 0.17481389874592423,
    ]);
  });

  it("gives the pinned first outputs for seed 0 and for the baseline's seed 0x9e3779b9", () => {
    expect(take(mulberry32(0), 3)).toEqual([0.26642920868471265, 0.0003297457005828619, 0.2232720274478197]);
    expect(take(mulberry32(0x9e3779b9), 3)).toEqual([
      0.3588899802416563, 0.10590326134115458, 0.675290479324758,
    ]);
  });

  it("takes the seed modulo 2^32: -1 and 2^32 - 1 are one seed, as are 5 and 2^32 + 5", () => {
    expect(take(mulberry32(-1), 3)).toEqual([0.8964226141106337, 0.189478256739676, 0.7156526781618595]);
    expect(take(mulberry32(0xffffffff), 3)).toEqual(take(mulberry32(-1), 3));
    expect(take(mulberry32(2 ** 32 + 5), 10)).toEqual(take(mulberry32(5), 10));
  });

  it("is deterministic per seed and draws 32-bit steps in [0, 1)", () => {
    expect(take(mulberry32(7), 100)).toEqual(take(mulberry32(7), 100));
    for (const seed of [0, 1, 42, 0x9e3779b9, 0xffffffff]) {
      const xs = take(mulberry32(seed), 20_000);
      expect(xs.filter((x) => !(x >= 0 && x < 1 && Number.isInteger(x * 2 ** 32)))).toEqual([]);
    }
  });
});

describe("draws", () => {
  it("gives the pinned first uniforms and normals for seed 42", () => {
    expect(take(draws(42).uniform, 3)).toEqual([0.6011037520130389, 0.4482905591259965, 0.8524657935247604]);
    expect(take(draws(42).normal, 3)).toEqual([
      -0.9561622294989677, -0.27302610460914645, -1.841627183988211,
    ]);
  });

  it("draws uniforms in (0, 1] from mulberry32's integers, and normals with mean 0 and sd 1", () => {
    const us = take(draws(3).uniform, 10_000);
    expect(us).toEqual(take(mulberry32(3), 10_000).map((x) => (x * 2 ** 32 + 1) / (2 ** 32 + 1)));
    expect(us.filter((u) => !(u > 0 && u <= 1))).toEqual([]);
    const xs = take(draws(11).normal, 20_000);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((s, x) => s + (x - mean) ** 2, 0) / xs.length);
    expect(Math.abs(mean)).toBeLessThan(0.05);
    expect(Math.abs(sd - 1)).toBeLessThan(0.05);
  });
});
