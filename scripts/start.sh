#!/usr/bin/env bash
# Sets namespace-explorer up on this Linux machine (idempotent) and starts it:
#   sudo bash scripts/start.sh
# 1. the Debian packages (scripts/install-deps.sh), 2. npm ci (compiles the shim and the TypeScript),
# 3. the busybox sandbox root filesystem, 4. nsx doctor, 5. the lessons (nsx learn).
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
echo "The lessons: each builds a real container one kernel feature at a time. At each prompt:"
echo "Enter applies the step, e explains more, s opens a shell inside, q quits and cleans up."
echo
exec node bin/nsx.js learn "$@"
