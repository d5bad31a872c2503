/** src/core/capture/redact-query.ts: secret query parameters redacted from the captured path, and Exchange applying it. */
import { describe, expect, it } from "vitest";
import { Exchange } from "../../src/core/capture/exchange.js";
import { DEFAULT_SECRET_HEADERS } from "../../src/core/capture/redact-headers.js";
import {
  DEFAULT_SECRET_QUERY_PARAMS,
  lenientDecode,
  redactQuery,
} from "../../src/core/capture/redact-query.js";
import { compileRouteConfig } from "../../src/core/route-config.js";
import { emptyCatalog, validConfig } from "../support/routes.js";

const secret: ReadonlySet<string> = new Set(DEFAULT_SECRET_QUERY_PARAMS);

describe("redactQuery", () => {
  it("redacts every default parameter, whatever its case, keeping the rest and the order", () => {
    expect(
      redactQuery(
        "/v1/x?api_key=A&Key=B&TOKEN=C&access_token=D&sig=E&Signature=F&model=gpt&key=G#frag",
        secret,
      ),
    ).toBe(
      "/v1/x?api_key=[REDACTED]&Key=[REDACTED]&TOKEN=[REDACTED]&access_token=[REDACTED]&sig=[REDACTED]&Signature=[REDACTED]&model=gpt&key=[REDACTED]#frag",
    );
  });

  it("matches percent-encoded names, and survives bad percent-encoding", () => {
    expect(redactQuery("/x?api%5Fkey=S&api%5fKEY=S", secret)).toBe(
      "/x?api%5Fkey=[REDACTED]&api%5fKEY=[REDACTED]",
    );
    expect(redactQuery("/x?%zz=1&token=%E0%A4%A&key", secret)).toBe(
      "/x?%zz=1&token=[REDACTED]&key=[REDACTED]",
    );
    expect(redactQuery("/x?a%ZZb=1&to%6Ben=S", secret)).toBe("/x?a%ZZb=1&to%6Ben=[REDACTED]");
  });

  it("leaves a path without a query, or without secret parameters, as it was", () => {
    expect(redactQuery("/v2/models/iris/infer", secret)).toBe("/v2/models/iris/infer");
    expect(redactQuery("/x?keys=1&monkey=2&tokens=3", secret)).toBe("/x?keys=1&monkey=2&tokens=3");
    expect(redactQuery("/x?api_key=S", new Set())).toBe("/x?api_key=S");
  });

  it("decodes leniently", () => {
    expect(lenientDecode("a+b%20c")).toBe("a b c");
    expect(lenientDecode("%E2%82%AC%zz%FF")).toBe("€%zz%FF");
  });
});

describe("Exchange", () => {
  const config = validConfig(compileRouteConfig(emptyCatalog(), { model: "m", version: "1" }));

  function record(secretQueryParams?: ReadonlySet<string>) {
    const ex = new Exchange(
      {
        captureId: "c",
        requestId: "r",
        sampledBy: "request_id",
        config,
        mode: "normal",
        route: "r",
        cluster: "c",
        headers: [
          { name: ":path", value: "/v1/chat?api_key=S3CR3T&x=1" },
          { name: "referer", value: "https://app.example/?token=S3CR3T" },
          { name: "x-envoy-original-path", value: "/orig?sig=S3CR3T" },
          { name: "x-goog-api-key", value: "S3CR3T" },
        ],
        nowUs: 1,
      },
      { secretHeaders: new Set(DEFAULT_SECRET_HEADERS), ...(secretQueryParams ? { secretQueryParams } : {}) },
    );
    ex.responseHeaders([{ name: ":status", value: "200" }], true, 2);
    return ex.toRecord(3);
  }

  it("stores the path, Referer and x-envoy-original-path with secret query values redacted", () => {
    const r = record();
    expect(r.path).toBe("/v1/chat?api_key=[REDACTED]&x=1");
    expect(JSON.stringify(r)).not.toContain("S3CR3T");
  });

  it("uses the configured list instead of the default", () => {
    expect(record(new Set(["x"])).path).toBe("/v1/chat?api_key=S3CR3T&x=[REDACTED]");
  });
});
