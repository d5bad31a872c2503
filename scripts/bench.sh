#!/usr/bin/env bash
# Benchmarks on the local real stack (127.0.0.1 only). Results: bench/results/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install.sh all
node bin/modeltap.js stack up
node dist/bench/overhead.js
node dist/bench/analysis.js
node dist/bench/labeling.js
node dist/bench/worker.js
