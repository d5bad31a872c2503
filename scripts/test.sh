#!/usr/bin/env bash
# The single gate: install what is missing, typecheck, lint, format check, circular imports, then
# every test (unit + end-to-end against the real Envoy, NATS, Postgres and S3 on 127.0.0.1).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
step() { printf '\n== %s ==\n' "$*"; }

step "install (idempotent)"
bash scripts/install.sh all

step "typecheck"
npx tsc --noEmit -p tsconfig.json

step "lint + format"
npx eslint .
npx prettier --check . >/dev/null || { npx prettier --check .; exit 1; }

step "circular imports"
npx madge --circular --extensions ts src tools

step "tests (vitest: unit + e2e)"
mkdir -p .modeltap
report=.modeltap/vitest-report.json
log=.modeltap/vitest-output.log
rm -f "$report" "$log"
set +e
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# A plain closing line any CI can read, counting failed files and unhandled errors as failures too.
node scripts/test-summary.mjs "$report" "$log" "$status"
