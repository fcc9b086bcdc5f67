#!/usr/bin/env bash
# Sets namespace-explorer up on this Linux machine (idempotent) and starts it:
#   sudo bash scripts/start.sh        (as root without sudo: bash scripts/start.sh)
# 1. the Debian packages (scripts/install-deps.sh), 2. npm ci (compiles the shim and the TypeScript),
# 3. the busybox sandbox root filesystem, 4. `nsx` on the PATH, 5. nsx doctor, 6. the lessons (nsx learn).
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

# The lessons end with "run: nsx check <lesson>": nsx must be a command. Root: a link in
# /usr/local/bin (as the VM has); a user: ~/.local/bin, which Debian's ~/.profile puts on the PATH.
nsx_js="$(pwd)/bin/nsx.cjs"
if [ "$(id -u)" -eq 0 ]; then bin_dir=/usr/local/bin; else bin_dir="$HOME/.local/bin"; fi
mkdir -p "$bin_dir"
if [ "$(readlink -f "$bin_dir/nsx" 2>/dev/null)" != "$nsx_js" ]; then
  if [ -e "$bin_dir/nsx" ] && [ ! -L "$bin_dir/nsx" ]; then
    echo "nsx: $bin_dir/nsx exists and is not a link: leaving it; call node $nsx_js instead" >&2
  else
    ln -sfn "$nsx_js" "$bin_dir/nsx"
    echo "nsx: linked $bin_dir/nsx -> $nsx_js"
  fi
fi
case ":$PATH:" in
  *":$bin_dir:"*) ;;
  *) echo "nsx: $bin_dir is not on your PATH: add it (export PATH=\"$bin_dir:\$PATH\") to call nsx by name" >&2 ;;
esac
node bin/nsx.cjs doctor
echo
echo "The lessons: each builds a real container one kernel feature at a time. At each prompt:"
echo "Enter applies the step, e explains more, s opens a shell inside, q quits and cleans up."
echo
exec node bin/nsx.cjs learn "$@"
