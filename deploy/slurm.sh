#!/usr/bin/env bash
# A private Slurm cluster on 127.0.0.1 for Cube's Slurm executor (fcgi/core/slurm.c): Debian's
# slurmctld, N emulated compute nodes (several slurmd on this host), slurmrestd with auth/jwt,
# and a private munged, all under one state directory.
#
#   deploy/slurm.sh up | down | status
#
# Variables (relative paths are relative to the checkout):
#   SLURM_DIR         state directory                         ./var/slurm
#   SLURM_NODES       compute nodes n1..nN                    1
#   SLURMCTLD_PORT    slurmctld                               6817
#   SLURMD_PORT       first node's slurmd; node i: +i-1       6818 (one node), 6831 (several)
#   SLURMRESTD_PORT   slurmrestd (REST API, v0.0.38)          6820
#   SLURM_PARTITION   the one partition (all nodes, default)  debug
#
# `up` installs the missing packages (as deploy/setup.sh does: apt only when something is
# missing, no system service started), writes the config, starts the daemons, waits until each
# answers, and prints and writes $SLURM_DIR/slurm.env (SLURM_REST_URL, SLURM_JWT_KEY_FILE,
# SLURM_PARTITION, SLURM_SHARED_DIR, SLURM_CONF, ...; `set -a; . var/slurm/slurm.env`).
# A cluster that already runs with the same configuration is left alone; otherwise the old
# one is stopped and a clean one started (job records do not survive that). The munge key
# and the JWT key are generated once and kept, so tokens and registered clusters stay valid.
# `down` stops everything `up` started, kills the jobs' processes, and leaves no process or
# listening port behind. Must run as root (slurmd has to be root).
set -euo pipefail
# Pitfall: SLURM_JWT in the environment switches every Slurm binary to auth/jwt, and a
# slurmctld started with it dies ("AuthType change requires restart of all Slurm daemons").
unset SLURM_JWT
export PATH="$PATH:/usr/sbin:/sbin"
umask 022

ROOT=$(cd "$(dirname "$0")/.." && pwd -P)
cd "$ROOT"

die() {
    echo "slurm: $*" >&2
    exit 1
}
say() { echo "slurm: $*"; }
# Milliseconds since the epoch into NOW, without a fork ($EPOCHREALTIME is "seconds.micros").
# Forks are what up and down spend their time on: each costs 1 ms on a quiet machine and
# 30-90 ms on a busy one, so the hot paths use builtins.
now_ms() {
    local t=${EPOCHREALTIME/[.,]/}
    NOW=$((t / 1000))
}
now_ms
T0=$NOW
# nap: 50 ms without forking sleep(1): a read with a timeout on a pipe nobody writes to.
NAP_FD=""
nap() {
    [[ -n $NAP_FD ]] || exec {NAP_FD}<> <(:)
    read -rt 0.05 -u "$NAP_FD" _ || true
}
# say_t MESSAGE: the message with the seconds since the script started.
say_t() {
    now_ms
    local ms=$((NOW - T0))
    printf 'slurm: %d.%ds %s\n' $((ms / 1000)) $((ms % 1000 / 100)) "$*"
}

DIR=$(realpath -m -- "${SLURM_DIR:-var/slurm}")
NODES=${SLURM_NODES:-1}
if [[ ! $NODES =~ ^[0-9]+$ ]] || ((NODES < 1 || NODES > 64)); then die "SLURM_NODES must be 1..64"; fi
CTLD_PORT=${SLURMCTLD_PORT:-6817}
if ((NODES == 1)); then SLURMD_BASE=${SLURMD_PORT:-6818}; else SLURMD_BASE=${SLURMD_PORT:-6831}; fi
REST_PORT=${SLURMRESTD_PORT:-6820}
PARTITION=${SLURM_PARTITION:-debug}
[[ $PARTITION =~ ^[A-Za-z0-9_.-]+$ ]] || die "bad SLURM_PARTITION '$PARTITION'"
for p in "$CTLD_PORT" "$SLURMD_BASE" "$REST_PORT"; do
    if [[ ! $p =~ ^[0-9]+$ ]] || ((p < 1 || p + NODES > 65535)); then die "bad port '$p'"; fi
done
NODE_PORTS=()
for ((i = 0; i < NODES; i++)); do NODE_PORTS+=($((SLURMD_BASE + i))); done
for p in "${NODE_PORTS[@]}"; do
    ((p != CTLD_PORT && p != REST_PORT)) || die "slurmd ports $SLURMD_BASE..$((SLURMD_BASE + NODES - 1)) overlap SLURMCTLD_PORT or SLURMRESTD_PORT"
done
((CTLD_PORT != REST_PORT)) || die "SLURMCTLD_PORT and SLURMRESTD_PORT are the same"

REST_USER=slurmrest # slurmrestd refuses to run as root: it drops to this system user
ETC=$DIR/etc
CONF=$ETC/slurm.conf
JWT_KEY=$ETC/jwt_hs256.key
MUNGE=$DIR/munge         # key, seed, log, pid: munge only (0700)
MUNGE_RUN=$DIR/munge-run # the socket, reachable by everyone who talks to Slurm
MUNGE_SOCK=$MUNGE_RUN/munge.socket
RUN=$DIR/run
LOG=$DIR/log
SPOOL=$DIR/spool
SHARED=$DIR/shared
SHIM_SRC=$ROOT/deploy/slurm_bind_lo.c
SHIM=$DIR/lib/slurm_bind_lo.so
ENV_FILE=$DIR/slurm.env # not "env": `. env` would find /usr/bin/env first
API=http://127.0.0.1:$REST_PORT/slurm/v0.0.38
export SLURM_CONF=$CONF

show() { printf '%s' "${1#"$ROOT"/}"; }

# --- processes -------------------------------------------------------------------------------

# alive PID EXE: PID runs the program EXE, is not a zombie (PID 1 reaps exited daemons only
# every few seconds), and its command line names our state directory, so a stale pid file
# never makes us signal a stranger. Builtins only: forks cost 10-20 ms each here.
alive() {
    local pid=$1 stat state args=()
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    read -r stat 2>/dev/null <"/proc/$pid/stat" || return 1
    state=${stat##*) }
    state=${state%% *}
    [[ $state != Z && $state != X ]] || return 1
    # -ef compares the files after symlinks (Debian's slurmctld is an alternative for
    # slurmctld-wlm, and /proc/PID/exe links to the real binary).
    [[ /proc/$pid/exe -ef /usr/sbin/$2 ]] || return 1
    mapfile -d '' args 2>/dev/null <"/proc/$pid/cmdline" || return 1
    [[ "${args[*]}" == *"$DIR/"* ]]
}

pid_of() {
    PID=""
    [[ -r $1 ]] && read -r PID 2>/dev/null <"$1"
    return 0
}

# The daemons: NAME EXE PIDFILE.
daemons() {
    printf '%s\n' "munged munged $MUNGE/munged.pid" "slurmctld slurmctld $RUN/slurmctld.pid"
    local i
    for ((i = 1; i <= NODES; i++)); do printf '%s\n' "slurmd-n$i slurmd $RUN/slurmd-n$i.pid"; done
    printf '%s\n' "slurmrestd slurmrestd $RUN/slurmrestd.pid"
}

# Every daemon of ours still running, whatever SLURM_NODES says now, into RUNNING as
# "NAME EXE PID" entries.
running() {
    local f name
    RUNNING=()
    pid_of "$MUNGE/munged.pid"
    alive "$PID" munged && RUNNING+=("munged munged $PID")
    for f in "$RUN"/*.pid; do
        [[ -e $f ]] || continue
        name=${f##*/}
        name=${name%.pid}
        pid_of "$f"
        alive "$PID" "${name%%-*}" && RUNNING+=("$name ${name%%-*} $PID")
    done
    return 0
}

# stop_group EXE...: SIGTERM to every running daemon of ours among EXE (they do not wait for
# each other), up to 3 s for all to exit, then SIGKILL for the rest.
stop_group() {
    local line name exe pid left=() want=" $* " victims=()
    for line in "${RUNNING[@]}"; do
        read -r name exe pid <<<"$line"
        [[ $want == *" $exe "* ]] || continue
        kill -TERM "$pid" 2>/dev/null || true
        victims+=("$line")
    done
    now_ms
    local t_kill=$((NOW + 3000)) t_end=$((NOW + 5000)) killed=0
    while :; do
        left=()
        for line in "${victims[@]}"; do
            read -r name exe pid <<<"$line"
            alive "$pid" "$exe" && left+=("$line")
        done
        ((${#left[@]} == 0)) && break
        now_ms
        ((NOW < t_end)) || break
        if ((!killed && NOW >= t_kill)); then
            killed=1
            for line in "${left[@]}"; do
                read -r name exe pid <<<"$line"
                say "$name (pid $pid) still running after 3 s: SIGKILL"
                kill -KILL "$pid" 2>/dev/null || true
            done
        fi
        nap
    done
    ((${#left[@]} == 0)) || die "${left[*]} do(es) not die"
    for line in "${victims[@]}"; do
        read -r name exe pid <<<"$line"
        say_t "$name stopped"
    done
}

# Job step daemons of this cluster (the ones holding a socket in our spool directory) and
# every process under them: SIGKILL.  They outlive slurmd, and the jobs' processes are theirs.
kill_stepds() {
    local line pid ppid i victims=()
    local -A stepd=() kids=()
    while IFS= read -r line; do
        [[ $line == *"$SPOOL/"* && $line =~ pid=([0-9]+) ]] && stepd[${BASH_REMATCH[1]}]=1
    done < <(ss -xlpn 2>/dev/null || true)
    ((${#stepd[@]} > 0)) || return 0
    while read -r pid ppid; do
        kids[$ppid]+=" $pid"
    done < <(ps -e -o pid=,ppid= 2>/dev/null || true)
    for pid in "${!stepd[@]}"; do
        [[ /proc/$pid/exe -ef /usr/sbin/slurmstepd ]] && victims+=("$pid")
    done
    # Breadth-first through the process tree.
    for ((i = 0; i < ${#victims[@]}; i++)); do
        for pid in ${kids[${victims[i]}]:-}; do victims+=("$pid"); done
    done
    if ((${#victims[@]} > 0)); then
        kill -KILL "${victims[@]}" 2>/dev/null || true
        say_t "killed ${#victims[@]} leftover job step process(es)"
    fi
}

# Listening TCP ports among ours, into BUSY ("" when none).
ports_in_use() {
    local p addr
    local -A listening=()
    BUSY=""
    while read -r _ _ _ addr _; do
        listening[${addr##*:}]=1
    done < <(ss -Hltn 2>/dev/null || true)
    for p in "$CTLD_PORT" "$REST_PORT" "${NODE_PORTS[@]}"; do
        [[ -z ${listening[$p]:-} ]] || BUSY+="$p "
    done
}

stop_all() {
    # Jobs are not cancelled through slurmctld first: a slurmd busy killing a step takes
    # seconds to exit, and the next `up` starts with no job records anyway.  Their step
    # daemons and processes are killed below.
    running
    # munged last: the others authenticate with it while they shut down.
    stop_group slurmrestd slurmd slurmctld
    stop_group munged
    kill_stepds
    rm -f "$RUN"/*.pid "$MUNGE/munged.pid"
}

# --- install ---------------------------------------------------------------------------------

# The Slurm packages, and what the script itself runs (ss, ps, runuser, curl).
PACKAGES=(slurmctld slurmd slurmrestd slurm-client munge slurm-wlm-jwt-plugin iproute2 procps
    util-linux curl)

install_missing() {
    local missing=() name state p f
    # Fast path: every program and the JWT plugin are there (file tests, no dpkg-query).
    local -a jwt=(/usr/lib/*/slurm-wlm/auth_jwt.so)
    local have=1
    for f in /usr/sbin/slurmctld /usr/sbin/slurmd /usr/sbin/slurmstepd /usr/sbin/slurmrestd \
        /usr/sbin/munged /usr/bin/munge /usr/bin/scontrol /usr/bin/sbatch /usr/bin/srun "${jwt[0]}"; do
        [[ -f $f ]] || have=0
    done
    type -P ss ps runuser curl >/dev/null || have=0
    ((have)) && return 0
    declare -A installed=()
    while read -r name state; do
        [[ $state == ii ]] && installed[$name]=1
    done < <(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${PACKAGES[@]}" 2>/dev/null || true)
    for p in "${PACKAGES[@]}"; do
        [[ -n ${installed[$p]:-} ]] || missing+=("$p")
    done
    ((${#missing[@]} > 0)) || return 0
    say "installing ${missing[*]}"
    # Package scripts must not start the system's munge, slurmctld or slurmd: a policy-rc.d
    # answering 101 forbids it while apt runs (an existing one is left as it is).
    local policy=/usr/sbin/policy-rc.d
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 755 "$policy"
        # shellcheck disable=SC2064 # expanded now: $policy is local
        trap "rm -f '$policy'" EXIT
    fi
    export DEBIAN_FRONTEND=noninteractive RUNLEVEL=1
    # Another apt may be running (deploy/setup.sh): wait for its lock rather than fail.
    apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}" ||
        {
            apt-get update -q -o DPkg::Lock::Timeout=300
            apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}"
        }
    say_t "installed"
}

# --- configuration ---------------------------------------------------------------------------

# What `slurmd -C` reports about this host, without its NodeName: CPUs=2 ... RealMemory=N.
# Node lines must not claim more, or the node goes INVALID. Cached per boot (it is slow).
node_hw() {
    local cache=$ETC/hw boot="" cboot="" hw=""
    read -r boot </proc/sys/kernel/random/boot_id
    [[ -s $cache ]] && { read -r cboot && read -r hw; } <"$cache"
    if [[ $cboot != "$boot" || $hw != *CPUs=* ]]; then
        hw=$(slurmd -C 2>/dev/null | head -n 1)
        hw=${hw#NodeName=* }
        printf '%s\n%s\n' "$boot" "$hw" >"$cache"
    fi
    HW=$hw
}

conf_text() {
    local hw host i
    node_hw
    hw=$HW
    [[ $hw == *CPUs=* ]] || die "slurmd -C did not describe this host"
    host=${HOSTNAME%%.*}
    cat <<EOF
# Written by deploy/slurm.sh: change the script, not this file.
ClusterName=cube
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmUser=slurm
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCK
CredType=cred/munge
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key=$JWT_KEY
CommunicationParameters=NoInAddrAny
StateSaveLocation=$SPOOL/ctld
SlurmdSpoolDir=$SPOOL/%n
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd-%n.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/linux
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$LOG/jobcomp.txt
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=256
MpiDefault=none
ReturnToService=2
MinJobAge=3600
KillWait=5
MailProg=/bin/true
EOF
    for ((i = 1; i <= NODES; i++)); do
        echo "NodeName=n$i NodeHostname=$host NodeAddr=127.0.0.1 Port=${NODE_PORTS[i - 1]} $hw State=UNKNOWN"
    done
    echo "PartitionName=$PARTITION Nodes=ALL Default=YES MaxTime=INFINITE State=UP"
}

# Directories other users must reach: add o+x (search only) to the ancestors that lack it.
ensure_reachable() {
    local path="" d
    runuser -u "$REST_USER" -- test -x "$1" 2>/dev/null && return 0
    IFS='/' read -ra parts <<<"${1#/}"
    for d in "${parts[@]}"; do
        path+=/$d
        if ! runuser -u "$REST_USER" -- test -x "$path" 2>/dev/null; then
            chmod o+x "$path"
            say "note: added o+x (search only) to $path so the slurm daemons can reach $1"
        fi
    done
}

prepare() {
    local passwd
    passwd=$(</etc/passwd)
    [[ $'\n'$passwd == *$'\n'slurm:* ]] || die "user slurm is missing (the slurm packages create it)"
    [[ $'\n'$passwd == *$'\n'munge:* ]] || die "user munge is missing (the munge package creates it)"
    if [[ $'\n'$passwd != *$'\n'$REST_USER:* ]]; then
        useradd --system --user-group --home-dir /nonexistent --no-create-home \
            --shell /usr/sbin/nologin "$REST_USER"
        say "created system user $REST_USER (slurmrestd refuses root)"
    fi
    # Owners and modes are set once; the marker says it was done.
    local d absent=0
    for d in "$ETC" "$RUN" "$LOG" "$SPOOL" "$SHARED" "$DIR/lib" "$MUNGE" "$MUNGE_RUN"; do
        [[ -d $d ]] || absent=1
    done
    if ((absent)) || [[ ! -e $DIR/.prepared || ! -s $MUNGE/munge.key || ! -s $JWT_KEY ]]; then
        prepare_once
    fi
    # The bind-to-loopback shim for slurmctld, rebuilt when its source changes.
    if [[ ! -e $SHIM || $SHIM_SRC -nt $SHIM ]]; then
        if command -v cc >/dev/null; then
            cc -shared -fPIC -O2 -Wall -Wextra -o "$SHIM.tmp" "$SHIM_SRC" -ldl ||
                die "cannot build $(show "$SHIM_SRC")"
            mv -f "$SHIM.tmp" "$SHIM"
        else
            say "warning: no C compiler: slurmctld will listen on 0.0.0.0:$CTLD_PORT"
        fi
    fi
}

prepare_once() {
    mkdir -p "$DIR" "$ETC" "$RUN" "$LOG" "$SPOOL" "$SHARED" "$DIR/lib" "$MUNGE" "$MUNGE_RUN"
    chmod 755 "$DIR" "$ETC" "$RUN" "$LOG" "$SPOOL" "$DIR/lib"
    # Like /tmp: Cube's daemons (user cube) make the attempt directories, jobs write in them.
    chmod 1777 "$SHARED"
    ensure_reachable "$DIR"
    # Keys: generated once, kept across restarts.
    if [[ ! -s $MUNGE/munge.key ]]; then
        head -c 1024 /dev/urandom >"$MUNGE/munge.key.tmp"
        mv -f "$MUNGE/munge.key.tmp" "$MUNGE/munge.key"
    fi
    chown -R munge:munge "$MUNGE" "$MUNGE_RUN"
    chmod 700 "$MUNGE"
    chmod 755 "$MUNGE_RUN"
    chmod 400 "$MUNGE/munge.key"
    if [[ ! -s $JWT_KEY ]]; then
        head -c 32 /dev/urandom >"$JWT_KEY.tmp"
        mv -f "$JWT_KEY.tmp" "$JWT_KEY"
    fi
    chown slurm:slurm "$JWT_KEY"
    chmod 600 "$JWT_KEY"
    local f
    for f in slurmctld.log jobcomp.txt; do
        [[ -e $LOG/$f ]] || touch "$LOG/$f"
        chown slurm:slurm "$LOG/$f"
    done
    : >"$DIR/.prepared"
}

# --- start -----------------------------------------------------------------------------------

# wait_for WHAT SECONDS COMMAND...: poll every 50 ms until COMMAND succeeds.
wait_for() {
    local what=$1 deadline
    now_ms
    deadline=$((NOW + $2 * 1000))
    shift 2
    while ((NOW < deadline)); do
        "$@" >/dev/null 2>&1 && return 0
        nap
        now_ms
    done
    tail_logs
    die "$what does not answer in time"
}

tail_logs() {
    local f
    for f in "$MUNGE/munged.log" "$LOG"/slurmctld.log "$LOG"/slurmd-*.log "$LOG"/slurmrestd.log; do
        [[ -s $f ]] || continue
        echo "----- last lines of $(show "$f") -----" >&2
        tail -n 15 "$f" >&2
    done
}

nodes_idle() {
    local out
    out=$(sinfo -h -N -o '%N %t' 2>/dev/null) || return 1
    (($(grep -cE ' (idle|mix|alloc)$' <<<"$out") == NODES))
}

# A token for root from slurmctld (which also proves the JWT key is loaded), into TOKEN.
TOKEN=""
mint() {
    local out
    out=$(scontrol token username=root lifespan=86400 2>/dev/null) || return 1
    TOKEN=${out#SLURM_JWT=}
    [[ $out == SLURM_JWT=* && -n $TOKEN ]]
}

rest_ok() {
    [[ -n $TOKEN ]] || mint || return 1
    [[ $(curl -s -o /dev/null -w '%{http_code}' -m 2 -H "X-SLURM-USER-NAME: root" \
        -H "X-SLURM-USER-TOKEN: $TOKEN" "$API/ping") == 200 ]]
}

start_all() {
    local i
    ports_in_use
    [[ -z $BUSY ]] || die "port(s) in use: $BUSY(see ss -ltnp); set SLURMCTLD_PORT, SLURMD_PORT, SLURMRESTD_PORT"
    # A clean start: node definitions may have changed, and old state confuses slurmctld.
    rm -rf "$SPOOL/ctld" "$SPOOL"/n* "$MUNGE_SOCK" "$MUNGE_SOCK.lock"
    install -d -o slurm -g slurm -m 700 "$SPOOL/ctld"

    runuser -u munge -- /usr/sbin/munged --socket="$MUNGE_SOCK" --key-file="$MUNGE/munge.key" \
        --pid-file="$MUNGE/munged.pid" --log-file="$MUNGE/munged.log" \
        --seed-file="$MUNGE/munged.seed" </dev/null >>"$LOG/munged.out" 2>&1 ||
        {
            tail_logs
            die "munged did not start"
        }
    wait_for munged 5 munge -n -s x -S "$MUNGE_SOCK"
    say_t "munged up"

    if [[ -e $SHIM ]]; then
        LD_PRELOAD=$SHIM slurmctld -f "$CONF" </dev/null >>"$LOG/slurmctld.out" 2>&1
    else
        slurmctld -f "$CONF" </dev/null >>"$LOG/slurmctld.out" 2>&1
    fi || {
        tail_logs
        die "slurmctld did not start"
    }
    wait_for slurmctld 10 scontrol ping
    say_t "slurmctld up on 127.0.0.1:$CTLD_PORT"

    # The nodes and slurmrestd need only slurmctld: start them all, then wait for each.
    local launchers=()
    for ((i = 1; i <= NODES; i++)); do
        slurmd -f "$CONF" -N "n$i" </dev/null >>"$LOG/slurmd.out" 2>&1 &
        launchers+=($!)
    done
    # slurmrestd stays in the foreground: setsid detaches it, the pid file is ours.
    # SLURM_JWT=daemon (in its environment only) makes it pass each request's token on
    # to slurmctld; without it every token is rejected ("Rejecting thread config token").
    : >>"$LOG/slurmrestd.log"
    SLURM_JWT=daemon setsid slurmrestd -f "$CONF" -a rest_auth/jwt -s openapi/v0.0.38 -u "$REST_USER" \
        "127.0.0.1:$REST_PORT" </dev/null >>"$LOG/slurmrestd.log" 2>&1 &
    echo $! >"$RUN/slurmrestd.pid"
    # Each slurmd returns once it has daemonised (or failed to).
    for ((i = 0; i < NODES; i++)); do
        wait "${launchers[i]}" || {
            tail_logs
            die "slurmd -N n$((i + 1)) did not start"
        }
    done
    wait_for "the nodes (n1..n$NODES idle)" 15 nodes_idle
    say_t "$NODES node(s) idle on ports ${NODE_PORTS[0]}..${NODE_PORTS[NODES - 1]}"
    wait_for slurmrestd 10 rest_ok
    say_t "slurmrestd up on 127.0.0.1:$REST_PORT"
}

write_env() {
    local tmp=$ENV_FILE.tmp k v line
    [[ -n $TOKEN ]] || mint || die "scontrol token failed"
    local -a vars=(
        SLURM_CONF "$CONF"
        SLURM_REST_URL "http://127.0.0.1:$REST_PORT"
        SLURM_API "$API"
        SLURM_REST_USER root
        SLURM_REST_TOKEN "$TOKEN"
        SLURM_JWT_KEY_FILE "$JWT_KEY"
        SLURM_PARTITION "$PARTITION"
        SLURM_SHARED_DIR "$SHARED"
        SLURM_NODES "$NODES"
        SLURMCTLD_PORT "$CTLD_PORT"
        SLURMD_PORT "$SLURMD_BASE"
        SLURMRESTD_PORT "$REST_PORT"
    )
    (
        umask 077
        echo "# Written by deploy/slurm.sh up. SLURM_REST_TOKEN is valid for 24 hours; mint others with"
        echo "# \"scontrol token username=root lifespan=N\" or from SLURM_JWT_KEY_FILE (HS256: sun, iat, exp)."
        # KEY='value', quoted for sh (the format deploy/stack.sh writes).
        for ((k = 0; k < ${#vars[@]}; k += 2)); do
            v=${vars[k + 1]//\'/\'\\\'\'}
            printf "%s='%s'\n" "${vars[k]}" "$v"
        done
    ) >"$tmp"
    mv -f "$tmp" "$ENV_FILE"
    while IFS= read -r line; do
        [[ $line == [A-Z]* ]] || continue
        [[ $line == SLURM_REST_TOKEN=* ]] && line="${line:0:37}...'"
        echo "$line"
    done <"$ENV_FILE"
    say "environment written to $(show "$ENV_FILE")"
}

# --- commands --------------------------------------------------------------------------------

cmd_up() {
    ((EUID == 0)) || die "must run as root (slurmd runs jobs as their users)"
    install_missing
    prepare
    local want have="" all=1 name exe pidfile
    want=$(conf_text)
    running
    [[ -r $CONF ]] && have=$(<"$CONF")
    if ((${#RUNNING[@]} > 0)) && [[ $have == "$want" ]]; then
        while read -r name exe pidfile; do
            pid_of "$pidfile"
            alive "$PID" "$exe" || all=0
        done < <(daemons)
        if ((all)) && rest_ok && nodes_idle_or_busy; then
            say_t "already up"
            write_env
            return 0
        fi
    fi
    if ((${#RUNNING[@]} > 0)); then
        say "restarting: stopping the running cluster"
        stop_all
    fi
    printf '%s\n' "$want" >"$CONF.tmp"
    mv -f "$CONF.tmp" "$CONF"
    start_all
    say_t "up"
    write_env
}

# Every node answers (idle, or running jobs).
nodes_idle_or_busy() {
    local out
    out=$(sinfo -h -N -o '%N %t' 2>/dev/null) || return 1
    (($(grep -cE ' (idle|mix|alloc|comp)$' <<<"$out") == NODES))
}

cmd_down() {
    ((EUID == 0)) || die "must run as root"
    [[ -d $DIR ]] || {
        say "nothing to stop ($(show "$DIR") does not exist)"
        return 0
    }
    stop_all
    local i
    for ((i = 0; i < 40; i++)); do
        ports_in_use
        [[ -n $BUSY ]] || break
        nap
    done
    [[ -z $BUSY ]] || die "port(s) still in use after down: $BUSY"
    say_t "down"
}

cmd_status() {
    local name exe pidfile up=0 total=0
    while read -r name exe pidfile; do
        total=$((total + 1))
        pid_of "$pidfile"
        if alive "$PID" "$exe"; then
            up=$((up + 1))
            echo "$name: running (pid $PID)"
        else
            echo "$name: not running"
        fi
    done < <(daemons)
    if ((up == total)); then
        [[ -r $ENV_FILE ]] && echo "environment: $(show "$ENV_FILE")"
        sinfo -N -o '%N %t %c %m' 2>/dev/null || true
        return 0
    fi
    return 1
}

case ${1:-} in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
*)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac
