#!/usr/bin/env bash
# tools/promtool.sh: print the path of a `promtool` binary, fetching Debian's
# `prometheus` package into a cache outside the repository when none is installed.
# The tests run `$(tools/promtool.sh) check metrics` on the host's /metrics page.
#
# Order: `promtool` on PATH; else the cached copy; else `apt-get download prometheus`
# (with the system's package lists when they know the package, otherwise with a private
# sources list and private state directories, as tools/luajit.sh does: the system's apt
# configuration is never touched), `dpkg-deb -x` into the cache, and the path of its
# usr/bin/promtool. Nothing is installed; no root is needed. Messages go to stderr, the
# path alone to stdout; exit 1 when promtool cannot be had.
#
#   LUATRADE_CACHE   cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/luatrade)
set -euo pipefail

say() { printf 'promtool: %s\n' "$*" >&2; }

if command -v promtool >/dev/null 2>&1; then
    command -v promtool
    exit 0
fi

cache="${LUATRADE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/luatrade}"
dir="$cache/prometheus"
bin="$dir/root/usr/bin/promtool"
if [[ -x "$bin" ]]; then
    echo "$bin"
    exit 0
fi

for tool in apt-get dpkg-deb; do
    command -v "$tool" >/dev/null || { say "$tool is missing"; exit 1; }
done
mkdir -p "$dir/debs"
cd "$dir/debs"

# A private apt setup for machines whose lists do not know the package.
private_apt() {
    local apt="$dir/apt" codename
    mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
    # shellcheck source=/dev/null
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
    cat >"$apt/sources.list" <<SRC
deb http://deb.debian.org/debian $codename main
deb http://deb.debian.org/debian $codename-updates main
deb http://deb.debian.org/debian-security $codename-security main
SRC
    aptopts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
             -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
             -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
    say "looking up the prometheus package (private apt lists in $apt)"
    apt-get "${aptopts[@]}" -qq update >&2
}

if ! ls prometheus_*.deb >/dev/null 2>&1; then
    aptopts=(-o "APT::Sandbox::User=root")
    if ! apt-cache show prometheus >/dev/null 2>&1; then private_apt; fi
    say "downloading Debian's prometheus package into $dir/debs"
    apt-get "${aptopts[@]}" -qq download prometheus >&2 || {
        say "apt-get download prometheus failed"
        exit 1
    }
fi
deb=$(ls prometheus_*.deb | sort -V | tail -n 1)
rm -rf "$dir/root.tmp"
dpkg-deb -x "$deb" "$dir/root.tmp"
[[ -x "$dir/root.tmp/usr/bin/promtool" ]] || { say "$deb has no usr/bin/promtool"; exit 1; }
rm -rf "$dir/root"
mv "$dir/root.tmp" "$dir/root"
say "unpacked $deb"
echo "$bin"
