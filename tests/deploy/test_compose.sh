#!/usr/bin/env bash
# The compose deployment stays valid and in step with the code's configuration:
# `docker-compose config -q` accepts every compose file, and the CUBE_* variables of
# deploy/.env.example and docker-compose.yml are exactly those `cube config` knows.
# Needs no Docker engine. Uses build/bin/cube (CUBE_CLI overrides).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$ROOT" || exit 1
# shellcheck source=tests/deploy/lib.sh
. tests/deploy/lib.sh

# --- docker-compose config -------------------------------------------------------------------
if ! command -v docker-compose >/dev/null; then
    fail "docker-compose is installed" "run deploy/setup.sh"
else
    for f in docker-compose.yml deploy/*compose*.yml deploy/*compose*.yaml; do
        [[ -f $f ]] || continue
        if out=$(docker-compose -f "$f" --project-directory "$ROOT" config -q 2>&1); then
            pass "docker-compose config: $f"
        else
            fail "docker-compose config: $f" "$out"
        fi
    done
fi

# --- configuration variables -----------------------------------------------------------------
# Names as `cube config` prints them: `CUBE_X=value` lines, else any CUBE_* token, else
# `name = value` lines.
config_names() {
    local out names
    out=$(env -i PATH=/usr/bin:/bin CUBE_JWT_SECRET="$(printf '0%.0s' {1..64})" \
        CUBE_ADMIN_PASSWORD=x "$1" config 2>&1) || {
        echo "$out" >&2
        return 1
    }
    names=$(sed -nE 's/^(CUBE_[A-Z0-9_]+)=.*/\1/p' <<<"$out" | sort -u)
    [[ -n $names ]] || names=$(grep -oE '\bCUBE_[A-Z0-9_]+' <<<"$out" | sort -u)
    if [[ -z $names ]]; then
        names=$(sed -nE 's/^[[:space:]]*([A-Za-z][A-Za-z0-9_]*)[[:space:]]*[=:].*/\1/p' <<<"$out" |
            tr '[:lower:]' '[:upper:]' | sed 's/^/CUBE_/' | sort -u)
    fi
    printf '%s\n' "$names"
}

# Variables a file sets or documents (commented-out assignments count).
example_names() {
    sed -nE 's/^[#[:space:]]*(CUBE_[A-Z0-9_]+)=.*/\1/p' "$1" | sort -u
}
compose_names() {
    grep -oE '\bCUBE_[A-Z0-9_]+:' "$1" | tr -d ':' | sort -u
}

missing_from() { comm -23 <(printf '%s\n' "$1" | sed '/^$/d') <(printf '%s\n' "$2" | sed '/^$/d') | tr '\n' ' '; }

cli=${CUBE_CLI:-build/bin/cube}
if [[ ! -x $cli ]]; then
    fail "cube config runs" "$cli is missing (make build)"
elif ! known=$(config_names "$cli") || [[ -z $known ]]; then
    fail "cube config runs and names its variables"
else
    pass "cube config runs and names its variables ($(wc -l <<<"$known") variables)"
    example=$(example_names deploy/.env.example)
    extra=$(missing_from "$example" "$known")
    if [[ -z $extra ]]; then
        pass "every variable in deploy/.env.example is one cube knows"
    else
        fail "every variable in deploy/.env.example is one cube knows" "unknown: $extra"
    fi
    undocumented=$(missing_from "$known" "$example")
    if [[ -z $undocumented ]]; then
        pass "deploy/.env.example documents every variable of cube config"
    else
        fail "deploy/.env.example documents every variable of cube config" "missing: $undocumented"
    fi
    extra=$(missing_from "$(compose_names docker-compose.yml)" "$known")
    if [[ -z $extra ]]; then
        pass "docker-compose.yml sets only variables cube knows"
    else
        fail "docker-compose.yml sets only variables cube knows" "unknown: $extra"
    fi
fi

finish compose
