#!/usr/bin/env bash
# Render nginx/nginx.conf.in: nginx/render.sh LISTEN=... ROOT=... VAR=... UPSTREAM=... >out
# Used by deploy/stack.sh (make run, make test) and by the web image in deploy/Dockerfile, so
# the local stack and the compose deployment share one configuration. Fails if a placeholder
# is left unfilled.
set -euo pipefail

template=${TEMPLATE:-$(dirname "$0")/nginx.conf.in}
args=()
for kv in "$@"; do
    key=${kv%%=*}
    val=${kv#*=}
    if [[ ! $key =~ ^[A-Z_]+$ || $kv != *=* ]]; then
        echo "render: bad argument '$kv' (want KEY=VALUE)" >&2
        exit 2
    fi
    # Escape what is special in a sed replacement (with | as the delimiter).
    val=$(printf '%s' "$val" | sed -e 's/[\\&|]/\\&/g')
    args+=(-e "s|@${key}@|${val}|g")
done
out=$(sed "${args[@]}" "$template")
if left=$(printf '%s\n' "$out" | grep -o '@[A-Z_]*@' | sort -u | tr '\n' ' ') && [[ -n $left ]]; then
    echo "render: placeholders left unfilled: $left" >&2
    exit 1
fi
printf '%s\n' "$out"
