/**
 * The gate's closing line, from vitest's JSON report and its console output: every way a run can
 * fail counts as a failure, not only failed tests. A test file that fails outside any test (an
 * import that throws, a failing beforeAll or globalSetup) has no failed test in the report, and an
 * unhandled error or rejection is only in the console output ("Vitest caught N unhandled errors").
 *
 *   node scripts/test-summary.mjs <report.json> <vitest-output.log> <vitest exit status>
 *
 * Prints one line and exits 1 when anything failed (or vitest itself failed), else 0.
 */
import fs from "node:fs";
import process from "node:process";
import { pathToFileURL } from "node:url";

/**
 * @param {{numPassedTests: number, numFailedTests: number, numPendingTests: number, numTodoTests: number,
 *   testResults: Array<{status: string, name: string, message?: string,
 *   assertionResults: Array<{status: string}>}>} | undefined} report
 * @param {string} output
 * @param {number} status
 * @returns {{line: string, failed: boolean}}
 */
export function summarize(report, output, status) {
  // ANSI colours would split the phrase.
  const plain = output.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g"), "");
  const caught = /Vitest caught (\d+) unhandled errors?/.exec(plain);
  const unhandled = caught ? Number(caught[1]) : 0;
  if (!report) {
    return {
      line: `vitest: no report written (exit status ${status}): the run failed before any test`,
      failed: true,
    };
  }
  const brokenFiles = report.testResults.filter(
    (f) => f.status === "failed" && !f.assertionResults.some((t) => t.status === "failed"),
  ).length;
  const failures = report.numFailedTests + brokenFiles + unhandled;
  // A non-zero exit with nothing counted is still a failure the line must show.
  const unexplained = status !== 0 && failures === 0 ? 1 : 0;
  const skipped = report.numPendingTests + report.numTodoTests;
  const parts = [
    `${report.numFailedTests} failed test${report.numFailedTests === 1 ? "" : "s"}`,
    `${brokenFiles} failed file${brokenFiles === 1 ? "" : "s"} (outside any test)`,
    `${unhandled} unhandled error${unhandled === 1 ? "" : "s"}`,
    ...(unexplained ? [`vitest exited ${status} with nothing else counted`] : []),
  ];
  const line =
    `vitest: ${report.numPassedTests} passed, ${failures + unexplained} failed` +
    (skipped ? `, ${skipped} skipped` : "") +
    ` (${parts.join(", ")})`;
  return { line, failed: failures + unexplained > 0 || status !== 0 };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const [reportPath, logPath, statusText] = process.argv.slice(2);
  const read = (p) => {
    try {
      return fs.readFileSync(p, "utf8");
    } catch {
      return undefined;
    }
  };
  const reportText = reportPath ? read(reportPath) : undefined;
  const { line, failed } = summarize(
    reportText ? JSON.parse(reportText) : undefined,
    (logPath && read(logPath)) ?? "",
    Number(statusText ?? 1),
  );
  process.stdout.write(`${line}\n`);
  process.exit(failed ? 1 : 0);
}
