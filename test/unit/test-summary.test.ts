/**
 * scripts/test-summary.mjs, the gate's closing line: a real vitest run over a file that throws on
 * import and a test that leaks a rejection (both passed unnoticed when the line counted failed
 * tests only) must be summarised as failed, with each counted.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PACKAGE_ROOT } from "../../src/config.js";
// @ts-expect-error: a plain .mjs script, no declarations
import { summarize } from "../../scripts/test-summary.mjs";

type Summary = { line: string; failed: boolean };
const run = summarize as (report: unknown, output: string, status: number) => Summary;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "modeltap-gate-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function vitest(files: Record<string, string>) {
  const root = fs.mkdtempSync(path.join(dir, "run-"));
  fs.writeFileSync(path.join(root, "vitest.config.mjs"), "export default { test: { globals: true } };\n");
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(root, name), text);
  const report = path.join(root, "report.json");
  const res = spawnSync(
    process.execPath,
    [
      path.join(PACKAGE_ROOT, "node_modules", "vitest", "vitest.mjs"),
      "run",
      "--root",
      root,
      "--config",
      path.join(root, "vitest.config.mjs"),
      "--reporter=default",
      "--reporter=json",
      `--outputFile.json=${report}`,
    ],
    { encoding: "utf8", timeout: 120_000, env: { ...process.env, CI: "1" } },
  );
  const json = JSON.parse(fs.readFileSync(report, "utf8")) as { numFailedTests: number };
  return { json, output: `${res.stdout}${res.stderr}`, status: res.status ?? 1 };
}

describe("the gate's closing line", () => {
  it("counts a file that fails to import and an unhandled rejection as failures", () => {
    const { json, output, status } = vitest({
      "ok.test.js": 'it("passes", () => {});\n',
      "import-throws.test.js": 'throw new Error("boom while importing");\n',
      "leaks.test.js":
        'it("passes but leaks a rejection", async () => { void Promise.reject(new Error("leaked")); await new Promise((r) => setTimeout(r, 50)); });\n',
    });
    // What the old line printed: no failed test at all.
    expect(json.numFailedTests).toBe(0);
    expect(status).not.toBe(0);
    const s = run(json, output, status);
    expect(s.failed).toBe(true);
    expect(s.line).toBe(
      "vitest: 2 passed, 2 failed (0 failed tests, 1 failed file (outside any test), 1 unhandled error)",
    );
  }, 150_000);

  it("says passed, with nothing failed, for a clean run", () => {
    const { json, output, status } = vitest({ "ok.test.js": 'it("passes", () => {});\n' });
    expect(run(json, output, status)).toEqual({
      line: "vitest: 1 passed, 0 failed (0 failed tests, 0 failed files (outside any test), 0 unhandled errors)",
      failed: false,
    });
  }, 150_000);

  it("fails a run with no report, and a non-zero exit with nothing else counted", () => {
    expect(run(undefined, "", 1)).toMatchObject({ failed: true });
    const empty = {
      numPassedTests: 3,
      numFailedTests: 0,
      numPendingTests: 0,
      numTodoTests: 0,
      testResults: [],
    };
    expect(run(empty, "", 1)).toEqual({
      line: "vitest: 3 passed, 1 failed (0 failed tests, 0 failed files (outside any test), 0 unhandled errors, vitest exited 1 with nothing else counted)",
      failed: true,
    });
  });
});
