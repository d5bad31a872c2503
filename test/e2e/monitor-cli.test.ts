/**
 * The monitoring commands against the stack's real Postgres: `baseline create|list|show|activate|
 * import`, `drift` and `quality`, their exit codes and their errors (UNKNOWN_MODEL, NO_BASELINE,
 * TOO_FEW_INSTANCES, BASELINE_EXISTS, BASELINE_NOT_FOUND, BASELINE_INVALID). Captures are inserted
 * the way the worker inserts them (rows and partial profiles in one transaction) a day in the past,
 * under a model of this file's own; everything is deleted afterwards.
 */
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PostgresCaptureRepository } from "../../src/adapters/postgres/capture-repository.js";
import { PACKAGE_ROOT } from "../../src/config.js";
import type { Prediction } from "../../src/core/canonical.js";
import type { Baseline } from "../../src/core/monitoring/baseline.js";
import { partialProfiles } from "../../src/core/monitoring/partials.js";
import type { CaptureRow } from "../../src/core/ports.js";
import { productEnv } from "../../tools/stack/settings.js";
import { captureRow } from "../support/captures.js";
import { draws } from "../support/random.js";
import { config, deleteModels } from "./helpers.js";

const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 4 });
pool.on("error", () => undefined);
const captures = new PostgresCaptureRepository(pool);
const MODEL = `cli-${randomUUID().slice(0, 8)}`;
const MIN = 60_000;
/** A minute a day ago, aligned: A is the baseline's, B shifted, C nearly empty. */
const A = Math.floor(Date.now() / (60 * MIN)) * 60 * MIN - 24 * 60 * MIN;
const B = A + MIN;
const C = A + 2 * MIN;
const iso = (ms: number) => new Date(ms).toISOString();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "modeltap-monitor-cli-"));

function rows(start: number, n: number, shift: number, seed: number): CaptureRow[] {
  const z = draws(seed).normal;
  return Array.from({ length: n }, (_, i) => {
    const x = z() + shift;
    const prediction: Prediction = { kind: "classification", label: x > 0 ? "a" : "b", score: 0.9 };
    return captureRow(randomUUID(), "tabular_classification", [{ input: { features: { x } }, prediction }], {
      model: MODEL,
      receivedAt: new Date(start + 1000 + Math.floor((i * 50_000) / n)),
    });
  });
}

function modeltap(...args: string[]): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(PACKAGE_ROOT, "bin", "modeltap.js"), ...args], {
    env: productEnv(process.env),
    encoding: "utf8",
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  const partialsFor = (inserted: readonly CaptureRow[]) =>
    partialProfiles(inserted, () => null, { refusalPatterns: [] }).partials;
  await captures.insertCaptures(rows(A, 300, 0, 1), partialsFor);
  await captures.insertCaptures(rows(B, 300, 2, 2), partialsFor);
  await captures.insertCaptures(rows(C, 10, 0, 3), partialsFor);
});

afterAll(async () => {
  await deleteModels(pool, [MODEL]);
  await pool.end();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("errors", () => {
  it("names an unknown model", () => {
    for (const cmd of [
      ["drift", "--model", `${MODEL}-nope`, "--window", "1m"],
      ["quality", "--model", `${MODEL}-nope`, "--window", "1m"],
    ]) {
      const r = modeltap(...cmd);
      expect(r.status, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/\[UNKNOWN_MODEL\] no capture, profile or baseline names model/);
    }
  });

  it("says there is no baseline, and how to make one", () => {
    const r = modeltap("drift", "--model", MODEL, "--window", "1m", `--at=${iso(B + MIN)}`);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /\[NO_BASELINE\] model cli-\S+ has no active baseline; create one \(modeltap baseline create/,
    );
  });
});

describe("baselines and drift", () => {
  const id = `${MODEL}-a`;

  it("creates a baseline from a window, refuses its id again, lists and shows it", () => {
    /** `baseline create` from minute A. */
    const fromA = (...more: string[]) =>
      modeltap(
        "baseline",
        "create",
        "--model",
        MODEL,
        `--from=${iso(A)}`,
        `--to=${iso(A + MIN)}`,
        "--id",
        id,
        ...more,
      );
    const made = fromA("--activate");
    expect(made.status, made.stderr).toBe(0);
    expect(made.stdout).toMatch(new RegExp(`^${id}: model ${MODEL}, 300 captures`, "m"));
    expect(made.stdout).toMatch(/feature\.x\s+numeric\s+ks\s+0\.05\s+300/);
    expect(made.stdout).toMatch(/active for/);
    const again = fromA();
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/\[BASELINE_EXISTS\] baseline \S+ already exists/);
    const list = modeltap("baseline", "list", "--model", MODEL);
    expect(list.stdout).toMatch(new RegExp(`^\\* ${id}: model ${MODEL}`, "m"));
    const show = modeltap("baseline", "show", id, "--json");
    const doc = JSON.parse(show.stdout) as Baseline;
    expect(doc.format).toBe("modeltap.baseline/v1");
    expect(doc.fields["feature.x"]!.count).toBe(300);
    expect(doc.prediction_field).toBe("prediction.label");
    expect(modeltap("baseline", "show", `${id}-nope`).stderr).toMatch(/\[BASELINE_NOT_FOUND\]/);
  });

  it("exits 3 for the shifted window, 0 for the baseline's own, and refuses a window under min_count", () => {
    const shifted = modeltap("drift", "--model", MODEL, "--window", "1m", `--at=${iso(B + MIN)}`, "--json");
    expect(shifted.status, shifted.stderr).toBe(3);
    const d = JSON.parse(shifted.stdout) as {
      dataset_drift: boolean;
      fields: Array<{ field: string; drifted: boolean; score: number }>;
    };
    expect(d.dataset_drift).toBe(true);
    expect(d.fields.find((f) => f.field === "feature.x")).toMatchObject({ drifted: true });
    const same = modeltap("drift", "--model", MODEL, "--window", "1m", `--at=${iso(A + MIN)}`);
    expect(same.status, same.stderr).toBe(0);
    expect(same.stdout).toMatch(/dataset drift: no \(0 of 1 input fields drifted/);
    const few = modeltap("drift", "--model", MODEL, "--window", "1m", `--at=${iso(C + MIN)}`);
    expect(few.status).toBe(1);
    expect(few.stderr).toMatch(/\[TOO_FEW_INSTANCES\] window .* holds fewer than min_count 200 values/);
    // Against the window before instead of the baseline: the shift shows too.
    const previous = modeltap(
      "drift",
      "--model",
      MODEL,
      "--window",
      "1m",
      `--at=${iso(B + MIN)}`,
      "--against",
      "previous",
    );
    expect(previous.status, previous.stderr).toBe(3);
    expect(previous.stdout).toMatch(/against window .* \(300 captures\)/);
  });

  it("imports an edited baseline (a threshold overridden per field), activates it, and refuses a broken one", () => {
    const doc = JSON.parse(modeltap("baseline", "show", id, "--json").stdout) as Baseline;
    // A threshold no p-value can be below: the shifted window is no longer drift on feature.x.
    const edited: Baseline = {
      ...doc,
      id: `${MODEL}-b`,
      fields: { ...doc.fields, "feature.x": { ...doc.fields["feature.x"]!, threshold: 1e-300 } },
    };
    const file = path.join(dir, "edited.json");
    fs.writeFileSync(file, JSON.stringify(edited));
    const imported = modeltap("baseline", "import", file, "--activate");
    expect(imported.status, imported.stderr).toBe(0);
    expect(modeltap("baseline", "list", "--model", MODEL).stdout).toMatch(new RegExp(`^\\* ${MODEL}-b`, "m"));
    const d = JSON.parse(
      modeltap("drift", "--model", MODEL, "--window", "1m", `--at=${iso(B + MIN)}`, "--json").stdout,
    ) as {
      fields: Array<{ field: string; drifted: boolean; threshold: number }>;
    };
    expect(d.fields.find((f) => f.field === "feature.x")).toMatchObject({
      drifted: false,
      threshold: 1e-300,
    });
    expect(modeltap("baseline", "activate", id).stdout).toMatch(new RegExp(`active for ${MODEL}: ${id}`));

    const broken = {
      ...doc,
      id: `${MODEL}-c`,
      fields: { ...doc.fields, "feature.x": { ...doc.fields["feature.x"]!, edges: [2, 1] } },
    };
    fs.writeFileSync(file, JSON.stringify(broken));
    const refused = modeltap("baseline", "import", file);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(
      /\[BASELINE_INVALID\] fields\.feature\.x\.edges: must be strictly ascending/,
    );
  });
});

describe("a baseline from a training file", () => {
  it("takes every column as a feature and the target as the prediction's reference, with the file's hash", () => {
    const file = path.join(PACKAGE_ROOT, "test", "fixtures", "datasets", "iris.parquet");
    const r = modeltap(
      "baseline",
      "create",
      "--model",
      MODEL,
      "--file",
      file,
      "--target",
      "species",
      "--id",
      `${MODEL}-file`,
    );
    expect(r.status, r.stderr).toBe(0);
    const doc = JSON.parse(modeltap("baseline", "show", `${MODEL}-file`, "--json").stdout) as Baseline;
    expect(doc.source).toMatchObject({
      kind: "file",
      file: "iris.parquet",
      format: "parquet",
      target: "species",
    });
    expect((doc.source as { sha256: string }).sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(doc.fields["feature.sepal_length"]!.kind).toBe("numeric");
    expect(doc.fields["feature.species"]).toBeUndefined();
    const species = doc.fields["prediction.label"]!.categories!;
    expect(Object.keys(species)).toEqual(expect.arrayContaining(["setosa", "versicolor", "virginica"]));
    expect(Object.values(species).reduce((a, b) => a + b, 0)).toBe(doc.captures);
    expect(doc.prediction_field).toBe("prediction.label");
    // Not activated: the active baseline stays the one activated above.
    expect(modeltap("baseline", "list", "--model", MODEL).stdout).toMatch(
      new RegExp(`^  ${MODEL}-file:`, "m"),
    );
    const unknown = modeltap("baseline", "create", "--model", MODEL, "--file", file, "--target", "nope");
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/--target: .* has no column "nope"/);
  });

  it("applies a method chosen per field in the baseline (PSI instead of KS)", () => {
    const doc = JSON.parse(modeltap("baseline", "show", `${MODEL}-a`, "--json").stdout) as Baseline;
    const psi: Baseline = {
      ...doc,
      id: `${MODEL}-psi`,
      fields: { ...doc.fields, "feature.x": { ...doc.fields["feature.x"]!, method: "psi", threshold: 0.2 } },
    };
    const file = path.join(dir, "psi.json");
    fs.writeFileSync(file, JSON.stringify(psi));
    expect(modeltap("baseline", "import", file, "--activate").status).toBe(0);
    const d = JSON.parse(
      modeltap("drift", "--model", MODEL, "--window", "1m", `--at=${iso(B + MIN)}`, "--json").stdout,
    ) as {
      fields: Array<{ field: string; method: string; drifted: boolean; score: number; approximate: boolean }>;
    };
    const x = d.fields.find((f) => f.field === "feature.x")!;
    expect(x).toMatchObject({ method: "psi", drifted: true });
    expect(x.score).toBeGreaterThan(0.2);
  });
});
