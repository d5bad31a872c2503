/** src/core/capture/redact-headers.ts: redactHeaders with the default secret list and with extra names. */
import { describe, expect, it } from "vitest";
import { DEFAULT_SECRET_HEADERS, REDACTED, redactHeaders } from "../../src/core/capture/redact-headers.js";
import type { HeaderList } from "../../src/core/record.js";

const secret: ReadonlySet<string> = new Set(DEFAULT_SECRET_HEADERS);

describe("redactHeaders", () => {
  it("replaces every default secret header, whatever its case", () => {
    const input: HeaderList = [
      { name: "Authorization", value: "Bearer abc" },
      { name: "PROXY-AUTHORIZATION", value: "Basic xyz" },
      { name: "cookie", value: "session=1" },
      { name: "Set-Cookie", value: "session=2; HttpOnly" },
      { name: "X-Api-Key", value: "k-123" },
    ];
    const out = redactHeaders(input, secret);
    expect(out).toEqual([
      { name: "Authorization", value: REDACTED },
      { name: "PROXY-AUTHORIZATION", value: REDACTED },
      { name: "cookie", value: REDACTED },
      { name: "Set-Cookie", value: REDACTED },
      { name: "X-Api-Key", value: REDACTED },
    ]);
    expect(REDACTED).toBe("[REDACTED]");
  });

  it("replaces the vendor API-key headers: Azure OpenAI, Google, x-auth-token, AWS session tokens", () => {
    const names = ["api-key", "X-Goog-Api-Key", "x-auth-token", "X-Amz-Security-Token"];
    const out = redactHeaders(
      names.map((name) => ({ name, value: "s3cr3t" })),
      secret,
    );
    expect(out).toEqual(names.map((name) => ({ name, value: REDACTED })));
  });

  it("leaves other headers untouched and keeps order and duplicates", () => {
    const input: HeaderList = [
      { name: "content-type", value: "application/json" },
      { name: "authorization", value: "secret" },
      { name: "x-request-id", value: "abc" },
      { name: "x-api-key-hint", value: "not a secret" },
      { name: "cookie", value: "a=1" },
      { name: "cookie", value: "b=2" },
    ];
    expect(redactHeaders(input, secret)).toEqual([
      { name: "content-type", value: "application/json" },
      { name: "authorization", value: REDACTED },
      { name: "x-request-id", value: "abc" },
      { name: "x-api-key-hint", value: "not a secret" },
      { name: "cookie", value: REDACTED },
      { name: "cookie", value: REDACTED },
    ]);
  });

  it("does not mutate its input", () => {
    const input: HeaderList = [
      { name: "Authorization", value: "Bearer abc" },
      { name: "accept", value: "*/*" },
    ];
    const snapshot = structuredClone(input);
    const out = redactHeaders(input, secret);
    expect(input).toEqual(snapshot);
    expect(out).not.toBe(input);
    expect(out[0]).not.toBe(input[0]);
  });

  it("uses the set it is given (extra secret names)", () => {
    const extra = new Set([...DEFAULT_SECRET_HEADERS, "x-token"]);
    const out = redactHeaders([{ name: "X-Token", value: "t" }], extra);
    expect(out).toEqual([{ name: "X-Token", value: REDACTED }]);
    expect(redactHeaders([{ name: "X-Token", value: "t" }], secret)).toEqual([
      { name: "X-Token", value: "t" },
    ]);
  });
});
