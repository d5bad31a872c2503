/** `modeltap envoy gate` and `modeltap envoy check` (src/cli/commands/envoy.ts): files in and out, exit codes, seeds. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { runCli } from "../../src/cli/program.js";
import { PRODUCT } from "../../src/cli/product.js";

const UNGATED = `# my edge
static_resources:
  listeners:
    - name: edge
      filter_chains:
        - filters:
            - name: envoy.filters.network.http_connection_manager
              typed_config:
                "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
                stat_prefix: edge
                route_config:
                  virtual_hosts:
                    - name: models
                      domains: ["*"]
                      routes:
                        - name: fraud
                          match: { prefix: "/" }
                          route: { cluster: models }
                          metadata: { filter_metadata: { modeltap: { model: fraud, sample_rate: 0.2 } } }
                http_filters:
                  - name: modeltap
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor
                      grpc_service: { envoy_grpc: { cluster_name: modeltap_collector } }
                  - name: envoy.filters.http.router
                    typed_config:
                      "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
`;

let out: string[];
let err: string[];
let stdout: string[];
let dir: string;

beforeEach(() => {
  out = [];
  err = [];
  stdout = [];
  vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void out.push(a.join(" ")));
  vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void err.push(a.join(" ")));
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout.push(String(chunk));
    return true;
  });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "modeltap-envoy-cli-"));
});
afterEach(() => {
  vi.restoreAllMocks();
  fs.rmSync(dir, { recursive: true, force: true });
});

function file(text: string): string {
  const f = path.join(dir, `envoy-${Math.random().toString(36).slice(2)}.yaml`);
  fs.writeFileSync(f, text);
  return f;
}

describe("modeltap envoy", () => {
  it("check exits 3 on an ungated config, gate --write gates it in place, then check passes with that seed only", async () => {
    const f = file(UNGATED);
    expect(await runCli(PRODUCT, ["envoy", "check", f])).toBe(3);
    expect(out.join("\n")).toContain("route fraud: no gate (sample_rate 0.2); it is never captured");

    expect(await runCli(PRODUCT, ["envoy", "gate", f, "--seed", "0x2a", "--write"])).toBe(0);
    const gated = fs.readFileSync(f, "utf8");
    expect(gated).toContain("# my edge");
    expect(gated).toContain('threshold: 200000, modulo: 1000000, seed: "42"');
    expect(err.join("\n")).toContain(
      "route fraud: gate written (sample_rate 0.2: threshold 200000 of 1000000)",
    );
    expect(stdout).toEqual([]);

    out = [];
    expect(await runCli(PRODUCT, ["envoy", "check", f, "--seed", "42"])).toBe(0);
    expect(out[0]).toBe(`${f}: gated as its metadata says, 1 captured routes`);
    expect(await runCli(PRODUCT, ["envoy", "check", f, "--seed", "43"])).toBe(3);

    err = [];
    expect(await runCli(PRODUCT, ["envoy", "gate", f, "--seed", "42", "--write"])).toBe(0);
    expect(err.join("\n")).toContain("is already gated as its metadata says");
    expect(fs.readFileSync(f, "utf8")).toBe(gated);
  });

  it("gate with no seed given keeps the seed the gates already hash with, never re-seeding them to 0", async () => {
    const f = file(UNGATED);
    expect(await runCli(PRODUCT, ["envoy", "gate", f, "--seed", "0x2a", "--write"])).toBe(0);
    fs.writeFileSync(f, fs.readFileSync(f, "utf8").replace("sample_rate: 0.2", "sample_rate: 0.3"));
    err = [];
    expect(await runCli(PRODUCT, ["envoy", "gate", f, "--write"])).toBe(0);
    expect(err.join("\n")).toContain("keeping the seed the file's gates already hash with");
    expect(err.join("\n")).not.toContain("42");
    expect(fs.readFileSync(f, "utf8")).toContain('threshold: 300000, modulo: 1000000, seed: "42"');
    expect(fs.readdirSync(dir).filter((n) => n.endsWith(".tmp"))).toEqual([]);
    // Two seeds in one file and none given: refused.
    const mixed = path.join(dir, "mixed.yaml");
    const twoRoutes = fs
      .readFileSync(f, "utf8")
      .replace("                      routes:\n", "                      routes:\n" + routeWithSeed("43"));
    fs.writeFileSync(mixed, twoRoutes);
    err = [];
    expect(await runCli(PRODUCT, ["envoy", "gate", mixed, "--write"])).toBe(1);
    expect(err.join("\n")).toContain("its gates hash with 2 different seeds and no seed was given");
  });

  it("gate without --write prints the gated config and leaves the file alone", async () => {
    const f = file(UNGATED);
    expect(await runCli(PRODUCT, ["envoy", "gate", f, "--seed", "7"])).toBe(0);
    expect(stdout.join("")).toContain("ExtensionWithMatcherPerRoute");
    expect(fs.readFileSync(f, "utf8")).toBe(UNGATED);
  });

  it("fails with a clear message on a missing file, bad YAML, a bad seed, or a config it cannot gate", async () => {
    expect(await runCli(PRODUCT, ["envoy", "gate", path.join(dir, "nope.yaml"), "--seed", "1"])).toBe(1);
    expect(err.join("\n")).toMatch(/nope\.yaml: cannot read it/);
    err = [];
    expect(await runCli(PRODUCT, ["envoy", "check", file("a: [1, 2\n")])).toBe(1);
    expect(err.join("\n")).toMatch(/not YAML/);
    err = [];
    expect(await runCli(PRODUCT, ["envoy", "gate", file(UNGATED), "--seed", "0xZZ"])).toBe(1);
    expect(err.join("\n")).toContain("--seed: must be a 64-bit unsigned integer");
    expect(err.join("\n")).not.toContain("0xZZ");
    err = [];
    const bad = file(UNGATED.replace("sample_rate: 0.2", "sample_rate: 3"));
    expect(await runCli(PRODUCT, ["envoy", "gate", bad, "--seed", "1", "--write"])).toBe(1);
    expect(err.join("\n")).toContain("[ENVOY_CONFIG_INVALID]");
    expect(err.join("\n")).toContain("route fraud: modeltap.sample_rate must be a number from 0 to 1, got 3");
    expect(fs.readFileSync(bad, "utf8")).toContain("sample_rate: 3");
    err = [];
    expect(await runCli(PRODUCT, ["envoy", "gate"])).toBe(1);
    expect(err.join("\n")).toContain("envoy gate: give the Envoy config file (YAML)");
  });
});

/** A second gated route, hashing with `seed`. */
function routeWithSeed(seed: string): string {
  const pad = " ".repeat(24);
  return [
    `${pad}- name: other`,
    `${pad}  match: { prefix: "/other" }`,
    `${pad}  route: { cluster: models }`,
    `${pad}  metadata: { filter_metadata: { modeltap: { model: other, sample_rate: 0.5 } } }`,
    `${pad}  typed_per_filter_config:`,
    `${pad}    modeltap:`,
    `${pad}      "@type": type.googleapis.com/envoy.extensions.common.matching.v3.ExtensionWithMatcherPerRoute`,
    `${pad}      xds_matcher:`,
    `${pad}        matcher_list:`,
    `${pad}          matchers:`,
    `${pad}            - predicate:`,
    `${pad}                single_predicate:`,
    `${pad}                  input: { name: x-request-id, typed_config: { "@type": type.googleapis.com/envoy.type.matcher.v3.HttpRequestHeaderMatchInput, header_name: x-request-id } }`,
    `${pad}                  custom_match: { name: modeltap-sample, typed_config: { "@type": type.googleapis.com/envoy.extensions.matching.input_matchers.consistent_hashing.v3.ConsistentHashing, threshold: 500000, modulo: 1000000, seed: "${seed}" } }`,
    `${pad}              on_match: { action: { name: skip, typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.common.matcher.action.v3.SkipFilter } } }`,
    "",
  ].join("\n");
}
