/** src/api/auth.ts: shared-secret checks of `modeltap api`: the Bearer header and the signed media URLs. */
import { describe, expect, it } from "vitest";
import { MEDIA_PATH, bearerOk, mediaSignatureOk, signedMediaUrl } from "../../src/api/auth.js";

const SECRET = "s3cret-0123456789abcdef";

describe("bearerOk", () => {
  const table: Array<[string, string | undefined, string, boolean]> = [
    ["the exact secret", `Bearer ${SECRET}`, SECRET, true],
    ["a lower-case scheme", `bearer ${SECRET}`, SECRET, true],
    ["an upper-case scheme", `BEARER ${SECRET}`, SECRET, true],
    ["surrounding whitespace", `  Bearer ${SECRET}  `, SECRET, true],
    ["a wrong secret", "Bearer not-the-secret-at-all", SECRET, false],
    ["a prefix of the secret", `Bearer ${SECRET.slice(0, -1)}`, SECRET, false],
    ["the secret with a suffix", `Bearer ${SECRET}x`, SECRET, false],
    ["another scheme", `Token ${SECRET}`, SECRET, false],
    ["the bare secret", SECRET, SECRET, false],
    ["the scheme alone", "Bearer ", SECRET, false],
    ["no header", undefined, SECRET, false],
    ["an empty header", "", SECRET, false],
    ["an empty configured secret", "Bearer ", "", false],
    ["an empty configured secret, any token", "Bearer x", "", false],
  ];

  it.each(table)("%s → %s", (_name, header, secret, ok) => {
    expect(bearerOk(header, secret)).toBe(ok);
  });
});

describe("media signatures", () => {
  const sigOf = (url: string) => new URL(url).searchParams.get("sig") ?? "";
  const sig = sigOf(signedMediaUrl("https://mt.example", SECRET, "req-1", 0));

  it("accepts the signature for the same capture and instance", () => {
    expect(sig).toMatch(/^[\w-]{43}$/);
    expect(mediaSignatureOk(SECRET, "req-1", 0, sig)).toBe(true);
  });

  const refused: Array<[string, string, string, number, string]> = [
    ["another instance", SECRET, "req-1", 1, sig],
    ["another capture", SECRET, "req-2", 0, sig],
    ["another secret", `${SECRET}-rotated`, "req-1", 0, sig],
    ["a tampered signature", SECRET, "req-1", 0, `${sig.slice(0, -1)}${sig.endsWith("A") ? "B" : "A"}`],
    ["a truncated signature", SECRET, "req-1", 0, sig.slice(0, 20)],
    ["an empty signature", SECRET, "req-1", 0, ""],
  ];

  it.each(refused)("refuses %s", (_name, secret, captureId, instance, given) => {
    expect(mediaSignatureOk(secret, captureId, instance, given)).toBe(false);
  });

  it("signs the instance apart from the id (no separator ambiguity)", () => {
    const a = sigOf(signedMediaUrl("https://mt.example", SECRET, "req-1", 12));
    const b = sigOf(signedMediaUrl("https://mt.example", SECRET, "req-11", 2));
    expect(a).not.toBe(b);
  });

  // The server reads capture, instance and sig from the query of MEDIA_PATH.
  const ids = [
    "plain-id",
    "a:b",
    "with/slash",
    "sp ace",
    "q?x=1",
    "hash#frag",
    "per%cent",
    "é-ünï",
    "a+b&c",
    ".",
    "..",
  ];

  it.each(ids)("carries %j in the query so it parses back exactly", (id) => {
    const url = new URL(signedMediaUrl("https://mt.example/prefix", SECRET, id, 7));
    expect(url.origin).toBe("https://mt.example");
    expect(url.pathname).toBe(`/prefix${MEDIA_PATH}`);
    expect(url.searchParams.get("capture")).toBe(id);
    expect(url.searchParams.get("instance")).toBe("7");
    expect([...url.searchParams.keys()]).toEqual(["capture", "instance", "sig"]);
    expect(mediaSignatureOk(SECRET, id, 7, url.searchParams.get("sig")!)).toBe(true);
  });
});
