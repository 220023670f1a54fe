#!/usr/bin/env bash
# tests/fuzz/run.sh: one fuzz ctest (tests/fuzz/CMakeLists.txt).
#
#   run.sh FUZZER CORPUS_DIR WORK_DIR SECONDS [EXTRA_SEED...] -- [FUZZER_ARG...]
#
# Copies the committed seeds (CORPUS_DIR and any EXTRA_SEED files) into a fresh
# WORK_DIR/corpus, then runs FUZZER on it for SECONDS. New inputs and any crash-*,
# leak-* or timeout-* artifact stay in WORK_DIR; the source tree is only read. Exits
# with the fuzzer's status (non-zero when it found something).
set -euo pipefail

fuzzer=$1 seeds=$2 work=$3 seconds=$4
shift 4
extra=()
while (($#)) && [[ $1 != -- ]]; do
    extra+=("$1")
    shift
done
[[ ${1:-} == -- ]] && shift

rm -rf "$work"
mkdir -p "$work/corpus"
cp "$seeds"/* "$work/corpus/"
if ((${#extra[@]})); then cp "${extra[@]}" "$work/corpus/"; fi
echo "run.sh: $(ls "$work/corpus" | wc -l) seeds, ${seconds}s, artifacts in $work/"
exec "$fuzzer" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/" "$@" "$work/corpus"
