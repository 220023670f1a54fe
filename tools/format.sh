#!/usr/bin/env bash
# tools/format.sh: format luatrade's C sources with the repository's .clang-format.
#
#   tools/format.sh            rewrite the files in place
#   tools/format.sh --check    change nothing; list each misformatted spot and exit 1
#                              if there is any (tools/test.sh and CI run this)
#   tools/format.sh [--check] FILE...   only these files
#
# Default files: host/*.c host/*.h and every .c/.h under tests/.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

check=0
if [[ "${1:-}" == --check ]]; then
    check=1
    shift
fi
if [[ "${1:-}" == -* ]]; then
    echo "usage: tools/format.sh [--check] [FILE...]" >&2
    exit 2
fi

command -v clang-format >/dev/null || { echo "format: clang-format is missing (run tools/setup.sh)" >&2; exit 1; }

if (($#)); then
    files=("$@")
else
    shopt -s nullglob globstar
    files=(host/*.c host/*.h tests/**/*.c tests/**/*.h)
fi
if ((${#files[@]} == 0)); then
    echo "format: no files"
    exit 0
fi

if ((check)); then
    if clang-format --dry-run -Werror "${files[@]}"; then
        echo "format: ${#files[@]} files OK"
    else
        echo "format: misformatted files above; fix them with tools/format.sh" >&2
        exit 1
    fi
else
    clang-format -i "${files[@]}"
    echo "format: formatted ${#files[@]} files"
fi
