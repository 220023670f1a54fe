#!/usr/bin/env bash
# tools/setup.sh: make this Debian 12 machine able to build, run and test luatrade.
#
# 1. Installs the Debian packages listed below that are not installed yet. It asks
#    dpkg-query first and only calls `apt-get update` and `apt-get install` when
#    something is missing, so a second run does no apt work at all. It uses the
#    system's apt sources as they are and never changes them.
# 2. Runs tools/luajit.sh, which builds the CHECKHOOK LuaJIT into the cache once.
#
# Installing needs root (no sudo is assumed): run as non-root with packages missing,
# it lists them and exits 1. Safe to run with no terminal (CI=true, stdin closed).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The one list of Debian packages luatrade needs, by purpose (DESIGN.md §1).
packages=(
    # build toolchain; dpkg-dev and xz-utils let tools/luajit.sh unpack the luajit2 source
    build-essential cmake pkg-config git dpkg-dev xz-utils ca-certificates
    # runtime data (time zones for trading windows) and helper scripts
    tzdata python3
    # libraries the host links
    libevent-dev libcjson-dev libpq-dev libhiredis-dev libwslay-dev
    libcurl4-openssl-dev libedit-dev libssl-dev
    # unit tests
    libcmocka-dev
    # fuzzing (libFuzzer comes with clang's runtime) and the formatting check
    clang libclang-rt-14-dev clang-format
    # servers the integration tests start on loopback
    postgresql redis-server
    # test and demo helpers
    socat tmux
)

say() { printf 'setup: %s\n' "$*"; }

installed() {
    [[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" == ii* ]]
}

# shellcheck source=/dev/null
. /etc/os-release
if [[ "${ID:-}" != debian || "${VERSION_ID:-}" != 12 ]]; then
    say "warning: made for Debian 12, this is ${PRETTY_NAME:-unknown}; carrying on"
fi

missing=()
for p in "${packages[@]}"; do
    installed "$p" || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
    say "all packages present (${#packages[@]} checked)"
else
    say "missing packages: ${missing[*]}"
    if ((EUID != 0)); then
        say "installing them needs root; run tools/setup.sh as root" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    say "running: apt-get update"
    apt-get update </dev/null
    say "running: apt-get install -y --no-install-recommends ${missing[*]}"
    apt-get install -y --no-install-recommends "${missing[@]}" </dev/null
    still=()
    for p in "${missing[@]}"; do installed "$p" || still+=("$p"); done
    if ((${#still[@]})); then
        say "still not installed after apt-get: ${still[*]}" >&2
        exit 1
    fi
    say "installed ${#missing[@]} packages"
fi

say "running: tools/luajit.sh"
tools/luajit.sh
