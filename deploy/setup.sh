#!/usr/bin/env bash
# Install what Cube needs on Debian 12 and create the `cube` system user.
#
# Run by `make run`, `make test` and `make check` (through `make deps`). It only asks apt for
# packages that are missing, so it returns in well under a second on a prepared machine. As a
# normal user it cannot install: it prints the command to run as root and fails.
#
# Nothing here starts a system service: the stack (deploy/stack.sh) runs private copies of
# PostgreSQL, Redis and nginx under $CUBE_VAR.
set -euo pipefail

# Build: compiler, pkg-config and the -dev packages the Makefile's PKGS name, plus cmocka.
# Run: PostgreSQL, Redis, nginx, libfcgi-bin (cgi-fcgi). Test and lint: wrk, docker-compose,
# curl, cppcheck, clang-format. Base tools the scripts use: runuser/setsid (util-linux),
# pgrep/ps (procps).
PACKAGES=(
    build-essential pkg-config
    libfcgi-dev libfcgi-bin libpq-dev libhiredis-dev libjson-c-dev libcurl4-openssl-dev
    libjwt-dev libcmocka-dev libcrypt-dev
    postgresql postgresql-contrib redis-server nginx
    wrk docker-compose curl cppcheck clang-format
    util-linux procps ca-certificates tzdata bubblewrap
)
# The web app is built with Node.js and npm. A Node.js that came from elsewhere (it must be
# 20.19 or newer for Vite 8; frontend/build.sh checks) is used as it is; without one, Debian's.
command -v node >/dev/null || PACKAGES+=(nodejs npm)
# `deploy/setup.sh --test` (make test): the end-to-end tests drive Debian's Chromium; a small
# CJK font lets their screenshots of the Chinese pages show the text instead of empty boxes.
[[ ${1:-} == --test ]] && PACKAGES+=(chromium fonts-wqy-microhei)

missing=()
# One dpkg-query call for the whole list; packages dpkg has never heard of print nothing on
# stdout, so anything not reported as "ii" is missing.
declare -A installed=()
while read -r name state; do
    [[ $state == ii ]] && installed[$name]=1
done < <(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${PACKAGES[@]}" 2>/dev/null || true)
for p in "${PACKAGES[@]}"; do
    [[ -n ${installed[$p]:-} ]] || missing+=("$p")
done

if ((${#missing[@]} > 0)); then
    if ((EUID != 0)); then
        echo "setup: missing packages: ${missing[*]}" >&2
        echo "setup: run as root:" >&2
        echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
        exit 1
    fi
    echo "setup: installing ${missing[*]}"
    # Package scripts must not start system services (there is no systemd here, and the stack
    # uses its own daemons): a policy-rc.d answering 101 forbids it while apt runs.
    policy=/usr/sbin/policy-rc.d
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        trap 'rm -f "$policy"' EXIT
    fi
    export DEBIAN_FRONTEND=noninteractive RUNLEVEL=1
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ((EUID == 0)) && ! id -u cube >/dev/null 2>&1; then
    echo "setup: creating system user cube"
    useradd --system --user-group --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin cube
fi

# PostgreSQL's server binaries are not on PATH on Debian; the stack looks them up the same way.
pg_bin=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null |
    sort -V | tail -n 1)
if [[ -z $pg_bin || ! -x $pg_bin/pg_ctl ]]; then
    echo "setup: PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin" >&2
    exit 1
fi
