#!/usr/bin/env bash
# tools/setup.sh: make this Debian 12 machine able to build, run and test luatrade.
#
# 1. Installs the Debian packages listed below that are not installed yet. It asks
#    dpkg-query first and only calls `apt-get update` and `apt-get install` when
#    something is missing, so a second run does no apt work at all. It uses the
#    system's apt sources as they are and never changes them.
# 2. Runs tools/luajit.sh, which builds the CHECKHOOK LuaJIT into the cache once, and
#    tools/promtool.sh, which unpacks Debian's promtool into the cache once.
# 3. Installs the npm dependencies of package.json (TA-Lib, the reference the indicator
#    tests compare against; preact, htm and lightweight-charts, which the build copies
#    into build/www/vendor for the web page; ws and playwright-core for the WebSocket and
#    browser tests) with `npm ci` from package-lock.json, only
#    when node_modules is missing or older than the lock. The `talib` package builds
#    TA-Lib's bundled C sources with node-gyp (python3, make, g++); nothing prebuilt
#    is downloaded. Node and npm are checked by command, not by package name: the
#    NodeSource `nodejs` package bundles npm and conflicts with Debian's `npm`, so
#    asking apt for `npm` there would replace that Node. Debian's own nodejs and npm
#    are installed only when a command is missing.
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
    libcurl4-openssl-dev libedit-dev libssl-dev zlib1g-dev
    # unit tests
    libcmocka-dev
    # fuzzing (libFuzzer comes with clang's runtime) and the formatting check
    clang libclang-rt-14-dev clang-format
    # servers the integration tests start on loopback
    postgresql redis-server
    # test and demo helpers; chromium for the page's browser tests (driven by the npm
    # package playwright-core, never a downloaded browser); wrk for the HTTP benchmark
    socat tmux chromium wrk
    # node-gyp building the npm package `talib` (node and npm themselves: see below)
    python3 make g++
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
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)

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
    command -v node >/dev/null || still+=("(node command)")
    command -v npm >/dev/null || still+=("(npm command)")
    if ((${#still[@]})); then
        say "still not installed after apt-get: ${still[*]}" >&2
        exit 1
    fi
    say "installed ${#missing[@]} packages"
fi

say "running: tools/luajit.sh"
tools/luajit.sh

# promtool (from Debian's prometheus package, unpacked into the cache, not installed:
# the package would bring a daemon) validates /metrics in the tests.
say "promtool: $(tools/promtool.sh)"

# npm ci replaces node_modules as a whole; the stamp is written only after it
# succeeded, so a failed or interrupted install is retried on the next run.
stamp=node_modules/.luatrade-setup
if [[ -f $stamp && ! package-lock.json -nt $stamp ]]; then
    say "node_modules up to date with package-lock.json"
else
    # node-gyp uses the installed Node headers instead of fetching a tarball of them.
    if [[ -f /usr/include/node/node_version.h ]]; then
        export npm_config_nodedir=/usr
    fi
    export npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
    if [[ -f package-lock.json ]]; then
        say "running: npm ci"
        npm ci </dev/null
    else
        say "no package-lock.json; running: npm install"
        npm install </dev/null
    fi
    touch "$stamp"
fi
