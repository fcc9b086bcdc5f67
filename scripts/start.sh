#!/usr/bin/env bash
# Sets namespace-explorer up on this Linux machine (idempotent) and starts it:
#   sudo bash scripts/start.sh
# 1. the Debian packages (scripts/install-deps.sh), 2. npm ci (compiles the shim and the TypeScript),
# 3. the busybox sandbox root filesystem, 4. nsx doctor, 5. a container built step by step.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then
  bash scripts/install-deps.sh
else
  echo "nsx: not root: skipping package installation (run with sudo to install them)." >&2
fi
if [ ! -x shim/nsx-shim ] || [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  npm ci --no-audit --no-fund
fi
[ -x sandbox/rootfs/busybox/bin/busybox ] || npm run sandbox
node bin/nsx.js doctor
echo
echo "Starting a container one kernel feature at a time. At each prompt: Enter applies the step,"
echo "s opens a shell inside the half-built container, c runs the rest, q quits and cleans up."
echo
exec node bin/nsx.js run --step --rm --rootfs sandbox/rootfs/busybox "${@:-/bin/sh}"
