#!/usr/bin/env bash
# Provisions namespace-explorer's VM (Debian 13): the Vagrantfile runs it as root on the first
# `vagrant up` and on every `vagrant provision`. It also works on any Debian 13 machine:
#   sudo bash scripts/provision.sh
# Idempotent: a second run changes nothing, fails nothing, and ends with "nothing to do".
# After it, everything works offline.
#
# The steps, in order (each prints "nsx provision: <step>: ..."):
#   registry config   /etc/nsx/registry.yml + a systemd drop-in (written before the package is
#                     installed, so the registry never listens anywhere but 127.0.0.1:5000)
#   image names       /etc/nsx/registries.json: unqualified names look in localhost:5000, then Docker Hub
#   packages          Debian 13's: what nsx needs (scripts/install-deps.sh --list), nodejs (20.19), npm,
#                     qemu-system-x86 or -arm (the vm-vs-container lesson's VM), ...
#   extra CA          a TLS-intercepting proxy's CA, when NSX_EXTRA_CA_CERTS names one
#   project copy      NSX_SRC (the synced folder) -> NSX_DIR on the VM's own disk, owned by NSX_USER
#   build             npm ci (compiles the shim and the TypeScript), as the owner of NSX_DIR
#   nsx on PATH       /usr/local/bin/nsx -> NSX_DIR/bin/nsx.cjs
#   sandbox rootfs    NSX_DIR/sandbox/rootfs/busybox (npm run sandbox)
#   registry          docker-registry.service on 127.0.0.1:5000 (skipped, with a message, without systemd)
#   sandbox images    npm run sandbox:images -- --push localhost:5000 (without systemd: to a registry
#                     started for this step only)
#   engine            nsxd.service: the engine (nsxd) always running, as dockerd.service is (the unit
#                     is written everywhere; enabled and started only with systemd)
#   docker context    Docker's real CLI (Debian's docker-cli) talks to nsxd: a docker context "nsx"
#                     (unix:///run/nsx/nsxd.sock), made current for root and for NSX_USER, so that
#                     `sudo docker ps` asks nsx's engine
#   boot time         /var/lib/nsx/vm-boot-time.json, written once (format below)
#   login message     /etc/motd.d/namespace-explorer: the one command to start with
#   nsx doctor        must not report a critical failure (on a booted machine: with systemd)
#
# Environment (all optional):
#   NSX_SRC    the project as the host shares it (default: the checkout holding this script, or /vagrant)
#   NSX_USER   who owns and builds the VM's copy (default: vagrant if that user exists, else the
#              user who ran sudo, else root)
#   NSX_DIR    where the project is built (default: ~NSX_USER/namespace-explorer when NSX_SRC is
#              /vagrant; otherwise NSX_SRC itself, built in place as the owner of that folder)
#   NSX_EXTRA_CA_CERTS  a PEM file of CA certificates to trust (a proxy that intercepts TLS)
#   NSX_VAGRANT_UP_STARTED  set by the Vagrantfile: the host's clock (epoch seconds) when `vagrant up` began
#
# /var/lib/nsx/vm-boot-time.json (for comparing a VM's boot with a container's start), format 1; numbers in seconds,
# null where unknown (no systemd, or not provisioned by Vagrant):
#   format                    1
#   recordedAt                when it was written (ISO 8601, UTC): the end of the first provisioning
#   kernelSeconds             from kernel start to systemd's start (kernel + initrd)
#   userspaceSeconds          from systemd's start to "Startup finished"
#   bootSeconds               kernelSeconds + userspaceSeconds: the VM's boot, to compare with a
#                             container's start (systemd-analyze prints the same numbers)
#   uptimeAtProvisionSeconds  the VM's uptime when provisioning began
#   provisionSeconds          how long that provisioning took
#   vagrantUpSeconds          from `vagrant up` on the host to the end of provisioning (includes the
#                             box download and import when they happened; host and VM clocks)
#   notes                     why a value is null, in words
set -euo pipefail

# The one command the login message gives, and where the lessons keep the learner's progress
# (src/learn/progress.ts: the invoking user's XDG state dir, also under sudo).
START_COMMAND='sudo nsx learn'
PROGRESS_NOTE='Your progress is kept in ~/.local/state/nsx/progress.json (nsx progress shows it).'

REGISTRY_ADDR=127.0.0.1:5000
# Root's engine socket (src/engine/config.ts): nsxd.service runs as root with no NSX_ENGINE_SOCKET.
ENGINE_SOCKET=/run/nsx/nsxd.sock
# What the VM needs beyond what nsx itself needs (scripts/install-deps.sh --list: build-essential,
# busybox-static, util-linux, iproute2, iputils-ping, procps, file, docker-registry, skopeo, attr).
VM_PACKAGES=(
  nodejs            # 20.19 in Debian 13: runs nsx
  npm               # npm ci: the project's dependencies
  docker-registry   # the VM's local registry on 127.0.0.1:5000
  skopeo            # inspect and copy images (a registry client nobody here wrote)
  apparmor          # apparmor_parser: the lsm step loads nsx-default (Debian 13 boots with AppArmor)
  apparmor-utils    # aa-status, aa-complain
  strace            # watch the syscalls a runtime makes
  rsync             # the project copy below
  ca-certificates   # npm ci over TLS
  docker-cli        # Docker's own client (Debian's build of docker/cli): a client of nsxd, see docker_context
)
# The vm-vs-container lesson boots a VM with qemu and the VM's own kernel from /boot.
case $(uname -m) in
  x86_64) VM_PACKAGES+=(qemu-system-x86) ;;
  aarch64) VM_PACKAGES+=(qemu-system-arm) ;;
esac

started=$(date +%s)
uptime_at_start=$(cut -d' ' -f1 /proc/uptime)
changes=()

say() { printf 'nsx provision: %s\n' "$*"; }
changed() { changes+=("$1"); say "$1"; }
die() { printf 'nsx provision: %s\n' "$*" >&2; exit 1; }
have_systemd() { [ -d /run/systemd/system ]; }

# write_file PATH MODE: writes standard input to PATH unless PATH already holds exactly that.
# Returns 0 when it wrote, 1 when the file was already right.
write_file() {
  local path=$1 mode=$2 new tmp
  new=$(mktemp) # outside PATH's folder: comparing must not touch it (its mtime)
  cat >"$new"
  if [ -f "$path" ] && cmp -s "$new" "$path" && [ "$(stat -c %a "$path")" = "$mode" ]; then
    rm -f "$new"
    return 1
  fi
  mkdir -p "$(dirname "$path")"
  tmp=$(mktemp "$path.XXXXXX") # then renamed: a reader never sees half a file
  cat "$new" >"$tmp"
  rm -f "$new"
  chmod "$mode" "$tmp"
  mv -f "$tmp" "$path"
}

# as_owner CMD...: runs CMD as the owner of the project copy, in it, with that user's HOME.
as_owner() {
  if [ "$OWNER" = root ]; then
    (cd "$DIR" && "$@")
  else
    (cd "$DIR" && runuser -u "$OWNER" -- env HOME="$OWNER_HOME" "$@")
  fi
}

has_npm_script() {
  node -e 'process.exit(require(process.argv[1]).scripts?.[process.argv[2]] ? 0 : 1)' "$DIR/package.json" "$1"
}

choose_paths() {
  [ "$(id -u)" -eq 0 ] || die "run as root: sudo bash scripts/provision.sh"
  local here
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  if [ -z "${NSX_SRC:-}" ]; then
    if grep -qs '"name": "namespace-explorer"' "$here/package.json"; then NSX_SRC=$here; else NSX_SRC=/vagrant; fi
  fi
  SRC=$(cd "$NSX_SRC" 2>/dev/null && pwd) || die "no project at NSX_SRC=$NSX_SRC (is the synced folder mounted?)"
  [ -f "$SRC/package.json" ] || die "$SRC has no package.json: NSX_SRC must be the namespace-explorer folder"

  local user=${NSX_USER:-}
  if [ -z "$user" ]; then
    if id vagrant >/dev/null 2>&1; then user=vagrant
    elif [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then user=$SUDO_USER
    else user=root; fi
  fi
  id "$user" >/dev/null 2>&1 || die "no user $user (NSX_USER) on this machine"
  local home
  home=$(getent passwd "$user" | cut -d: -f6)
  if [ -n "${NSX_DIR:-}" ]; then DIR=$NSX_DIR
  elif [ "$SRC" = /vagrant ]; then DIR=$home/namespace-explorer
  else DIR=$SRC; fi

  if [ "$DIR" = "$SRC" ]; then
    # Built in place: by whoever owns the checkout, so that no file in it changes hands.
    OWNER=$(stat -c %U "$DIR")
  else
    OWNER=$user
  fi
  OWNER_GROUP=$(id -gn "$OWNER")
  OWNER_HOME=$(getent passwd "$OWNER" | cut -d: -f6)
  say "project: $SRC -> $DIR (built as $OWNER)"
}

registry_config() {
  # Debian's docker-registry ships /etc/docker/registry/config.yml listening on every address with an
  # empty htpasswd file (every request refused). Ours: loopback only, no authentication; the
  # package's own file is left as it is.
  local wrote=0
  write_file /etc/nsx/registry.yml 644 <<YAML && wrote=1
# namespace-explorer's local registry (written by scripts/provision.sh; docker-registry.service
# reads it through /etc/systemd/system/docker-registry.service.d/namespace-explorer.conf).
# Loopback only and without authentication: nothing outside this machine can reach it.
version: 0.1
log:
  fields:
    service: registry
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: /var/lib/docker-registry
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
  headers:
    X-Content-Type-Options: [nosniff]
YAML
  write_file /etc/systemd/system/docker-registry.service.d/namespace-explorer.conf 644 <<'UNIT' && wrote=1
# Written by namespace-explorer's scripts/provision.sh: serve /etc/nsx/registry.yml (127.0.0.1:5000,
# no authentication) instead of the package's /etc/docker/registry/config.yml.
[Service]
ExecStart=
ExecStart=/usr/bin/docker-registry serve /etc/nsx/registry.yml
UNIT
  if [ $wrote = 1 ]; then
    changed "registry config: wrote /etc/nsx/registry.yml (listen on $REGISTRY_ADDR only)"
    # Before the package is installed, so that its first start already reads the drop-in.
    if have_systemd; then systemctl daemon-reload; fi
  else
    say "registry config: ok"
  fi
}

image_names() {
  # Read by nsx's image code (issue 4): unqualified names (busybox, dockerinaction/hello_world) are
  # looked up here first, then on Docker Hub.
  if write_file /etc/nsx/registries.json 644 <<'JSON'
{ "unqualifiedSearchRegistries": ["localhost:5000", "docker.io"] }
JSON
  then changed "image names: wrote /etc/nsx/registries.json (localhost:5000, then docker.io)"
  else say "image names: ok"; fi
  # nsx reads that file as root only; rootless, the user's own (~/.config/nsx/registries.json).
  if [ "$DIR" != "$SRC" ] && [ "$OWNER" != root ]; then
    local user_file=$OWNER_HOME/.config/nsx/registries.json
    runuser -u "$OWNER" -- mkdir -p "$(dirname "$user_file")"
    if write_file "$user_file" 644 </etc/nsx/registries.json; then
      chown "$OWNER:$OWNER_GROUP" "$user_file"
      changed "image names: wrote $user_file (nsx without sudo)"
    fi
  fi
  # The same order for skopeo (containers-common's registries.conf), and plain HTTP to the local registry.
  if write_file /etc/containers/registries.conf.d/50-namespace-explorer.conf 644 <<'CONF'
# Written by namespace-explorer's scripts/provision.sh (the same order as /etc/nsx/registries.json).
unqualified-search-registries = ["localhost:5000", "docker.io"]

[[registry]]
location = "localhost:5000"
insecure = true
CONF
  then changed "image names: wrote /etc/containers/registries.conf.d/50-namespace-explorer.conf"; fi
}

packages() {
  local wanted=() missing=() p
  mapfile -t wanted < <(bash "$SRC/scripts/install-deps.sh" --list)
  [ ${#wanted[@]} -gt 0 ] || die "packages: $SRC/scripts/install-deps.sh --list printed nothing"
  for p in "${VM_PACKAGES[@]}"; do
    [[ " ${wanted[*]} " == *" $p "* ]] || wanted+=("$p")
  done
  for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    say "packages: ok (all ${#wanted[@]} installed)"
  else
    say "packages: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # A fresh VM may still be running its first apt jobs (apt-daily): wait for their locks.
    local tries=12
    until apt-get -o DPkg::Lock::Timeout=300 update -q; do
      [ $((tries -= 1)) -gt 0 ] || die "packages: apt-get update keeps failing (above)"
      sleep 10
    done
    apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "${missing[@]}"
    changed "packages: installed ${missing[*]}"
  fi
  node -e '
    const [maj, min] = process.versions.node.split(".").map(Number);
    if (maj < 20 || (maj === 20 && min < 19)) process.exit(1);' ||
    die "node $(node --version) is too old: nsx needs 20.19 or newer (Debian 13 has it; on older releases use scripts/start.sh with a newer Node.js)"
}

extra_ca() {
  # Behind a proxy that intercepts TLS (many corporate networks), npm ci and image pulls need the
  # proxy's CA: NSX_EXTRA_CA_CERTS names a PEM file of one or more certificates (the Vagrantfile
  # uploads the host's NSX_VM_CA_CERTS). They join the system's trusted CAs, which Debian's node,
  # npm and skopeo use. One file per certificate, as update-ca-certificates(8) expects.
  [ -n "${NSX_EXTRA_CA_CERTS:-}" ] || return 0
  [ -s "$NSX_EXTRA_CA_CERTS" ] || die "extra CA: NSX_EXTRA_CA_CERTS=$NSX_EXTRA_CA_CERTS is not a PEM file"
  local split n=0 wrote=0 cert
  split=$(mktemp -d)
  awk -v dir="$split" '/-----BEGIN CERTIFICATE-----/ { n++ } n { print > (dir "/" n ".crt") }' "$NSX_EXTRA_CA_CERTS"
  for cert in "$split"/*.crt; do
    [ -f "$cert" ] || die "extra CA: no certificate in $NSX_EXTRA_CA_CERTS"
    n=$((n + 1))
    write_file "/usr/local/share/ca-certificates/namespace-explorer-$n.crt" 644 <"$cert" && wrote=1
  done
  rm -rf "$split"
  if [ $wrote = 1 ]; then
    update-ca-certificates
    changed "extra CA: $n certificates from $NSX_EXTRA_CA_CERTS are trusted"
  else
    say "extra CA: ok ($n certificates trusted)"
  fi
}

project_copy() {
  if [ "$DIR" = "$SRC" ]; then
    say "project copy: none (built in place)"
    return
  fi
  if [ ! -d "$DIR" ]; then
    install -d -o "$OWNER" -g "$OWNER_GROUP" "$DIR"
    changed "project copy: created $DIR"
  fi
  # Everything in the copy belongs to its owner; `sudo npm test` leaves root's files in dist/.
  # The root filesystems are root's on purpose (as an image's files are).
  local stray=()
  mapfile -d '' stray < <(find "$DIR" \( -path "$DIR/sandbox/rootfs" -o -path "$DIR/test/.work" \) -prune \
    -o \( ! -user "$OWNER" -o ! -group "$OWNER_GROUP" \) -print0)
  if [ ${#stray[@]} -gt 0 ]; then
    chown -h "$OWNER:$OWNER_GROUP" "${stray[@]}"
    changed "project copy: gave ${#stray[@]} files back to $OWNER"
  fi
  # The host's build outputs and installs stay on the host (node_modules may be macOS's); what the
  # VM built is kept (excluded files are never deleted).
  local out
  # --omit-dir-times: the build adds to folders of the copy (shim/, sandbox/): their times are its own.
  out=$(as_owner rsync -a --omit-dir-times --delete --itemize-changes \
    --exclude=/.git/ --exclude=/.vagrant/ --exclude=/node_modules/ --exclude=/dist/ \
    --exclude=/shim/nsx-shim --exclude=/sandbox/rootfs/ --exclude=/test/.work/ \
    --filter=':- .gitignore' "$SRC/" "$DIR/")
  if [ -n "$out" ]; then
    changed "project copy: updated $(printf '%s\n' "$out" | wc -l) paths from $SRC: $(printf '%s\n' "$out" | cut -d' ' -f2- | head -n 5 | xargs)$([ "$(printf '%s\n' "$out" | wc -l)" -le 5 ] || echo ' …')"
  else
    say "project copy: ok (same as $SRC)"
  fi
}

build() {
  # npm ci when the dependencies changed (it also builds: "prepare"); npm run build when only the
  # sources did. The stamp lives in node_modules, so it goes when npm ci replaces node_modules.
  local stamp=$DIR/node_modules/.nsx-provision deps src p inputs=()
  deps=$(cd "$DIR" && { cat package.json package-lock.json; node --version; } | sha256sum | cut -c1-64)
  # What `npm run build` reads: the shim's source, what tsconfig.build.json includes, and the
  # bundler's script (scripts/build-cli.mjs and scripts/bundle/).
  for p in bin src lessons shim scripts/build-shim.mjs scripts/build-cli.mjs scripts/bundle tsconfig.json \
    tsconfig.build.json package.json; do
    [ ! -e "$DIR/$p" ] || inputs+=("$p")
  done
  src=$(cd "$DIR" && find "${inputs[@]}" -type f ! -path shim/nsx-shim -print0 | sort -z | xargs -0 sha256sum |
    sha256sum | cut -c1-64)
  local want
  want=$(printf 'deps %s\nbuild %s\n' "$deps" "$src")
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$DIR/shim/nsx-shim" ] &&
    [ -f "$DIR/dist/src/cli/main.js" ] && [ -f "$DIR/dist/bundle/nsx.cjs" ] && [ -f "$DIR/dist/bundle/nsxd.mjs" ]; then
    say "build: ok (nothing changed since the last build)"
    return
  fi
  if [ ! -f "$stamp" ] || ! grep -qx "deps $deps" "$stamp"; then
    say "build: npm ci (as $OWNER; downloads the dependencies)"
    as_owner npm ci --prefer-offline --no-audit --no-fund
  else
    say "build: npm run build (as $OWNER)"
    as_owner npm run build
  fi
  printf '%s\n' "$want" | as_owner tee "$stamp" >/dev/null
  changed "build: built $DIR"
}

nsx_on_path() {
  local link=/usr/local/bin/nsx target=$DIR/bin/nsx.cjs
  if [ "$(readlink /usr/local/bin/nsx 2>/dev/null)" = "$target" ]; then
    say "nsx on PATH: ok ($link -> $target)"
  else
    ln -sfn "$target" "$link"
    changed "nsx on PATH: $link -> $target"
  fi
}

sandbox_rootfs() {
  # As root: a root filesystem's files belong to root, as an image's do.
  if [ -x "$DIR/sandbox/rootfs/busybox/bin/busybox" ]; then
    say "sandbox rootfs: ok ($DIR/sandbox/rootfs/busybox)"
  else
    bash "$DIR/sandbox/build-busybox-rootfs.sh" "$DIR/sandbox/rootfs/busybox"
    changed "sandbox rootfs: built $DIR/sandbox/rootfs/busybox"
  fi
}

registry_up() {
  # shellcheck disable=SC2016 # a JavaScript template string
  node -e '
    fetch(`http://${process.argv[1]}/v2/`, { signal: AbortSignal.timeout(2000) })
      .then((r) => process.exit(r.status === 200 ? 0 : 1), () => process.exit(1));' "$REGISTRY_ADDR"
}

registry_service() {
  if ! have_systemd; then
    say "registry: skipped: no systemd here (a chroot or a container?); in the VM docker-registry.service serves $REGISTRY_ADDR"
    return
  fi
  if ! systemctl is-enabled --quiet docker-registry.service; then
    systemctl enable docker-registry.service
    changed "registry: enabled docker-registry.service"
  fi
  # Restarted when its config is newer than the running service (written by this run or by one
  # that failed before getting here).
  local since newest
  since=$(systemctl show --timestamp=unix -P ActiveEnterTimestamp docker-registry.service | tr -d @)
  newest=$(stat -c %Y /etc/nsx/registry.yml /etc/systemd/system/docker-registry.service.d/namespace-explorer.conf | sort -n | tail -n 1)
  if ! systemctl is-active --quiet docker-registry.service; then
    systemctl start docker-registry.service
    changed "registry: started docker-registry.service"
  elif [ -z "$since" ] || [ "$newest" -ge "$since" ]; then
    systemctl daemon-reload
    systemctl restart docker-registry.service
    changed "registry: restarted docker-registry.service with /etc/nsx/registry.yml"
  fi
  local tries=50
  until registry_up || [ $((tries -= 1)) -eq 0 ]; do sleep 0.2; done
  registry_up || die "registry: nothing answers on http://$REGISTRY_ADDR/v2/ (journalctl -u docker-registry)"
  # Loopback only: nothing may listen on port 5000 at any other address.
  if ss -Hltn 'sport = :5000' | awk '{print $4}' | grep -vqx "$REGISTRY_ADDR"; then
    die "registry: something listens on port 5000 beyond $REGISTRY_ADDR: $(ss -Hltn 'sport = :5000' | awk '{print $4}' | xargs)"
  fi
  say "registry: ok (http://$REGISTRY_ADDR/v2/ answers; loopback only)"
}

# The registry's content, one "repository:tag" a line, sorted.
registry_listing() {
  # shellcheck disable=SC2016 # JavaScript template strings
  node -e '
    const base = `http://${process.argv[1]}/v2`;
    const get = (path) => fetch(base + path, { signal: AbortSignal.timeout(5000) }).then((r) => r.json());
    (async () => {
      const lines = [];
      for (const repo of (await get("/_catalog")).repositories ?? []) {
        for (const tag of (await get(`/${repo}/tags/list`)).tags ?? []) lines.push(`${repo}:${tag}`);
      }
      console.log(lines.sort().join("\n"));
    })().catch((e) => { console.error(e.message); process.exit(1); });' "$REGISTRY_ADDR"
}

sandbox_images() {
  # `npm run sandbox:images -- --push REGISTRY` (the images work, issue 4) builds the sandbox images
  # from busybox-static, reproducibly (same inputs, same digests), and pushes them. They are built
  # as the project's owner into a temporary store: the VM's own store (/var/lib/nsx) stays empty,
  # so a learner's first `nsx run busybox` pulls from the local registry, offline.
  if ! has_npm_script sandbox:images; then
    say "sandbox images: skipped: this checkout has no \`npm run sandbox:images\`"
    return
  fi
  local stamp=/var/lib/nsx/sandbox-images.pushed inputs listing
  inputs=$(cd "$DIR" && {
    find sandbox/images dist/src/image -path sandbox/images/oci -prune -o -type f -print0 | sort -z | xargs -0 sha256sum
    sha256sum "$(command -v busybox)"
  } | sha256sum | cut -c1-64)
  if have_systemd; then
    registry_up || die "sandbox images: the registry is not answering on $REGISTRY_ADDR"
  else
    # No systemd (a chroot or a container): a registry for this step only, on the same storage.
    # Whatever already listens on port 5000 here is not ours: never push into it.
    if [ -n "$(ss -Hltn 'sport = :5000')" ]; then
      say "sandbox images: skipped: port 5000 is taken here (no systemd, so not by this machine's registry)"
      return
    fi
    runuser -u docker-registry -- /usr/bin/docker-registry serve /etc/nsx/registry.yml >/dev/null 2>&1 &
    TEMPORARY_REGISTRY=$!
    trap 'kill "$TEMPORARY_REGISTRY" 2>/dev/null || true' EXIT
    local tries=50
    until registry_up || [ $((tries -= 1)) -eq 0 ]; do sleep 0.2; done
    registry_up || die "sandbox images: the registry started for this step does not answer"
  fi
  listing=$(registry_listing)
  if [ -f "$stamp" ] && [ "$(head -n 1 "$stamp")" = "inputs $inputs" ] &&
    [ -z "$(LC_ALL=C comm -23 <(tail -n +2 "$stamp") <(printf '%s\n' "$listing"))" ]; then
    say "sandbox images: ok (in the registry: $(tail -n +2 "$stamp" | xargs))"
  else
    local work
    work=$(mktemp -d)
    chown "$OWNER:$OWNER_GROUP" "$work"
    as_owner env NSX_ROOT="$work/store" npm run --silent sandbox:images -- --out "$work/oci" --push localhost:5000
    rm -rf "$work"
    listing=$(registry_listing)
    mkdir -p "$(dirname "$stamp")"
    printf 'inputs %s\n%s\n' "$inputs" "$listing" >"$stamp"
    changed "sandbox images: pushed to localhost:5000: $(printf '%s\n' "$listing" | xargs)"
  fi
  if [ -n "${TEMPORARY_REGISTRY:-}" ]; then
    kill "$TEMPORARY_REGISTRY"
    wait "$TEMPORARY_REGISTRY" 2>/dev/null || true
    trap - EXIT
  fi
}

# The pid the engine on ENGINE_SOCKET gives in GET /version; fails when nothing answers there.
engine_pid() {
  node -e '
    const req = require("node:http").get({ socketPath: process.argv[1], path: "/version", timeout: 2000 }, (r) => {
      let body = "";
      r.on("data", (c) => (body += c));
      r.on("end", () => {
        const pid = r.statusCode === 200 ? JSON.parse(body).Pid : undefined;
        if (!pid) process.exit(1);
        console.log(pid);
      });
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => process.exit(1));' "$ENGINE_SOCKET"
}

engine_service() {
  # Docker's engine is a service (dockerd.service), always running; so is nsx's in the VM. The CLI's
  # verbs still start an engine of their own when none answers (src/engine/client.ts), e.g. after
  # `sudo nsx engine stop`; `sudo systemctl start nsxd` brings the service's back.
  #
  # KillMode=process: on `systemctl stop` (and restart) systemd sends SIGTERM to nsxd alone, which
  # stops its containers itself (the same as `nsx engine stop`) and exits 0. Not control-group: the
  # containers' supervisors (the shim, nsxd's children) are in this unit's cgroup (the containers
  # themselves are not: nsx moves them to /sys/fs/cgroup/nsx/<id>, from the hierarchy's root, so
  # the engine's own cgroup does not matter and no Delegate= is needed). A supervisor dies of
  # SIGTERM (it does not catch it) as of SIGKILL, and its container does not die with it (PID 1 of
  # its own PID namespace has no parent-death signal): it is left running, orphaned, in a cgroup
  # systemd does not watch. control-group SIGTERMs the supervisors with nsxd, racing the engine's
  # own stop, and, after nsxd crashed, before they have killed their containers; mixed SIGKILLs
  # them once nsxd is gone or too slow (TimeoutStopSec). Both orphan containers (tried by hand: a
  # supervisor signalled right after its engine's kill -9 leaves its container running). With
  # process, systemd's signals only ever reach nsxd, and when nsxd is gone each supervisor sees its
  # channel to the engine close, kills its container and removes its cgroup (the engine's kill -9
  # case, README "The engine"). moby's docker.service also uses KillMode=process.
  # Restart=on-failure: nsxd exits 0 after SIGTERM (`nsx engine stop`, systemctl stop), which is not
  # restarted; a crash is, and the new engine starts again the containers whose policy says so.
  # ExecStart: the engine's bundle (scripts/build-cli.mjs), the program `nsx engine start` runs too
  # (nsxdPath() in src/engine/client.ts): one engine build, whichever way it is started.
  local unit=/etc/systemd/system/nsxd.service
  if write_file "$unit" 644 <<UNIT
# namespace-explorer's engine (written by scripts/provision.sh; why KillMode=process: see there).
[Unit]
Description=namespace-explorer's container engine (nsxd)
Documentation=file://$DIR/README.md
# At boot it starts again the containers whose restart policy says so: after the host's network, as
# docker.service does.
After=network.target

[Service]
Type=simple
ExecStart=/usr/bin/node "$DIR/dist/bundle/nsxd.mjs"
KillMode=process
Restart=on-failure
RestartSec=2

[Install]
WantedBy=multi-user.target
UNIT
  then
    changed "engine: wrote $unit"
    if have_systemd; then systemctl daemon-reload; fi
  fi
  if ! have_systemd; then
    say "engine: skipped: no systemd here (a chroot or a container?); in the VM nsxd.service runs the engine (nsx engine start does it by hand)"
    return
  fi
  if ! systemctl is-enabled --quiet nsxd.service; then
    systemctl enable nsxd.service
    changed "engine: enabled nsxd.service"
  fi
  # Restarted when its unit or the build is newer than the running service (the build stamp is
  # rewritten at every build; the shim is what the engine runs containers with). Strictly newer: a
  # build and a start in the same second are this run's build then its start (a build whose steps
  # after it took under a second), and must not restart it again on the next run.
  local since newest pid
  since=$(systemctl show --timestamp=unix -P ActiveEnterTimestamp nsxd.service | tr -d @)
  newest=$(stat -c %Y "$unit" "$DIR/node_modules/.nsx-provision" "$DIR/shim/nsx-shim" | sort -n | tail -n 1)
  if ! systemctl is-active --quiet nsxd.service; then
    # An engine started by hand (nsx engine start, or a verb) holds the socket: the service's nsxd
    # would exit at once. Leave that engine and its containers alone.
    if pid=$(engine_pid); then
      say "engine: nsxd.service not started: an engine started by hand answers on $ENGINE_SOCKET (pid $pid); to run it as the service: sudo nsx engine stop && sudo systemctl start nsxd"
      return
    fi
    # A unit that crashed too often in a row refuses to start until its failure is forgotten.
    systemctl reset-failed nsxd.service 2>/dev/null || true
    systemctl start nsxd.service
    changed "engine: started nsxd.service"
  elif [ -z "$since" ] || [ "$newest" -gt "$since" ]; then
    systemctl restart nsxd.service
    changed "engine: restarted nsxd.service with the new build (its containers were stopped; those with a restart policy started again)"
  fi
  local main tries=50
  main=$(systemctl show -P MainPID nsxd.service)
  until [ "$(engine_pid)" = "$main" ] || [ $((tries -= 1)) -eq 0 ]; do
    sleep 0.2
    main=$(systemctl show -P MainPID nsxd.service)
  done
  if [ "$main" = 0 ]; then die "engine: nsxd.service is not running (systemctl status nsxd; journalctl -u nsxd)"; fi
  [ "$(engine_pid)" = "$main" ] || die "engine: nsxd.service (pid $main) does not answer on $ENGINE_SOCKET (journalctl -u nsxd)"
  say "engine: ok (nsxd.service, pid $main, answers on $ENGINE_SOCKET)"
}

# docker CMD... as USER (first argument), with that user's HOME: where the CLI keeps its contexts
# (~/.docker/contexts, and currentContext in ~/.docker/config.json).
docker_as() {
  local user=$1 home
  shift
  home=$(getent passwd "$user" | cut -d: -f6)
  if [ "$user" = root ]; then HOME=$home docker "$@"; else runuser -u "$user" -- env HOME="$home" docker "$@"; fi
}

docker_context() {
  # Docker's CLI is a client of an engine's HTTP API on a Unix socket (docker context create(1):
  # "--docker host=unix://..."); nsxd answers that API (docs/engine-api.md). A context rather than
  # DOCKER_HOST: sudo's env_reset drops DOCKER_HOST, and a context is kept in the user's own
  # ~/.docker. For root (`sudo docker ps`: the socket is root's alone, mode 0600, as dockerd's is
  # root's and the docker group's) and for the project's user (whose `docker ps` then says it may
  # not open that socket, naming it). The CLI starts no engine: nsxd.service is the one it finds.
  command -v docker >/dev/null || die "docker context: no docker command (the docker-cli package)"
  local user users=(root)
  [ "$OWNER" = root ] || users+=("$OWNER")
  for user in "${users[@]}"; do
    if ! docker_as "$user" context inspect nsx >/dev/null 2>&1; then
      docker_as "$user" context create nsx --description "namespace-explorer's engine (nsxd)" \
        --docker "host=unix://$ENGINE_SOCKET" >/dev/null
      changed "docker context: created nsx (unix://$ENGINE_SOCKET) for $user"
    fi
    if [ "$(docker_as "$user" context show 2>/dev/null)" != nsx ]; then
      docker_as "$user" context use nsx >/dev/null
      changed "docker context: nsx is $user's current docker context"
    fi
  done
  say "docker context: ok ($(docker --version): docker ps asks nsxd on unix://$ENGINE_SOCKET, as ${users[*]})"
}

boot_time() {
  local file=/var/lib/nsx/vm-boot-time.json
  if [ -f "$file" ]; then
    say "boot time: ok (recorded at the first provisioning: $file)"
    return
  fi
  local userspace=0 finish=0 container=""
  # In a container systemd starts long after the kernel did: no boot to count but systemd's own.
  container=$(systemd-detect-virt --container 2>/dev/null) || container=""
  if have_systemd; then
    # "Startup finished" may not have happened yet on a VM that was just booted.
    timeout 120 systemctl is-system-running --wait >/dev/null 2>&1 || true
    userspace=$(systemctl show -P UserspaceTimestampMonotonic)
    finish=$(systemctl show -P FinishTimestampMonotonic)
  fi
  mkdir -p "$(dirname "$file")"
  node - "$file" "$userspace" "$finish" "$uptime_at_start" "$started" "$(date +%s)" "${NSX_VAGRANT_UP_STARTED:-}" "$container" <<'JS'
const [file, userspaceUs, finishUs, uptime, started, now, vagrantUp, container] = process.argv.slice(2);
const { writeFileSync } = require('node:fs');
const s = (us) => Math.round(us / 1000) / 1000;
const notes = [];
const booted = Number(finishUs) > 0;
if (!booted) notes.push('no systemd boot record (no systemd, or startup not finished): boot times unknown');
if (!vagrantUp) notes.push('not provisioned by Vagrant: vagrantUpSeconds unknown');
if (container) notes.push(`in a container (${container}): no kernel boot; bootSeconds is systemd's start only`);
const kernel = booted && !container ? s(Number(userspaceUs)) : null;
const userspace = booted ? s(Number(finishUs) - Number(userspaceUs)) : null;
const record = {
  format: 1,
  recordedAt: new Date(Number(now) * 1000).toISOString(),
  kernelSeconds: kernel,
  userspaceSeconds: userspace,
  bootSeconds: booted ? (container ? userspace : s(Number(finishUs))) : null,
  uptimeAtProvisionSeconds: Number(uptime),
  provisionSeconds: Number(now) - Number(started),
  vagrantUpSeconds: vagrantUp ? Number(now) - Number(vagrantUp) : null,
  notes,
};
writeFileSync(file, JSON.stringify(record, null, 2) + '\n', { mode: 0o644 });
JS
  changed "boot time: wrote $file"
}

login_message() {
  if write_file /etc/motd.d/namespace-explorer 644 <<MOTD

namespace-explorer (nsx): watch a real container being built, one kernel feature at a time.

  Start here:  $START_COMMAND
  This VM:     nsx doctor        The project: $DIR
  Tests:       cd $DIR && sudo npm test
  The engine:  sudo nsx engine status   (nsxd.service; its log: journalctl -u nsxd)
  Docker's CLI: sudo docker ps         (Docker's real client, talking to nsx's engine)
  $PROGRESS_NOTE

MOTD
  then changed "login message: wrote /etc/motd.d/namespace-explorer"
  else say "login message: ok"; fi
}

doctor() {
  say "nsx doctor:"
  /usr/local/bin/nsx doctor && return
  if have_systemd; then
    die "nsx doctor found a critical problem (above): containers cannot run on this machine as it is"
  fi
  # In a container the kernel features may be hidden (no cgroup filesystem mounted): not fatal here.
  say "nsx doctor: the problems above are not fatal here: no systemd (a chroot or a container?), so this is not the machine that will run containers"
}

choose_paths
registry_config
image_names
packages
extra_ca
project_copy
build
nsx_on_path
sandbox_rootfs
registry_service
sandbox_images
engine_service
docker_context
boot_time
login_message
doctor
if [ ${#changes[@]} -eq 0 ]; then
  say "nothing to do: everything was already in place ($(( $(date +%s) - started )) s)"
else
  say "done: ${#changes[@]} changes in $(( $(date +%s) - started )) s. Start with: $START_COMMAND"
fi
