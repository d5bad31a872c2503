#!/usr/bin/env bash
# The demo: install what is missing, bring the local real stack up, send traffic through Envoy and
# show what was captured. The stack keeps running afterwards; `node bin/modeltap.js stack down` stops it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install.sh all
exec node bin/modeltap.js demo
