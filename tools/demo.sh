#!/usr/bin/env bash
# tools/demo.sh: the README's demo command. Installs what is missing (tools/setup.sh),
# builds build/luatrade, then replaces itself with
#   build/luatrade run config/default.lua [ARGS...]
# (sim feed, paper venue, example strategies, web page). Extra arguments go to
# `luatrade run`, e.g. `tools/demo.sh --for 30s` or `tools/demo.sh --listen 127.0.0.1:8080`.
# Stop it with Ctrl-C.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '==> demo: %s\n' "$*"; }

say "tools/setup.sh"
tools/setup.sh
say "cmake -S . -B build"
cmake -S . -B build
say "cmake --build build -j2"
cmake --build build -j2
say "exec build/luatrade run config/default.lua $*"
exec build/luatrade run config/default.lua "$@"
