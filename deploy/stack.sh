#!/usr/bin/env bash
# Cube's private stack: PostgreSQL, Redis, cube-api, nginx, and cube-scheduler and cube-watcher
# (when they are built) under $CUBE_VAR.
#
#   deploy/stack.sh start | stop | status | restart
#
# Variables (relative paths are relative to the checkout):
#   CUBE_VAR        state directory                     ./var
#   CUBE_PORT       nginx on 127.0.0.1                  8080
#   CUBE_PG_PORT    PostgreSQL on 127.0.0.1             5433
#   CUBE_REDIS_PORT Redis on 127.0.0.1                  6380
#   CUBE_BUILD      build directory with bin/cube*      build
# Any other CUBE_* variable in the environment (CUBE_WORKERS, CUBE_ADMIN_PASSWORD, ...) is
# passed to cube and cube-api and overrides the stack's value; the result is written to
# $CUBE_VAR/cube.env (mode 600; `set -a; . var/cube.env` to reuse it).
#
# As root every daemon runs as the system user `cube` (deploy/setup.sh creates it), and cube is
# given a cgroup v1 group per controller (memory, cpu, pids) for its tasks' limits
# (CUBE_CGROUP, default cube-<CUBE_PORT>; removed at stop when empty); as a normal user, as
# that user. Nothing here touches the system's own services.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"
umask 022

ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$ROOT"

die() {
    echo "stack: $*" >&2
    exit 1
}
say() { echo "stack: $*"; }

VAR=$(realpath -m -- "${CUBE_VAR:-var}")
BUILD=$(realpath -m -- "${CUBE_BUILD:-build}")
PORT=${CUBE_PORT:-8080}
PG_PORT=${CUBE_PG_PORT:-5433}
REDIS_PORT=${CUBE_REDIS_PORT:-6380}
for p in "$PORT" "$PG_PORT" "$REDIS_PORT"; do
    if [[ ! $p =~ ^[0-9]+$ ]] || ((p < 1 || p > 65535)); then die "bad port '$p'"; fi
done

RUN=$VAR/run
LOG=$VAR/log
PGDATA=$VAR/pg
SECRETS=$VAR/secrets.env
CUBE_ENV_FILE=$VAR/cube.env
URL=http://127.0.0.1:$PORT

# Paths shown to people: relative to the checkout when inside it.
show() { printf '%s' "${1#"$ROOT"/}"; }

if ((EUID == 0)); then
    RUN_USER=cube
    id -u cube >/dev/null 2>&1 || die "system user cube is missing: run deploy/setup.sh first"
    as_user() { runuser -u cube -- "$@"; }
else
    RUN_USER=$(id -un)
    as_user() { "$@"; }
fi
RUN_UID=$(id -u "$RUN_USER")

# --- processes -------------------------------------------------------------------------------

# proc_alive PID WORD: PID is a live (not zombie) process of RUN_USER whose command line
# contains WORD. Guards every kill against stale pid files.
proc_alive() {
    local pid=$1 word=$2 stat state
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    state=${stat##*) }
    state=${state%% *}
    [[ $state != Z && $state != X ]] || return 1
    [[ $(stat -c %u "/proc/$pid" 2>/dev/null) == "$RUN_UID" ]] || return 1
    grep -qaF -- "$word" "/proc/$pid/cmdline" 2>/dev/null
}

pid_from() {
    local pid=""
    if [[ -r $1 ]]; then read -r pid <"$1" 2>/dev/null || true; fi
    printf '%s' "$pid"
}

# wait_gone PID WORD SECONDS: wait until the process is gone; non-zero on timeout.
wait_gone() {
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        proc_alive "$1" "$2" || return 0
        sleep 0.1
    done
    return 1
}

# stop_pid NAME PIDFILE WORD SIGNAL SECONDS: signal, wait, then SIGKILL the process group.
stop_pid() {
    local name=$1 pidfile=$2 word=$3 sig=$4 secs=$5 pid
    pid=$(pid_from "$pidfile")
    if ! proc_alive "$pid" "$word"; then
        say "$name: not running"
        rm -f "$pidfile"
        return 0
    fi
    kill "-$sig" "$pid" 2>/dev/null || true
    if ! wait_gone "$pid" "$word" "$secs"; then
        say "$name: still running after ${secs}s, sending SIGKILL"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
        wait_gone "$pid" "$word" 5 || die "$name (pid $pid) does not die"
    fi
    # Whatever is left of its process group (cube-api workers, nginx workers).
    local left
    left=$(pgrep -g "$pid" 2>/dev/null | tr '\n' ' ' || true)
    if [[ -n $left ]]; then
        # shellcheck disable=SC2086 # a list of pids
        kill -KILL $left 2>/dev/null || true
    fi
    rm -f "$pidfile"
    say "$name: stopped"
}

tail_logs() {
    local f
    for f in "$@"; do
        [[ -s $f ]] || continue
        echo "----- last lines of $(show "$f") -----" >&2
        tail -n 25 "$f" >&2
    done
}

# --- environment -----------------------------------------------------------------------------

# Files of KEY='value' lines, read without evaluating them.
quote() {
    local v=${1//\'/\'\\\'\'}
    printf "'%s'" "$v"
}
read_env_file() {
    local -n into=$2
    local line key val
    while IFS= read -r line || [[ -n $line ]]; do
        [[ $line =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || continue
        key=${BASH_REMATCH[1]}
        val=${BASH_REMATCH[2]}
        if [[ ${#val} -ge 2 && $val == \'*\' ]]; then
            val=${val:1:${#val}-2}
            val=${val//\'\\\'\'/\'}
        fi
        # shellcheck disable=SC2034,SC2004 # a nameref to the caller's associative array
        into[$key]=$val
    done <"$1"
}
write_env_file() {
    local file=$1 header=$2 tmp key
    local -n from=$3
    tmp=$(mktemp "$file.XXXXXX")
    {
        printf '# %s\n' "$header"
        for key in $(printf '%s\n' "${!from[@]}" | sort); do
            printf '%s=%s\n' "$key" "$(quote "${from[$key]}")"
        done
    } >"$tmp"
    chmod 600 "$tmp"
    mv -f "$tmp" "$file"
}

random_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

# Secrets are generated once and kept, so `make run` twice keeps the sessions and password.
load_secrets() {
    declare -gA SECRET=()
    [[ -f $SECRETS ]] && read_env_file "$SECRETS" SECRET
    local changed=0
    if [[ -z ${SECRET[CUBE_JWT_SECRET]:-} ]]; then
        SECRET[CUBE_JWT_SECRET]=$(random_hex 32)
        changed=1
    fi
    if [[ -z ${SECRET[CUBE_SECRET_KEY]:-} ]]; then
        SECRET[CUBE_SECRET_KEY]=$(random_hex 32)
        changed=1
    fi
    if [[ -z ${SECRET[CUBE_ADMIN_PASSWORD]:-} ]]; then
        SECRET[CUBE_ADMIN_PASSWORD]=${CUBE_ADMIN_PASSWORD:-$(random_hex 12)}
        changed=1
    elif [[ -n ${CUBE_ADMIN_PASSWORD:-} && $CUBE_ADMIN_PASSWORD != "${SECRET[CUBE_ADMIN_PASSWORD]}" ]]; then
        say "note: CUBE_ADMIN_PASSWORD differs from the one in $(show "$SECRETS");" \
            "cube seed sets it only when it creates the admin user"
    fi
    if ((changed)); then
        write_env_file "$SECRETS" "Generated once by deploy/stack.sh; delete to regenerate." SECRET
    fi
}

# The environment of cube and cube-api: the stack's values, the secrets, then the caller's
# CUBE_* variables (except the stack's own) on top.
build_cube_env() {
    declare -gA CENV=(
        [CUBE_DB_URL]="host=$RUN port=$PG_PORT dbname=cube user=cube"
        [CUBE_REDIS]="unix:$RUN/redis.sock"
        [CUBE_SOCKET]="$RUN/cube-api.sock"
        [CUBE_PIDFILE]="$RUN/cube-api.pid"
        [CUBE_SQL_DIR]="$ROOT/sql"
        [CUBE_AUTO_REGISTER]=1
        [CUBE_EXEC_DIR]="$VAR/attempts"
    )
    local k
    for k in "${!SECRET[@]}"; do
        CENV[$k]=${SECRET[$k]}
    done
    for k in $(compgen -e); do
        case $k in
        # The stack's own variables and the test harness's are not cube configuration.
        CUBE_VAR | CUBE_PORT | CUBE_PG_PORT | CUBE_REDIS_PORT | CUBE_BUILD | CUBE_TEST_*) ;;
        CUBE_*) CENV[$k]=${!k} ;;
        esac
    done
    write_env_file "$CUBE_ENV_FILE" "Environment of cube and cube-api, written by deploy/stack.sh start." CENV
    ENVV=(PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8)
    if ((EUID == 0)); then ENVV+=(HOME=/nonexistent); else ENVV+=("HOME=${HOME:-/}"); fi
    for k in TZ ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS; do
        [[ -n ${!k:-} ]] && ENVV+=("$k=${!k}")
    done
    for k in "${!CENV[@]}"; do
        ENVV+=("$k=${CENV[$k]}")
    done
}

# For stop/status: where cube-api's pid file is, as start wrote it.
api_pidfile() {
    local -A e=()
    [[ -r $CUBE_ENV_FILE ]] && read_env_file "$CUBE_ENV_FILE" e
    printf '%s' "${e[CUBE_PIDFILE]:-$RUN/cube-api.pid}"
}

# --- preparation -----------------------------------------------------------------------------

# As root the daemons run as cube, which must be able to reach the checkout (sql/, frontend/,
# the binaries) and $CUBE_VAR. A checkout under a 0700 home blocks it: add o+x (search only)
# to the ancestors that need it.
ensure_reachable() {
    ((EUID == 0)) || return 0
    local target d path
    for target in "$@"; do
        [[ -e $target ]] || continue
        as_user test -x "$target" 2>/dev/null && continue
        path=""
        IFS='/' read -ra parts <<<"${target#/}"
        for d in "${parts[@]}"; do
            path+=/$d
            [[ -d $path ]] || break
            if ! as_user test -x "$path" 2>/dev/null; then
                chmod o+x "$path"
                say "note: added o+x (search only) to $path so user cube can reach $target"
            fi
        done
    done
}

prepare_dirs() {
    mkdir -p "$VAR"
    local d
    for d in pg redis run log nginx nginx/tmp attempts; do
        mkdir -p "$VAR/$d"
    done
    chmod 700 "$PGDATA"
    chmod 750 "$RUN"
    if ((EUID == 0)); then
        # $CUBE_VAR itself, secrets.env and cube.env stay root's; the daemons own the rest.
        chown cube:cube "$VAR"/{pg,redis,run,log,nginx,nginx/tmp,attempts}
        if [[ -e $PGDATA/PG_VERSION && $(stat -c %u "$PGDATA/PG_VERSION") != "$RUN_UID" ]]; then
            say "note: $(show "$VAR") was created by another user; giving it to cube"
            chown -R cube:cube "$VAR"/{pg,redis,run,log,nginx,attempts}
        fi
    elif [[ -e $PGDATA/PG_VERSION && $(stat -c %u "$PGDATA/PG_VERSION") != "$RUN_UID" ]]; then
        die "$(show "$VAR") belongs to another user (a root run?): use sudo or another CUBE_VAR"
    fi
    ensure_reachable "$VAR" "$ROOT/sql" "$ROOT/frontend" "$BUILD/bin"
    local f
    for f in cube-api.log cube-scheduler.log cube-watcher.log postgres.log redis.log \
        nginx-error.log nginx-access.log; do
        [[ -e $LOG/$f ]] || as_user touch "$LOG/$f"
    done
    # Unix socket paths are limited to 107 bytes.
    for f in "$RUN/.s.PGSQL.$PG_PORT" "$RUN/redis.sock" "$RUN/cube-api.sock"; do
        ((${#f} <= 107)) || die "socket path too long (${#f} > 107 bytes): $f; use a shorter CUBE_VAR"
    done
}

find_pg_bin() {
    local d
    d=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null |
        sort -V | tail -n 1)
    if [[ -n $d && -x $d/pg_ctl ]]; then
        PGBIN=$d
    elif command -v pg_ctl >/dev/null; then
        PGBIN=$(dirname "$(command -v pg_ctl)")
    else
        die "PostgreSQL server binaries not found: run deploy/setup.sh"
    fi
}

# --- PostgreSQL ------------------------------------------------------------------------------

pg_running() { [[ -e $PGDATA/PG_VERSION ]] && as_user "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; }

start_pg() {
    find_pg_bin
    if [[ ! -e $PGDATA/PG_VERSION ]]; then
        # Locale C (encoding UTF-8): byte-order sorting and ASCII case folding.  ILIKE, which
        # every ct/sw/ew filter uses, is then about 4x cheaper than under C.UTF-8, where each
        # row goes through wide-character conversions.  Non-ASCII letters compare exactly.
        local locale=C
        say "postgres: initdb $(show "$PGDATA") (locale $locale)"
        as_user "$PGBIN/initdb" -D "$PGDATA" -U cube --auth-local=trust \
            --auth-host=scram-sha-256 -E UTF8 --locale="$locale" >"$LOG/initdb.log" 2>&1 ||
            {
                tail_logs "$LOG/initdb.log"
                die "initdb failed"
            }
        echo "include 'cube.conf'" | as_user tee -a "$PGDATA/postgresql.conf" >/dev/null
    fi
    # Rewritten at every start, so a changed port or directory takes effect.
    local sockdir=${RUN//\'/\'\'}
    as_user tee "$PGDATA/cube.conf" >/dev/null <<EOF
# Written by deploy/stack.sh at every start: change the script, not this file.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$sockdir'
unix_socket_permissions = 0700
max_connections = 100
shared_buffers = 128MB
work_mem = 8MB
maintenance_work_mem = 64MB
fsync = on
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
log_min_duration_statement = 1000
log_timezone = 'UTC'
timezone = 'UTC'
EOF
    if pg_running; then
        say "postgres: already running"
    else
        as_user "$PGBIN/pg_ctl" -D "$PGDATA" -l "$LOG/postgres.log" -w -t 60 start \
            >/dev/null 2>&1 || {
            tail_logs "$LOG/postgres.log"
            die "postgres did not start"
        }
        say "postgres: started on 127.0.0.1:$PG_PORT and $(show "$RUN")"
    fi
    local psql=("$PGBIN/psql" -X -q -h "$RUN" -p "$PG_PORT" -U cube)
    if [[ $(as_user "${psql[@]}" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'cube'") != 1 ]]; then
        as_user "${psql[@]}" -d postgres -c "CREATE DATABASE cube" >/dev/null
        say "postgres: created database cube"
    fi
}

stop_pg() {
    find_pg_bin
    if pg_running; then
        as_user "$PGBIN/pg_ctl" -D "$PGDATA" stop -m fast -w -t 60 >/dev/null
        say "postgres: stopped"
    else
        say "postgres: not running"
    fi
}

# --- Redis: a cache and a bus, so no persistence ----------------------------------------------

start_redis() {
    as_user tee "$VAR/redis/redis.conf" >/dev/null <<EOF
# Written by deploy/stack.sh at every start: change the script, not this file.
bind 127.0.0.1
port $REDIS_PORT
protected-mode yes
unixsocket "$RUN/redis.sock"
unixsocketperm 700
daemonize yes
pidfile "$RUN/redis.pid"
logfile "$LOG/redis.log"
dir "$VAR/redis"
save ""
appendonly no
maxmemory 256mb
maxmemory-policy allkeys-lru
EOF
    if proc_alive "$(pid_from "$RUN/redis.pid")" redis-server; then
        say "redis: already running"
        return 0
    fi
    rm -f "$RUN/redis.sock"
    as_user redis-server "$VAR/redis/redis.conf" </dev/null >>"$LOG/redis.log" 2>&1 ||
        {
            tail_logs "$LOG/redis.log"
            die "redis did not start"
        }
    local i
    for ((i = 0; i < 100; i++)); do
        [[ $(redis-cli -s "$RUN/redis.sock" ping 2>/dev/null) == PONG ]] && break
        sleep 0.1
    done
    ((i < 100)) || {
        tail_logs "$LOG/redis.log"
        die "redis does not answer on $(show "$RUN/redis.sock")"
    }
    say "redis: started on 127.0.0.1:$REDIS_PORT and $(show "$RUN/redis.sock")"
}

stop_redis() { stop_pid redis "$RUN/redis.pid" redis-server TERM 10; }

# --- cube-api --------------------------------------------------------------------------------

run_cube() {
    as_user env -i "${ENVV[@]}" "$BUILD/bin/cube" "$@" </dev/null
}

start_api() {
    local sock=${CENV[CUBE_SOCKET]} pidfile=${CENV[CUBE_PIDFILE]}
    if proc_alive "$(pid_from "$pidfile")" cube-api; then
        say "cube-api: running, restarting it"
        stop_pid cube-api "$pidfile" cube-api TERM 10
    fi
    [[ $sock == /* ]] && rm -f "$sock"
    # The launcher writes its own pid before exec, so a cube-api that exits at once (old schema,
    # bad config) is noticed immediately instead of after the timeout.
    local launch
    launch=$(mktemp "$RUN/launch.XXXXXX")
    ((EUID == 0)) && chown cube "$launch"
    # shellcheck disable=SC2016 # expanded by that sh
    as_user setsid -f sh -c 'echo $$ >"$0"; exec "$@"' "$launch" \
        env -i "${ENVV[@]}" "$BUILD/bin/cube-api" </dev/null >>"$LOG/cube-api.log" 2>&1
    local i pid=""
    for ((i = 0; i < 300; i++)); do
        [[ -n $pid ]] || pid=$(pid_from "$launch")
        if [[ -n $pid ]] && ! proc_alive "$pid" cube-api; then
            rm -f "$launch"
            tail_logs "$LOG/cube-api.log"
            die "cube-api exited at start (see $(show "$LOG/cube-api.log"))"
        fi
        if [[ $sock == /* ]]; then
            [[ -S $sock ]] && break
        elif [[ -n $pid ]]; then
            break # TCP listener: the health check below waits for it
        fi
        sleep 0.1
    done
    rm -f "$launch"
    ((i < 300)) || {
        tail_logs "$LOG/cube-api.log"
        die "cube-api did not create $(show "$sock") within 30 s"
    }
    # cube-api writes its pid file itself; make sure stop can find it either way.
    proc_alive "$(pid_from "$pidfile")" cube-api || echo "$pid" | as_user tee "$pidfile" >/dev/null
    say "cube-api: started (pid $pid) on $(show "$sock")"
}

stop_api() { stop_pid cube-api "$(api_pidfile)" cube-api TERM 10; }

# --- cube-scheduler and cube-watcher ---------------------------------------------------------
# Started when built. Each attempt runs under cube-shim in a session of its own, so stopping or
# restarting these daemons never touches a running task; the next one adopts it.

SCHED_DAEMONS=(cube-scheduler cube-watcher)

start_daemon() {
    local name=$1 pidfile=$RUN/$1.pid
    [[ -x $BUILD/bin/$name ]] || return 0
    if proc_alive "$(pid_from "$pidfile")" "$name"; then
        say "$name: running, restarting it"
        stop_pid "$name" "$pidfile" "$name" TERM 10
    fi
    # shellcheck disable=SC2016 # expanded by that sh
    as_user setsid -f sh -c 'echo $$ >"$0"; exec "$@"' "$pidfile" \
        env -i "${ENVV[@]}" "$BUILD/bin/$name" </dev/null >>"$LOG/$name.log" 2>&1
    local i pid=""
    for ((i = 0; i < 50; i++)); do
        pid=$(pid_from "$pidfile")
        [[ -n $pid ]] && break
        sleep 0.1
    done
    # One that exits at once (bad configuration, no database) does so within a moment.
    sleep 0.3
    if ! proc_alive "$pid" "$name"; then
        tail_logs "$LOG/$name.log"
        die "$name exited at start (see $(show "$LOG/$name.log"))"
    fi
    say "$name: started (pid $pid)"
}

start_sched() {
    local d
    for d in "${SCHED_DAEMONS[@]}"; do
        start_daemon "$d"
    done
}

stop_sched() {
    local d
    for d in "${SCHED_DAEMONS[@]}"; do
        if [[ -x $BUILD/bin/$d || -e $RUN/$d.pid ]]; then
            stop_pid "$d" "$RUN/$d.pid" "$d" TERM 10
        fi
    done
}

# --- cgroup v1 delegation --------------------------------------------------------------------
# As root the daemons run as cube, which may not create cgroups, so cube-shim could not enforce
# a task's memory, cpu and process limits. Give cube one group per controller instead, named
# after this stack (CUBE_CGROUP, default cube-<CUBE_PORT>, so stacks side by side never share
# one), under this script's own cgroup of that controller: the daemons and their shims inherit
# that cgroup, and the shim makes each attempt's cgroup inside the group (core/exec.h). The
# directories made are listed in $RUN/cgroups, so stop removes them (once no attempt holds
# one) even when it runs in another cgroup.

CG_CTRLS=(memory cpu pids)
CG_LIST=$RUN/cgroups

# cg_own CTRL: this shell's cgroup in CTRL's v1 hierarchy (/proc/PID/cgroup "id:ctrls:path").
cg_own() {
    local id ctrls path
    while IFS=: read -r id ctrls path; do
        [[ -n $id && ,$ctrls, == *,"$1",* ]] && {
            printf '%s' "$path"
            return 0
        }
    done <"/proc/$$/cgroup"
    return 1
}

delegate_cgroups() {
    ((EUID == 0)) || return 0
    local group=${CUBE_CGROUP:-cube-$PORT} ctrl mnt own base dir line given=""
    local -A listed=()
    [[ $group =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$ ]] ||
        die "CUBE_CGROUP='$group' is not a cgroup name (letters, digits, _ . -)"
    if [[ -r $CG_LIST ]]; then
        while IFS= read -r line; do [[ -n $line ]] && listed[$line]=1; done <"$CG_LIST"
    fi
    for ctrl in "${CG_CTRLS[@]}"; do
        mnt=/sys/fs/cgroup/$ctrl
        # A v1 hierarchy of this controller (v2 delegates none of them on these hosts).
        [[ $(stat -f -c %T "$mnt" 2>/dev/null) == cgroupfs ]] || continue
        own=$(cg_own "$ctrl") || continue
        base=$mnt${own%/}
        [[ -d $base ]] || base=$mnt # the shim's rule: a container without a cgroup namespace
        dir=$base/$group
        if ! mkdir -p "$dir" 2>/dev/null ||
            ! chown cube:cube "$dir" "$dir/cgroup.procs" "$dir/tasks" 2>/dev/null; then
            say "note: cannot give user cube the cgroup $dir; limits of $ctrl stay unenforced"
            continue
        fi
        listed[$dir]=1
        given+=" $ctrl"
    done
    if ((${#listed[@]})); then
        printf '%s\n' "${!listed[@]}" | sort >"$CG_LIST"
    fi
    if [[ -n $given ]]; then
        export CUBE_CGROUP=$group # into cube.env, for the daemons and their shims
        say "cgroups: $group given to user cube under$given"
    fi
}

# Removes the groups start made, with the attempt cgroups left in them that no process uses
# any more (a shim that was killed leaves its own; the kernel refuses to remove a cgroup
# that has processes, so an attempt that outlives the daemons keeps its cgroup, and with it
# the group, until it ends: tasks survive a stop by design). Only the stack's own group
# name, only under the controllers' mounts: $RUN belongs to cube.
release_cgroups() {
    [[ -r $CG_LIST ]] || return 0
    local -A e=()
    local group dir leaf shown left=()
    [[ -r $CUBE_ENV_FILE ]] && read_env_file "$CUBE_ENV_FILE" e
    group=${e[CUBE_CGROUP]:-}
    shown=$(show "$CG_LIST")
    while IFS= read -r dir; do
        [[ -n $dir ]] || continue
        if [[ -z $group || ${dir##*/} != "$group" || $dir == *..* ||
            ! $dir =~ ^/sys/fs/cgroup/(memory|cpu|pids)/ ]]; then
            say "note: ignoring '$dir' in $shown"
            continue
        fi
        [[ -d $dir ]] || continue
        for leaf in "$dir"/*/; do
            [[ ! -d $leaf ]] || rmdir "$leaf" 2>/dev/null || true
        done
        if rmdir "$dir" 2>/dev/null; then
            say "cgroups: removed $dir"
        else
            left+=("$dir")
            say "cgroups: $dir still holds running attempts; left in place"
        fi
    done <"$CG_LIST"
    if ((${#left[@]})); then
        printf '%s\n' "${left[@]}" >"$CG_LIST"
    else
        rm -f "$CG_LIST"
    fi
}

# --- nginx -----------------------------------------------------------------------------------

nginx_cmd() { as_user nginx -p "$VAR/nginx" -c nginx.conf -e "$LOG/nginx-error.log" "$@"; }

start_nginx() {
    local sock=${CENV[CUBE_SOCKET]} upstream
    if [[ $sock == /* ]]; then upstream=unix:$sock; else upstream=$sock; fi
    local d
    for d in body fastcgi proxy uwsgi scgi; do
        as_user mkdir -p "$VAR/nginx/tmp/$d"
    done
    bash "$ROOT/nginx/render.sh" LISTEN="127.0.0.1:$PORT" ROOT="$ROOT" VAR="$VAR" UPSTREAM="$upstream" |
        as_user tee "$VAR/nginx/nginx.conf" >/dev/null
    nginx_cmd -t -q || die "nginx rejects $(show "$VAR/nginx/nginx.conf")"
    local pid
    pid=$(pid_from "$RUN/nginx.pid")
    if proc_alive "$pid" nginx; then
        kill -HUP "$pid"
        say "nginx: reloaded"
    else
        nginx_cmd </dev/null >>"$LOG/nginx-error.log" 2>&1 || {
            tail_logs "$LOG/nginx-error.log"
            die "nginx did not start (is 127.0.0.1:$PORT in use?)"
        }
        say "nginx: started on $URL"
    fi
}

stop_nginx() { stop_pid nginx "$RUN/nginx.pid" nginx QUIT 10; }

# --- commands --------------------------------------------------------------------------------

wait_health() {
    local i
    for ((i = 0; i < 40; i++)); do
        curl -fsS -o /dev/null --max-time 2 "$URL/api/health" 2>/dev/null && return 0
        sleep 0.5
    done
    tail_logs "$LOG/cube-api.log" "$LOG/nginx-error.log" "$LOG/postgres.log" "$LOG/redis.log"
    die "$URL/api/health does not answer 200 after 20 s"
}

cmd_start() {
    local b
    for b in cube cube-api; do
        [[ -x $BUILD/bin/$b ]] || die "$(show "$BUILD/bin/$b") is missing: build first (make build)"
    done
    prepare_dirs
    if ((EUID == 0)); then
        as_user test -x "$BUILD/bin/cube-api" -a -r "$ROOT/sql" ||
            die "user cube cannot run $(show "$BUILD/bin/cube-api") or read sql/ (umask?)"
    fi
    load_secrets
    delegate_cgroups
    build_cube_env
    start_pg
    start_redis
    run_cube db upgrade || die "cube db upgrade failed"
    run_cube seed || die "cube seed failed"
    start_api
    start_sched
    start_nginx
    wait_health
    cat <<EOF

Cube is running.
  frontend  $URL/frontend/
  API       $URL/api/
  login     admin / ${CENV[CUBE_ADMIN_PASSWORD]}
  logs      $(show "$LOG")/  (cube-api.log, cube-scheduler.log, cube-watcher.log, nginx-error.log,
            nginx-access.log, postgres.log, redis.log)
  env       $(show "$CUBE_ENV_FILE")
EOF
}

cmd_stop() {
    stop_nginx
    stop_sched
    stop_api
    stop_redis
    stop_pg
    release_cgroups
}

cmd_status() {
    local rc=0 pid pidfile n
    find_pg_bin
    if pg_running; then
        echo "postgres  running   pid $(head -n 1 "$PGDATA/postmaster.pid")  127.0.0.1:$PG_PORT"
    else
        echo "postgres  stopped"
        rc=1
    fi
    pid=$(pid_from "$RUN/redis.pid")
    if proc_alive "$pid" redis-server; then
        echo "redis     running   pid $pid  127.0.0.1:$REDIS_PORT"
    else
        echo "redis     stopped"
        rc=1
    fi
    pidfile=$(api_pidfile)
    pid=$(pid_from "$pidfile")
    if proc_alive "$pid" cube-api; then
        n=$(pgrep -P "$pid" 2>/dev/null | wc -l || true)
        echo "cube-api  running   pid $pid  $n workers"
    else
        echo "cube-api  stopped"
        rc=1
    fi
    local d
    for d in "${SCHED_DAEMONS[@]}"; do
        [[ -x $BUILD/bin/$d ]] || continue
        pid=$(pid_from "$RUN/$d.pid")
        if proc_alive "$pid" "$d"; then
            printf '%-9s running   pid %s\n' "${d#cube-}" "$pid"
        else
            printf '%-9s stopped\n' "${d#cube-}"
            rc=1
        fi
    done
    pid=$(pid_from "$RUN/nginx.pid")
    if proc_alive "$pid" nginx; then
        echo "nginx     running   pid $pid  $URL/"
    else
        echo "nginx     stopped"
        rc=1
    fi
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$URL/api/health" 2>/dev/null || true)
    echo "health    ${code:-000}      $URL/api/health"
    [[ $code == 200 ]] || rc=1
    return "$rc"
}

case ${1:-} in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
restart)
    cmd_stop
    cmd_start
    ;;
*)
    echo "usage: $0 start|stop|status|restart" >&2
    exit 2
    ;;
esac
