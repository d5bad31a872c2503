#!/usr/bin/env bash
# Benchmarks on the local real stack (127.0.0.1 only). Results: tools/bench/results/ and docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install.sh all
node bin/modeltap.js stack up
node dist-tools/tools/bench/overhead.js
node dist-tools/tools/bench/analysis.js
node dist-tools/tools/bench/labeling.js
node dist-tools/tools/bench/worker.js
node dist-tools/tools/bench/monitor.js
node dist-tools/tools/bench/monitor-lag.js
