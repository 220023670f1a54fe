#!/usr/bin/env bash
# tools/luajit.sh: fetch Debian's `luajit2` source package (OpenResty's LuaJIT 2.1) and
# build it with LUAJIT_ENABLE_CHECKHOOK into a cache outside the repository, where
# CMakeLists.txt finds it. Re-runs reuse the cache and do nothing.
#
# CHECKHOOK makes JIT-compiled code check the hook mask, so the CPU watchdog can stop
# a runaway compiled loop (DESIGN.md §5). The apt lookup uses a private sources list
# and private state directories: the system's apt configuration is never touched.
#
#   LUATRADE_CACHE   cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/luatrade)
set -euo pipefail

cache="${LUATRADE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/luatrade}"
prefix="$cache/luajit"
stamp="$prefix/.built-checkhook"
if [[ -f "$stamp" && -f "$prefix/lib/libluajit-checkhook.a" ]]; then
    echo "luajit: using cached CHECKHOOK build in $prefix ($(cat "$stamp"))"
    exit 0
fi

for tool in apt-get dpkg-source make cc; do
    command -v "$tool" >/dev/null || { echo "luajit: $tool is missing (run tools/setup.sh)" >&2; exit 1; }
done

apt="$cache/apt"
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$cache/src"
. /etc/os-release
codename="${VERSION_CODENAME:-bookworm}"
cat >"$apt/sources.list" <<SRC
deb-src http://deb.debian.org/debian $codename main
deb-src http://deb.debian.org/debian $codename-updates main
deb-src http://deb.debian.org/debian-security $codename-security main
SRC
aptopts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
         -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache"
         -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")

echo "luajit: looking up the luajit2 source package (private apt lists in $apt)"
apt-get "${aptopts[@]}" -qq update
cd "$cache/src"
if ! ls luajit2_*.dsc >/dev/null 2>&1; then
    echo "luajit: downloading luajit2 source"
    apt-get "${aptopts[@]}" -qq source --download-only luajit2
fi
dsc=$(ls luajit2_*.dsc | sort -V | tail -n 1)
version=${dsc#luajit2_}; version=${version%.dsc}
srcdir="$cache/src/luajit2-$version"
if [[ ! -d "$srcdir" ]]; then
    echo "luajit: unpacking $dsc"
    dpkg-source --no-check -x "$dsc" "$srcdir" >/dev/null
fi

echo "luajit: building $version with -DLUAJIT_ENABLE_CHECKHOOK"
make -C "$srcdir" clean >/dev/null
make -C "$srcdir" -j"$(nproc)" BUILDMODE=static \
     XCFLAGS="-DLUAJIT_ENABLE_CHECKHOOK" CFLAGS="-O2 -fno-omit-frame-pointer" >"$cache/luajit-build.log" 2>&1 \
    || { tail -n 30 "$cache/luajit-build.log" >&2; exit 1; }

rm -rf "$prefix"
mkdir -p "$prefix/include" "$prefix/lib" "$prefix/bin"
cp "$srcdir"/src/{lua.h,lualib.h,lauxlib.h,luaconf.h,lua.hpp,luajit.h} "$prefix/include/"
cp "$srcdir/src/libluajit.a" "$prefix/lib/libluajit-checkhook.a"
cp "$srcdir/src/luajit" "$prefix/bin/luajit"
mkdir -p "$prefix/share/jit" && cp -r "$srcdir/src/jit/." "$prefix/share/jit/"
echo "$version" >"$stamp"
echo "luajit: installed $version (CHECKHOOK) in $prefix"
