#!/usr/bin/env bash
# tools/test.sh: build luatrade and run the whole test suite. The README's test command;
# CI runs it through .ci/run.
#
# Steps, each announced by a "==> [i/n]" line, stopping at the first failure:
#   1. tools/setup.sh            install missing Debian packages, build the cached LuaJIT,
#                                npm ci when node_modules is out of date
#   2. tools/format.sh --check   the C sources match .clang-format
#   3-5. asan preset (build-asan/): configure, build, ctest -L 'unit|lua|api|console|backtest' under ASan and
#        UBSan; a leak, a memory error or undefined behaviour fails the test (the same
#        filter and options as the asan test preset in CMakePresets.json; keep them equal)
#   6-8. fuzz preset (build-fuzz/, clang): configure, build the fuzz targets, ctest -L fuzz
#        (20 s of libFuzzer per target from tests/fuzz/corpus/, about a minute in all)
#   9-11. plain build (build/, RelWithDebInfo): configure, build, ctest with every label
# The plain full run comes last so that the last ctest summary printed (the one CI reads)
# covers the whole suite. The final line says PASSED or FAILED; the exit status is 0 only
# if everything passed. Needs no terminal: stdin is closed and nothing prompts.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec </dev/null

jobs=2
total=11
n=0
started=$SECONDS

elapsed() {
    local s=$((SECONDS - $1))
    printf '%dm%02ds' $((s / 60)) $((s % 60))
}

# step TITLE COMMAND...: run one step; on failure print the summary line and exit.
step() {
    local title=$1 t=$SECONDS rc=0
    shift
    n=$((n + 1))
    printf '\n==> [%d/%d] %s\n    $ %s\n' "$n" "$total" "$title" "$*"
    "$@" || rc=$?
    if ((rc != 0)); then
        printf '\ntools/test.sh: FAILED at step %d/%d (%s), exit %d, after %s\n' \
            "$n" "$total" "$title" "$rc" "$(elapsed "$started")" >&2
        exit "$rc"
    fi
    printf '    step %d done in %s\n' "$n" "$(elapsed "$t")"
}

step "setup: Debian packages, LuaJIT, npm ci" tools/setup.sh
step "format check" tools/format.sh --check

step "asan: configure build-asan/" cmake --preset asan
step "asan: build" cmake --build --preset asan -j"$jobs"
step "asan: ctest -L 'unit|lua|api|console|backtest' (leaks fail)" \
    env ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-asan -L 'unit|lua|api|console|backtest' --output-on-failure --no-tests=error \
    --timeout 300 -j"$jobs"

step "fuzz: configure build-fuzz/" cmake --preset fuzz
step "fuzz: build the fuzz targets" cmake --build --preset fuzz -j"$jobs"
step "fuzz: ctest -L fuzz (20 s per target)" \
    ctest --test-dir build-fuzz -L fuzz --output-on-failure --no-tests=error

step "plain: configure build/" cmake -S . -B build
step "plain: build" cmake --build build -j"$jobs"
step "plain: ctest, all labels" \
    ctest --test-dir build --output-on-failure --no-tests=error --timeout 300 -j"$jobs"

printf '\ntools/test.sh: PASSED, all %d steps in %s\n' "$total" "$(elapsed "$started")"
