/** src/adapters/nats/streams.ts: subject tokens from model names. */
import { describe, expect, it } from "vitest";
import { subjectToken } from "../../src/adapters/nats/streams.js";

describe("subjectToken", () => {
  it.each([
    ["iris", "iris"],
    ["resnet-50_v2", "resnet-50_v2"],
    ["a.b", "a_b"],
    ["a*b>c d", "a_b_c_d"],
    ["", "_"],
    ["..", "_"],
    ["é", "_"],
  ])("%j -> %j", (name, token) => {
    expect(subjectToken(name)).toBe(token);
  });

  it("keeps at most 128 characters, so a subject stays short", () => {
    expect(subjectToken("m".repeat(300))).toBe("m".repeat(128));
  });
});
