#!/usr/bin/env bash
# make lint: gcc -fanalyzer and cppcheck over fcgi/, clang-format --dry-run over fcgi/ and
# tests/. One line per tool, then `lint: N passed, N failed`; non-zero exit if a tool fails.
# The compiler flags are the Makefile's own (read with `make -pn`), so lint and build agree.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$ROOT" || exit 1
OUT=$ROOT/tests/out/lint
mkdir -p "$OUT"
JOBS=$(nproc 2>/dev/null || echo 2)

# Tracked files plus new ones not yet added (but not ignored ones).
list_files() {
    if git rev-parse --git-dir >/dev/null 2>&1; then
        git ls-files -co --exclude-standard -- "$@"
    else
        local p
        for p in "$@"; do
            find "${p%%/*}" -type f -path "$p" 2>/dev/null
        done
    fi | sort -u
}
mapfile -t c_files < <(list_files 'fcgi/*.c')
mapfile -t fmt_files < <(list_files 'fcgi/*.[ch]' 'tests/*.[ch]')

pass=0
failed=0
result() {
    if (($2 == 0)); then
        pass=$((pass + 1))
        echo "ok   $1"
    else
        failed=$((failed + 1))
        echo "FAIL $1 (log: tests/out/lint/$3)"
        if [[ $3 == clang-format.log ]]; then
            # One line per violation is too much: name the files instead.
            sed -n 's/^\([^: ]*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' \
                "$OUT/$3" | sort | uniq -c | sed 's/^ */    /; s/$/ clang-format complaints/'
        else
            head -n 60 "$OUT/$3" | sed 's/^/    /'
        fi
    fi
}

# --- gcc -fanalyzer --------------------------------------------------------------------------
# CFLAGS as make computes them (minus dependency-file flags); the quoting in it is the shell's.
flags_line=$(make -pn build 2>/dev/null | sed -n 's/^CFLAGS := //p' | head -n 1)
pkgs=$(make -pn build 2>/dev/null | sed -n 's/^PKGS := //p' | head -n 1)
if [[ -z $flags_line ]]; then
    flags_line="-std=c17 -D_GNU_SOURCE -Wall -Wextra -Ifcgi -DCUBE_SCHEMA_LATEST='\"lint\"' -DCUBE_VERSION='\"lint\"'"
    pkgs="fcgi libpq hiredis json-c libcurl libjwt"
fi
make_flags=()
eval "make_flags=($flags_line)"
cflags=()
for f in "${make_flags[@]}"; do
    [[ $f == -MMD || $f == -MP ]] || cflags+=("$f")
done
# shellcheck disable=SC2086 # a list of package names
read -ra pkg_cflags <<<"$(pkg-config --cflags $pkgs 2>/dev/null)"

if ((${#c_files[@]} == 0)); then
    echo "ok   gcc -fanalyzer (no files)"
else
    printf '%s\0' "${c_files[@]}" |
        xargs -0 -I '{}' -P "$JOBS" gcc "${cflags[@]}" "${pkg_cflags[@]}" -fanalyzer \
            -c '{}' -o /dev/null >"$OUT/analyzer.log" 2>&1
    result "gcc -fanalyzer (${#c_files[@]} files)" $? analyzer.log
fi

# --- cppcheck --------------------------------------------------------------------------------
# System headers are not parsed (missingIncludeSystem); the -D's pin the one configuration
# the build uses instead of every #ifdef combination.
if ((${#c_files[@]} == 0)); then
    echo "ok   cppcheck (no files)"
else
    cppcheck --enable=warning,portability --error-exitcode=1 --inline-suppr --quiet \
        --std=c11 --suppress=missingIncludeSystem -I fcgi -D_GNU_SOURCE \
        -DCUBE_SCHEMA_LATEST='"lint"' -DCUBE_VERSION='"lint"' -j "$JOBS" --template=gcc \
        "${c_files[@]}" >"$OUT/cppcheck.log" 2>&1
    result "cppcheck (${#c_files[@]} files)" $? cppcheck.log
fi

# --- clang-format ----------------------------------------------------------------------------
if ((${#fmt_files[@]} == 0)); then
    echo "ok   clang-format (no files)"
else
    clang-format --dry-run -Werror "${fmt_files[@]}" >"$OUT/clang-format.log" 2>&1
    result "clang-format (${#fmt_files[@]} files; make fmt fixes)" $? clang-format.log
fi

echo "lint: $pass passed, $failed failed"
((failed == 0))
