#!/usr/bin/env bash
# Builds the web app into frontend/dist (called by make when a source changed).
#
# npm ci runs only when package-lock.json is newer than the installed tree, so a rebuild after
# editing a page takes seconds. Vite 8 needs Node.js 20.19 or newer: on an older Node the build
# is skipped with a warning and nginx serves static/index.html, a page pointing at the REST
# API, so `make run` still gives a working platform.
set -euo pipefail
cd "$(dirname "$0")"

placeholder() {
    echo "frontend: $1" >&2
    echo "frontend: serving the placeholder page (frontend/static/index.html) instead" >&2
    rm -rf dist
    mkdir -p dist
    cp static/index.html dist/index.html
    # The end-to-end tests read this marker and skip, saying why.
    echo "$1" >dist/PLACEHOLDER
    exit 0
}

command -v node >/dev/null || placeholder "Node.js is not installed"
ver=$(node --version)
IFS=. read -r major minor _ <<<"${ver#v}"
if ((major < 20 || (major == 20 && minor < 19))); then
    placeholder "Node.js $ver is too old for Vite 8 (20.19 or newer needed)"
fi
command -v npm >/dev/null || placeholder "npm is not installed"

if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
    echo "frontend: npm ci"
    npm ci --no-audit --no-fund --loglevel=error
fi
echo "frontend: npm run build"
npm run --silent build
rm -f dist/PLACEHOLDER
# nginx's workers run unprivileged: the tree must be readable by others.
chmod -R a+rX dist
