#!/usr/bin/env bash
#
# fault-tests.sh - fault and abuse tests of TaskFlow with real processes and a real
# PostgreSQL, on loopback only.
#
# Usage:
#   scripts/fault-tests.sh [--bin-dir DIR] [--only NAME[,NAME...]]...
#   scripts/fault-tests.sh --list
#   scripts/fault-tests.sh --help
#
# Starts a private PostgreSQL server (initdb in a temporary directory, Unix socket only,
# run as user "postgres" when started as root) and the services as separate processes
# listening on 127.0.0.1, then runs the test groups below. Each group uses its own
# database and its own service processes. Every step is bounded in time; the whole run
# takes about two minutes on a 2-core machine.
#
#   db-restart          wrk load on the task list for 20 s, `pg_ctl restart -m fast` at
#                       5 s: failures only as 503 JSON "unavailable", none from 5 s after
#                       PostgreSQL is back, and the backend process never restarts
#   db-down-at-start    the backend started while PostgreSQL is down is live but not
#                       ready, and becomes ready by itself within 10 s of PostgreSQL
#                       coming up
#   sigterm-backend     SIGTERM with 20 slow requests in flight and a load loop: every
#   sigterm-frontend    accepted request completes, /readyz stops answering 200 at once,
#                       the process exits 0 before SHUTDOWN_GRACE_SECONDS is over
#   slowloris-backend   slowhttptest -H (slow headers, 1000 connections at 100/s) with a
#   slowloris-frontend  2 s header timeout: normal requests are answered in < 1 s
#                       meanwhile, and the attack's connections are closed by the timeout
#   schemathesis        schemathesis against /api/openapi.json with a valid token: no
#                       server error, statuses and bodies as documented, invalid data
#                       rejected
#   login-enumeration   wrong password vs unknown email, 50 each: same status and body,
#                       median times within 20 %
#   password-storage    stored hashes are argon2id PHC strings with OWASP's parameters
#                       (m=19456, t=2, p=1 or stronger) and distinct salts
#   sql-injection       injection strings in titles, searches, filters and sorting:
#                       stored and matched verbatim, 422 for unknown sort values, the
#                       other user's data and the tables unaffected
#   control-characters  a NUL byte in a search text or a login email: 4xx, never 500
#   memory-abuse        100 bodies of 2 MiB and 64 simultaneous logins: peak RSS (VmHWM)
#                       stays below the backend's memory limit in helm/values.yaml
#
# Prints one line per check, "ok - NAME: details" or "not ok - NAME: reason", and ends
# with "N passed, N failed". Exits 0 only if every check passed; 1 if a check failed or a
# tool is missing; 2 on a usage error.
#
# Options:
#   --bin-dir DIR   take taskflow-backend and taskflow-frontend from DIR instead of
#                   building them as they ship, with `cargo build --release --locked
#                   --target x86_64-unknown-linux-musl` (needs musl-tools); the memory
#                   limits hold for those binaries, not for a glibc debug build
#   --only NAMES    run only these groups (comma-separated, option repeatable)
#   --list          print the group names and exit
#   -h, --help      show this help
#
# Environment:
#   CARGO_TARGET_DIR    build directory (default as in scripts/check.sh:
#                       ${XDG_CACHE_HOME:-$HOME/.cache}/taskflow/target)
#   SCHEMATHESIS        the schemathesis command (default: `st` on PATH, else
#                       /opt/taskflow-tools/venv/bin/st)
#   SCHEMATHESIS_SEED   the seed of the generated requests (default 1, so that runs
#                       repeat exactly; "random" lets schemathesis pick one and print it)
#   PG_BIN_SEARCH_GLOB  where to look for initdb/pg_ctl/postgres when they are not on
#                       PATH (default: /usr/lib/postgresql/*/bin)
#   KEEP_FAULT_DIR      if set, the temporary directory (service and server logs) is
#                       kept and its path printed
#
# Needs: curl, jq, python3, wrk, slowhttptest, yq, psql and the PostgreSQL server
# binaries, and schemathesis 4. On Debian:
#   apt-get install curl jq python3 python3-venv wrk slowhttptest yq postgresql
#   python3 -m venv /opt/taskflow-tools/venv
#   /opt/taskflow-tools/venv/bin/pip install schemathesis==4.32.5

set -euo pipefail

prog=fault-tests.sh
musl_target=x86_64-unknown-linux-musl
script_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
root=$(cd -- "$script_dir/.." && pwd)
fault_dir=$script_dir/fault

all_groups=(db-restart db-down-at-start sigterm-backend sigterm-frontend
    slowloris-backend slowloris-frontend schemathesis login-enumeration
    password-storage sql-injection control-characters memory-abuse)

usage() {
    local line started=0
    while IFS= read -r line; do
        [[ $line == '#!'* ]] && continue
        [[ $line == '#'* ]] || break
        line=${line#\#}
        # The header comment's first line is empty.
        [[ $started == 0 && -z $line ]] && continue
        started=1
        printf '%s\n' "${line# }"
    done <"${BASH_SOURCE[0]}"
}

usage_error() {
    echo "$prog: $1" >&2
    echo "Run '$prog --help' for the usage." >&2
    exit 2
}

bin_dir=""
selected=()
while [[ $# -gt 0 ]]; do
    case $1 in
        -h | --help)
            usage
            exit 0
            ;;
        --list)
            printf '%s\n' "${all_groups[@]}"
            exit 0
            ;;
        --bin-dir)
            [[ $# -ge 2 && -n $2 ]] || usage_error "--bin-dir needs a directory"
            bin_dir=$2
            shift
            ;;
        --bin-dir=*)
            bin_dir=${1#--bin-dir=}
            [[ -n $bin_dir ]] || usage_error "--bin-dir needs a directory"
            ;;
        --only)
            [[ $# -ge 2 && -n $2 ]] || usage_error "--only needs a group name (see --list)"
            IFS=, read -r -a names <<<"$2"
            selected+=("${names[@]}")
            shift
            ;;
        --only=*)
            IFS=, read -r -a names <<<"${1#--only=}"
            selected+=("${names[@]}")
            ;;
        *)
            usage_error "unknown option: $1"
            ;;
    esac
    shift
done

if [[ ${#selected[@]} -eq 0 ]]; then
    selected=("${all_groups[@]}")
fi
for name in "${selected[@]}"; do
    known=0
    for group in "${all_groups[@]}"; do
        [[ $name == "$group" ]] && known=1
    done
    ((known)) || usage_error "unknown group: '$name' (see --list)"
done
if [[ -n $bin_dir && ! -d $bin_dir ]]; then
    usage_error "--bin-dir: no such directory: $bin_dir"
fi

wants() {
    local name
    for name in "${selected[@]}"; do
        [[ $name == "$1" ]] && return 0
    done
    return 1
}

# --- Results -------------------------------------------------------------------------

passed=0
failed=0

pass() {
    echo "ok - $1${2:+: $2}"
    passed=$((passed + 1))
}

fail() {
    echo "not ok - $1${2:+: $2}"
    failed=$((failed + 1))
}

# check NAME DETAIL VERDICT: passes if VERDICT is "yes" (see every).
check() {
    if [[ $3 == yes ]]; then
        pass "$1" "$2"
    else
        fail "$1" "$2"
    fi
}

# every A OP B [A OP B ...]: prints "yes" if every comparison holds. OP is == or != (text)
# or -eq -ne -lt -le -gt -ge (integers; a value that is not an integer fails).
every() {
    while [[ $# -ge 3 ]]; do
        case $2 in
            ==) [[ $1 == "$3" ]] || return 0 ;;
            !=) [[ $1 != "$3" ]] || return 0 ;;
            -eq | -ne | -lt | -le | -gt | -ge)
                [[ $1 =~ ^-?[0-9]+$ && $3 =~ ^-?[0-9]+$ ]] || return 0
                test "$1" "$2" "$3" || return 0
                ;;
            *) return 0 ;;
        esac
        shift 3
    done
    if [[ $# -eq 0 ]]; then
        echo yes
    fi
}

finish() {
    echo "$passed passed, $failed failed"
    if ((failed == 0)); then
        exit 0
    fi
    exit 1
}

# --- Tools ---------------------------------------------------------------------------

find_pg_bin_dir() {
    if command -v initdb >/dev/null && command -v pg_ctl >/dev/null &&
        command -v postgres >/dev/null; then
        PG_CTL=$(command -v pg_ctl)
        PG_INITDB=$(command -v initdb)
        return 0
    fi
    local dir best=""
    for dir in ${PG_BIN_SEARCH_GLOB:-/usr/lib/postgresql/*/bin}; do
        if [[ -x $dir/initdb && -x $dir/pg_ctl && -x $dir/postgres ]]; then
            if [[ -z $best ]] || [[ $(printf '%s\n%s\n' "$best" "$dir" | sort -V | tail -n 1) == "$dir" ]]; then
                best=$dir
            fi
        fi
    done
    [[ -n $best ]] || return 1
    PG_CTL=$best/pg_ctl
    PG_INITDB=$best/initdb
}

SCHEMATHESIS=${SCHEMATHESIS:-}
if [[ -z $SCHEMATHESIS ]]; then
    if command -v st >/dev/null; then
        SCHEMATHESIS=$(command -v st)
    else
        SCHEMATHESIS=/opt/taskflow-tools/venv/bin/st
    fi
fi

missing_tool() {
    fail "tools" "$1 not found; install it with: $2"
}

preflight() {
    local ok=0 tool
    for tool in curl jq python3 psql; do
        if ! command -v "$tool" >/dev/null; then
            missing_tool "$tool" "apt-get install $([[ $tool == psql ]] && echo postgresql-client || echo "$tool")"
            ok=1
        fi
    done
    if ! find_pg_bin_dir; then
        missing_tool "PostgreSQL server (initdb, pg_ctl, postgres)" "apt-get install postgresql"
        ok=1
    fi
    if [[ $EUID -eq 0 ]] && ! command -v runuser >/dev/null; then
        missing_tool "runuser (to run PostgreSQL as user postgres)" "apt-get install util-linux"
        ok=1
    fi
    if wants db-restart && ! command -v wrk >/dev/null; then
        missing_tool wrk "apt-get install wrk"
        ok=1
    fi
    if { wants slowloris-backend || wants slowloris-frontend; } && ! command -v slowhttptest >/dev/null; then
        missing_tool slowhttptest "apt-get install slowhttptest"
        ok=1
    fi
    if wants memory-abuse && ! command -v yq >/dev/null; then
        missing_tool yq "apt-get install yq"
        ok=1
    fi
    if wants schemathesis && ! "$SCHEMATHESIS" --version 2>/dev/null | grep -q 'version 4\.'; then
        missing_tool "schemathesis 4 ($SCHEMATHESIS)" \
            "python3 -m venv /opt/taskflow-tools/venv && /opt/taskflow-tools/venv/bin/pip install schemathesis==4.32.5 (or set SCHEMATHESIS)"
        ok=1
    fi
    return "$ok"
}

if ! preflight; then
    finish
fi

# --- Binaries ------------------------------------------------------------------------

if [[ -z $bin_dir ]]; then
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/taskflow/target}"
    # The binaries as they ship: the allocator and the optimiser decide the memory figures
    # (a glibc build keeps freed password-hash buffers in its per-thread arenas).
    build=(cargo build --quiet --release --locked --target "$musl_target"
        -p taskflow-backend -p taskflow-frontend)
    echo "# building: ${build[*]}"
    if ! (cd "$root" && "${build[@]}"); then
        fail "build" "${build[*]} failed"
        finish
    fi
    bin_dir=$CARGO_TARGET_DIR/$musl_target/release
fi
backend_bin=$bin_dir/taskflow-backend
frontend_bin=$bin_dir/taskflow-frontend
for bin in "$backend_bin" "$frontend_bin"; do
    if [[ ! -x $bin ]]; then
        fail "build" "$bin is missing or not executable"
        finish
    fi
done
echo "# binaries: $bin_dir"

# --- Temporary directory, processes and cleanup ---------------------------------------

work=$(mktemp -d "${TMPDIR:-/tmp}/taskflow-fault.XXXXXX")
pg_dir=$work/pg
started_pids=()

as_pg() {
    if [[ $EUID -eq 0 ]]; then
        (cd "$pg_dir" && runuser -u postgres -- "$@")
    else
        (cd "$pg_dir" && "$@")
    fi
}

# Stops one process we started: TERM, then KILL after 10 s.
stop_pid() {
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 200; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# Called from the EXIT trap only.
# shellcheck disable=SC2317
cleanup() {
    local rc=$? pid
    trap '' INT TERM
    trap - EXIT
    for pid in "${started_pids[@]}"; do
        stop_pid "$pid"
    done
    if [[ -f $pg_dir/data/postmaster.pid ]]; then
        as_pg "$PG_CTL" -D "$pg_dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
    if [[ -n ${KEEP_FAULT_DIR:-} ]]; then
        echo "# logs kept in $work"
    else
        rm -rf -- "$work"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now_ms() {
    date +%s%3N
}

# A TCP port that is free on 127.0.0.1 right now.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# --- PostgreSQL ----------------------------------------------------------------------

mkdir -p "$pg_dir"
# The server runs as "postgres" and must reach its directory inside ours.
chmod 711 "$work"
if [[ $EUID -eq 0 ]]; then
    chown postgres: "$pg_dir"
fi
pg_opts="-c listen_addresses='' -c port=5432 -c unix_socket_directories='$pg_dir'"
pg_opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"

pg_ctl_run() {
    as_pg "$PG_CTL" -D "$pg_dir/data" -w -t 30 -l "$pg_dir/postgres.log" "$@" >>"$work/pg_ctl.log" 2>&1
}

pg_start() { pg_ctl_run -o "$pg_opts" start; }
pg_stop() { pg_ctl_run -m fast stop; }
pg_restart() { pg_ctl_run -m fast -o "$pg_opts" restart; }

pg_running() {
    as_pg "$PG_CTL" -D "$pg_dir/data" status >/dev/null 2>&1
}

postmaster_pid() {
    head -n 1 "$pg_dir/data/postmaster.pid" 2>/dev/null || echo none
}

sql() {
    psql -h "$pg_dir" -p 5432 -U postgres -d "${2:-postgres}" -v ON_ERROR_STOP=1 -Atq -c "$1"
}

if ! as_pg "$PG_INITDB" -D "$pg_dir/data" -U postgres --auth=trust -N -E UTF8 --locale=C \
    >"$work/initdb.log" 2>&1; then
    fail "postgres" "initdb failed: $(tail -n 3 "$work/initdb.log" | tr '\n' ' ')"
    finish
fi
if ! pg_start; then
    fail "postgres" "the server did not start: $(tail -n 3 "$pg_dir/postgres.log" | tr '\n' ' ')"
    finish
fi
echo "# PostgreSQL: $(postmaster_pid) on socket $pg_dir"

database_url() {
    echo "postgres://postgres@${pg_dir//\//%2F}/$1"
}

create_db() {
    sql "CREATE DATABASE $1" >/dev/null
}

# --- Services ------------------------------------------------------------------------

jwt_secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')

# start_service KIND NAME PORT [VAR=VALUE...]: starts the binary with a clean environment
# plus the given variables; sets svc_pid and svc_log.
start_service() {
    local kind=$1 name=$2 port=$3
    shift 3
    local bin=$backend_bin
    [[ $kind == frontend ]] && bin=$frontend_bin
    svc_log=$work/$name.log
    env -i PATH="$PATH" HOME="${HOME:-/root}" LOG_FORMAT=json HTTP_HOST=127.0.0.1 \
        HTTP_PORT="$port" "$@" "$bin" serve >"$svc_log" 2>&1 &
    svc_pid=$!
    started_pids+=("$svc_pid")
}

# start_backend NAME DATABASE [VAR=VALUE...]: sets svc_pid, svc_port and svc_log.
start_backend() {
    local name=$1 db=$2
    shift 2
    svc_port=$(free_port)
    start_service backend "$name" "$svc_port" DATABASE_URL="$(database_url "$db")" \
        JWT_SECRET="$jwt_secret" AUTH_RATE_LIMIT_PER_IP=100000 \
        AUTH_RATE_LIMIT_PER_ACCOUNT=100000 "$@"
}

# wait_status URL STATUS SECONDS [PID]: polls until URL answers STATUS; gives up early
# if process PID has exited.
wait_status() {
    local url=$1 want=$2 limit_ms=$(($3 * 1000)) pid=${4:-} start code
    start=$(now_ms)
    while (($(now_ms) - start < limit_ms)); do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)
        [[ $code == "$want" ]] && return 0
        if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
            return 1
        fi
        sleep 0.05
    done
    return 1
}

# start_ready_backend NAME [VAR=VALUE...]: a backend on a new database, ready for traffic.
start_ready_backend() {
    local name=$1
    shift
    create_db "${name//-/_}"
    start_backend "$name" "${name//-/_}" "$@"
    if ! wait_status "http://127.0.0.1:$svc_port/readyz" 200 30 "$svc_pid"; then
        echo "# $name did not become ready; last log lines:" >&2
        tail -n 5 "$svc_log" >&2 || true
        return 1
    fi
}

# http METHOD URL [curl args...]: sets http_status and http_body.
http() {
    local method=$1 url=$2
    shift 2
    http_body=""
    http_status=$(curl -s -X "$method" -o "$work/body" -w '%{http_code}' --max-time 15 "$@" "$url" || true)
    http_body=$(cat "$work/body" 2>/dev/null || true)
    rm -f "$work/body"
}

password="correct horse battery staple"

# new_user PORT EMAIL: registers and signs in; prints the token.
new_user() {
    local base=http://127.0.0.1:$1 email=$2
    http POST "$base/api/auth/register" -H 'Content-Type: application/json' \
        -d "$(jq -cn --arg e "$email" --arg p "$password" '{name: "Fault Test", email: $e, password: $p}')"
    [[ $http_status == 201 ]] || {
        echo "# registering $email gave $http_status: $http_body" >&2
        return 1
    }
    http POST "$base/api/auth/login" -H 'Content-Type: application/json' \
        -d "$(jq -cn --arg e "$email" --arg p "$password" '{email: $e, password: $p}')"
    [[ $http_status == 200 ]] || {
        echo "# signing in $email gave $http_status: $http_body" >&2
        return 1
    }
    jq -r .access_token <<<"$http_body"
}

# create_task PORT TOKEN JSON: prints the created task's JSON.
create_task() {
    http POST "http://127.0.0.1:$1/api/tasks" -H "Authorization: Bearer $2" \
        -H 'Content-Type: application/json' -d "$3"
    [[ $http_status == 201 ]] || {
        echo "# creating a task gave $http_status: $http_body" >&2
        return 1
    }
    printf '%s\n' "$http_body"
}

proc_start_time() {
    awk '{ sub(/^.*\) /, ""); print $20 }' "/proc/$1/stat" 2>/dev/null || echo gone
}

median() {
    sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# --- db-restart ----------------------------------------------------------------------

group_db_restart() {
    local g=db-restart
    if ! start_ready_backend db-restart; then
        fail "$g" "the backend did not start"
        return
    fi
    local pid=$svc_pid port=$svc_port
    local token i
    token=$(new_user "$port" restart@example.com) || {
        fail "$g" "could not create a user"
        return
    }
    for ((i = 1; i <= 20; i++)); do
        create_task "$port" "$token" "{\"title\": \"restart task $i\"}" >/dev/null || {
            fail "$g" "could not create tasks"
            return
        }
    done
    local started_before postmaster_before out=$work/db-restart.wrk wrk_pid
    started_before=$(proc_start_time "$pid")
    postmaster_before=$(postmaster_pid)

    timeout 45 wrk -t2 -c8 -d20s --timeout 5s -s "$fault_dir/status-timeline.lua" \
        "http://127.0.0.1:$port/api/tasks" -- "$token" >"$out" 2>&1 &
    wrk_pid=$!
    started_pids+=("$wrk_pid")
    sleep 5
    local t0 t1 restarted=0
    t0=$(now_ms)
    pg_restart && restarted=1
    t1=$(now_ms)
    local wrk_rc=0
    wait "$wrk_pid" || wrk_rc=$?

    local ok_n unavailable_n other_n before_n late_n ok_late last_error
    read -r ok_n unavailable_n other_n before_n late_n ok_late last_error < <(
        awk -v t0="$t0" -v t1="$t1" '
            $1 == "bucket" {
                t = $2; class = $3; n = $4
                if (class == "ok") { ok += n; if (t >= t1 + 5000) ok_late += n; next }
                if (class == "unavailable") unavailable += n; else other += n
                if (t + 100 <= t0) before += n
                if (t >= t1 + 5000) late += n
                if (t > last) last = t
            }
            END { printf "%d %d %d %d %d %d %s\n", ok, unavailable, other, before, late, ok_late, (last == "" ? "none" : last - t1) }
        ' "$out"
    )
    local socket_errors
    socket_errors=$(grep -E '^ *Socket errors:' "$out" | sed 's/^ *//' || true)
    local samples
    samples=$(grep '^sample ' "$out" | sort | uniq -c | head -n 3 | tr -s ' ' | tr '\n' ';' || true)

    if ((wrk_rc != 0)) || ((ok_n == 0)); then
        fail "$g: load" "wrk exited $wrk_rc with $ok_n successful requests: $(tail -n 3 "$out" | tr '\n' ' ')"
    fi
    local postmaster_after
    postmaster_after=$(postmaster_pid)
    check "$g: only 503 \"unavailable\" JSON while PostgreSQL restarts" \
        "$unavailable_n x 503 unavailable, $other_n other errors${samples:+ ($samples)}, ${socket_errors:-no socket errors}, $ok_n x 200 in 20 s; restart took $((t1 - t0)) ms (postmaster $postmaster_before -> $postmaster_after)" \
        "$(every "$restarted" == 1 "$other_n" == 0 "$socket_errors" == "" "$postmaster_before" != "$postmaster_after")"
    check "$g: no failed request outside the outage, none from 5 s after PostgreSQL is back" \
        "$before_n before the restart, $late_n later than 5 s after it; last failure at ${last_error} ms after PostgreSQL was back; $ok_late x 200 from 5 s after it" \
        "$(every "$before_n" == 0 "$late_n" == 0 "$ok_late" -gt 0)"
    local started_after ready
    started_after=$(proc_start_time "$pid")
    ready=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$port/readyz" || true)
    check "$g: the backend kept running (same PID $pid) and is ready again" \
        "start time $started_before -> $started_after, /readyz $ready" \
        "$(every "$started_before" == "$started_after" "$ready" == 200)"
    stop_pid "$pid"
}

# --- db-down-at-start --------------------------------------------------------------

group_db_down_at_start() {
    local g=db-down-at-start
    create_db db_down_at_start
    if ! pg_stop; then
        fail "$g" "could not stop PostgreSQL"
        return
    fi
    local started port pid
    started=$(now_ms)
    start_backend db-down-at-start db_down_at_start
    port=$svc_port pid=$svc_pid
    local live=0 ready_status
    wait_status "http://127.0.0.1:$port/healthz" 200 15 "$pid" && live=1
    http GET "http://127.0.0.1:$port/readyz"
    ready_status="$http_status $(jq -r '.error.code // .status' <<<"$http_body" 2>/dev/null || true)"
    # Stay down long enough for the start-up retries to reach their longest pause.
    local waited
    while (($(now_ms) - started < 8000)); do
        sleep 0.2
    done
    http GET "http://127.0.0.1:$port/readyz"
    local still_down=$http_status alive=0
    kill -0 "$pid" 2>/dev/null && alive=1
    check "$g: live but not ready while PostgreSQL is down" \
        "/healthz $([[ $live == 1 ]] && echo 200 || echo 'not 200'), /readyz $ready_status at start and $still_down after 8 s, process running: $alive" \
        "$(every "$live" == 1 "$ready_status" == "503 not_ready" "$still_down" == 503 "$alive" == 1)"
    if ! pg_start; then
        fail "$g" "could not start PostgreSQL again"
        return
    fi
    local up became=""
    up=$(now_ms)
    if wait_status "http://127.0.0.1:$port/readyz" 200 10 "$pid"; then
        became=$(($(now_ms) - up))
    fi
    waited=$(awk -v ms="${became:-0}" 'BEGIN { printf "%.1f", ms / 1000 }')
    check "$g: ready by itself within 10 s of PostgreSQL coming up" \
        "$([[ -n $became ]] && echo "ready after $waited s" || echo "not ready after 10 s")" \
        "$(every "$became" != "")"
    stop_pid "$pid"
}

# --- sigterm ---------------------------------------------------------------------------

# judge_sigterm GROUP PID JSON GRACE: the checks on the outcome of inflight.py.
judge_sigterm() {
    local g=$1 pid=$2 result=$3 grace=$4
    local signal_ms exit_rc=0 exited_ms=""
    signal_ms=$(jq -r .signal_epoch_ms "$result")
    local i
    for ((i = 0; i < (grace + 5) * 20; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            exited_ms=$(now_ms)
            break
        fi
        sleep 0.05
    done
    if [[ -z $exited_ms ]]; then
        fail "$g: exits 0 before the grace period ends" "still running $((grace + 5)) s after SIGTERM"
        stop_pid "$pid"
    else
        wait "$pid" || exit_rc=$?
        local took=$((exited_ms - signal_ms))
        check "$g: exits 0 before the grace period ends" \
            "exit status $exit_rc $(awk -v ms="$took" 'BEGIN { printf "%.2f", ms / 1000 }') s after SIGTERM (grace $grace s)" \
            "$(every "$exit_rc" == 0 "$took" -lt $((grace * 1000)))"
    fi

    local expected accepted slow ok_slow errors load_failures
    expected=$(jq -r .expected_status "$result")
    slow=$(jq -r .slow "$result")
    accepted=$(jq -r .accepted "$result")
    ok_slow=$(jq --argjson e "$expected" '[.slow_statuses[] | select(. == $e)] | length' "$result")
    errors=$(jq -r '.slow_errors[:3] | join("; ")' "$result")
    load_failures=$(jq -r '.load_failures | length' "$result")
    check "$g: every accepted request completes" \
        "$accepted of $slow slow requests accepted before SIGTERM, $ok_slow answered $expected after it${errors:+ ($errors)}; load: $(jq -r .load_ok_before "$result") x 200 before and $(jq -r .load_ok_after "$result") after SIGTERM, $(jq -r .load_not_accepted_after "$result") connections refused after the listener closed, $load_failures failed$(jq -r '.load_failures[:3] | if length > 0 then " (" + join("; ") + ")" else "" end' "$result")" \
        "$(every "$accepted" == "$slow" "$ok_slow" == "$slow" "$load_failures" == 0)"

    local late_probes late_ready first_not_ready
    late_probes=$(jq '[.readiness_probes[] | select(.after_ms >= 100)] | length' "$result")
    late_ready=$(jq '[.readiness_probes[] | select(.after_ms >= 100 and .answer == 200)] | length' "$result")
    first_not_ready=$(jq -r '[.readiness_probes[] | select(.answer != 200)][0] // {} | "\(.after_ms // "-") ms (\(.answer // "none"))"' "$result")
    check "$g: readiness stops answering 200 at once" \
        "first /readyz without 200 at $first_not_ready after SIGTERM; $late_ready of $late_probes probes from 100 ms on answered 200" \
        "$(every "$late_probes" -ge 5 "$late_ready" == 0)"
}

group_sigterm_backend() {
    local g=sigterm-backend grace=10
    if ! start_ready_backend sigterm-backend SHUTDOWN_GRACE_SECONDS=$grace; then
        fail "$g" "the backend did not start"
        return
    fi
    local port=$svc_port pid=$svc_pid token
    token=$(new_user "$port" sigterm@example.com) || {
        fail "$g" "could not create a user"
        return
    }
    create_task "$port" "$token" '{"title": "listed during the load"}' >/dev/null || true
    local result=$work/sigterm-backend.json
    if ! timeout 60 python3 "$fault_dir/inflight.py" --port "$port" --pid "$pid" --kind backend \
        --origin "http://127.0.0.1:$port" --token "$token" >"$result" 2>"$work/sigterm-backend.err"; then
        fail "$g" "the client driver failed: $(tail -n 2 "$work/sigterm-backend.err" | tr '\n' ' ')"
        stop_pid "$pid"
        return
    fi
    judge_sigterm "$g" "$pid" "$result" "$grace"
}

group_sigterm_frontend() {
    local g=sigterm-frontend grace=10
    if ! start_ready_backend sigterm-frontend-api; then
        fail "$g" "the backend did not start"
        return
    fi
    local backend_port=$svc_port backend_pid=$svc_pid
    new_user "$backend_port" web@example.com >/dev/null || {
        fail "$g" "could not create a user"
        return
    }
    local port
    port=$(free_port)
    start_service frontend sigterm-frontend "$port" BACKEND_URL="http://127.0.0.1:$backend_port" \
        PUBLIC_ORIGIN="http://127.0.0.1:$port" COOKIE_SECURE=false SHUTDOWN_GRACE_SECONDS=$grace
    local pid=$svc_pid
    if ! wait_status "http://127.0.0.1:$port/readyz" 200 30 "$pid"; then
        fail "$g" "the frontend did not become ready: $(tail -n 2 "$svc_log" | tr '\n' ' ')"
        return
    fi
    local result=$work/sigterm-frontend.json
    if ! timeout 60 python3 "$fault_dir/inflight.py" --port "$port" --pid "$pid" --kind frontend \
        --origin "http://127.0.0.1:$port" --email web@example.com --password "$password" \
        >"$result" 2>"$work/sigterm-frontend.err"; then
        fail "$g" "the client driver failed: $(tail -n 2 "$work/sigterm-frontend.err" | tr '\n' ' ')"
        stop_pid "$pid"
        stop_pid "$backend_pid"
        return
    fi
    judge_sigterm "$g" "$pid" "$result" "$grace"
    stop_pid "$backend_pid"
}

# --- slowloris ---------------------------------------------------------------------------

# slowloris GROUP PORT PROBE-CURL-ARGS...: the attack and the probes.
slowloris() {
    local g=$1 port=$2
    shift 2
    local timeout_s=2 rate=100 connections=1000 length=20
    local prefix=$work/$g attack_pid
    timeout 40 slowhttptest -H -c "$connections" -r "$rate" -i 1 -l "$length" -p 3 \
        -u "http://127.0.0.1:$port/healthz" -g -o "$prefix" >"$prefix.out" 2>&1 &
    attack_pid=$!
    started_pids+=("$attack_pid")
    sleep 2
    local i line code time_s slow_n=0 ok_n=0 probes=0 worst=0 ms
    for ((i = 0; i < 16; i++)); do
        line=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 5 "$@" || true)
        read -r code time_s <<<"$line"
        ms=$(awk -v t="${time_s:-9}" 'BEGIN { printf "%d", t * 1000 }')
        probes=$((probes + 1))
        ((ms > worst)) && worst=$ms
        if [[ ${code:-000} == 200 ]] && ((ms < 1000)); then
            ok_n=$((ok_n + 1))
        else
            slow_n=$((slow_n + 1))
        fi
        sleep 0.5
    done
    local attack_rc=0
    wait "$attack_pid" || attack_rc=$?
    local max_connected ended status
    max_connected=$(awk -F, 'NR > 1 && $4 > m { m = $4 } END { print m + 0 }' "$prefix.csv" 2>/dev/null || echo 0)
    ended=$(sed 's/\x1b\[[0-9;]*m//g' "$prefix.out" | grep -o 'Test ended on [0-9]*' | grep -o '[0-9]*$' || echo "?")
    status=$(sed 's/\x1b\[[0-9;]*m//g' "$prefix.out" | grep -o 'Exit status: .*' | sed 's/^Exit status: *//' || echo "?")
    check "$g: normal requests answered in < 1 s during the attack" \
        "$ok_n of $probes answered 200 in < 1 s (slowest $worst ms) while up to $max_connected slow-header connections were open" \
        "$(every "$ok_n" == "$probes" "$max_connected" -ge 100)"
    # With a 2 s header timeout, connections opened at $rate/s never pile up beyond what
    # 3.5 s of arrivals make, and the attack runs out of connections before its time limit.
    check "$g: attack connections are closed by the ${timeout_s} s header timeout" \
        "slowhttptest ($attack_rc): \"$status\" at second $ended of $length; at most $max_connected of $connections open at once (limit $((rate * 7 / 2)))" \
        "$(every "$status" == "No open connections left" "$max_connected" -le $((rate * 7 / 2)) "$max_connected" -ge 100)"
}

group_slowloris_backend() {
    local g=slowloris-backend
    if ! start_ready_backend slowloris-backend HEADER_READ_TIMEOUT_SECONDS=2; then
        fail "$g" "the backend did not start"
        return
    fi
    local port=$svc_port pid=$svc_pid token
    token=$(new_user "$port" slow@example.com) || {
        fail "$g" "could not create a user"
        return
    }
    slowloris "$g" "$port" -H "Authorization: Bearer $token" "http://127.0.0.1:$port/api/tasks"
    stop_pid "$pid"
}

group_slowloris_frontend() {
    local g=slowloris-frontend
    if ! start_ready_backend slowloris-frontend-api; then
        fail "$g" "the backend did not start"
        return
    fi
    local backend_pid=$svc_pid backend_port=$svc_port port
    port=$(free_port)
    start_service frontend slowloris-frontend "$port" BACKEND_URL="http://127.0.0.1:$backend_port" \
        PUBLIC_ORIGIN="http://127.0.0.1:$port" COOKIE_SECURE=false HEADER_READ_TIMEOUT_SECONDS=2
    local pid=$svc_pid
    if ! wait_status "http://127.0.0.1:$port/readyz" 200 30 "$pid"; then
        fail "$g" "the frontend did not become ready"
        return
    fi
    slowloris "$g" "$port" "http://127.0.0.1:$port/login"
    stop_pid "$pid"
    stop_pid "$backend_pid"
}

# --- schemathesis --------------------------------------------------------------------

group_schemathesis() {
    local g=schemathesis
    if ! start_ready_backend schemathesis; then
        fail "$g" "the backend did not start"
        return
    fi
    local port=$svc_port pid=$svc_pid token
    token=$(new_user "$port" fuzz@example.com) || {
        fail "$g" "could not create a user"
        return
    }
    local out=$work/schemathesis.out rc=0 seed_args=()
    if [[ ${SCHEMATHESIS_SEED:-1} != random ]]; then
        seed_args=(--seed "${SCHEMATHESIS_SEED:-1}")
    fi
    # Logging out would revoke the token every other request uses. Run in the temporary
    # directory: schemathesis keeps a cache of failures in the working directory.
    (cd "$work" && timeout 300 "$SCHEMATHESIS" run "http://127.0.0.1:$port/api/openapi.json" \
        --header "Authorization: Bearer $token" \
        --checks not_a_server_error,status_code_conformance,response_schema_conformance,negative_data_rejection \
        --max-examples 100 --exclude-path /api/auth/logout --request-timeout 10 \
        "${seed_args[@]}" --generation-database none --no-color) >"$out" 2>&1 || rc=$?
    local cases seed
    cases=$(grep -E '^ *[0-9]+ generated' "$out" | tail -n 1 | sed 's/^ *//' || true)
    seed=$(grep -E '^Seed: ' "$out" | tail -n 1 | sed 's/^Seed: //' || true)
    check "$g: no server error, documented statuses and bodies, invalid data rejected" \
        "exit $rc; ${cases:-no test cases}; seed ${seed:-?} (replay with --seed)" \
        "$(every "$rc" == 0 "$cases" != "")"
    if ((rc != 0)); then
        sed -n '/^=* FAILURES =*$/,/^=* WARNINGS =*$\|^=* SUMMARY =*$/p' "$out" | head -n 60 | sed 's/^/#   /'
    fi
    stop_pid "$pid"
}

# --- login-enumeration and password-storage -------------------------------------------

# enumeration_round PORT ROUND: 3 warm-up and 50 measured logins of each kind, in random
# order within each pair; appends "kind status seconds" lines to enum.ROUND.times.
enumeration_round() {
    local url=http://127.0.0.1:$1/api/auth/login round=$2 i kind body order
    local wrong unknown
    wrong=$(jq -cn '{email: "known@example.com", password: "not the password at all"}')
    unknown=$(jq -cn '{email: "nobody@example.com", password: "not the password at all"}')
    : >"$work/enum.$round.times"
    for ((i = 0; i < 53; i++)); do
        order="wrong unknown"
        ((RANDOM % 2)) && order="unknown wrong"
        for kind in $order; do
            body=$wrong
            [[ $kind == unknown ]] && body=$unknown
            curl -s -o "$work/enum.$round.$kind.$i" -D "$work/enum.$round.$kind.$i.head" \
                -w "$kind %{http_code} %{time_total} $i\n" --max-time 10 \
                -H 'Content-Type: application/json' -d "$body" "$url" >>"$work/enum.$round.times" || true
        done
    done
}

group_login_enumeration() {
    local g=login-enumeration
    if ! start_ready_backend login-enumeration; then
        fail "$g" "the backend did not start"
        return
    fi
    local port=$svc_port pid=$svc_pid
    new_user "$port" known@example.com >/dev/null || {
        fail "$g" "could not create a user"
        return
    }
    # Timing on a busy machine is noisy: up to three rounds are measured, and the medians
    # must agree within 20 % in one of them. A real difference (one of the two answered
    # without hashing) fails every round.
    local round statuses="" bodies="" challenges="" timing="" within=""
    local m_wrong m_unknown diff
    for round in 1 2 3; do
        enumeration_round "$port" "$round"
        # The first three of each kind are warm-up.
        statuses+=$(awk '$4 >= 3 { print $1, $2 }' "$work/enum.$round.times" | sort | uniq -c | tr -s ' ' | tr '\n' ';')"|"
        bodies+=$(for ((i = 3; i < 53; i++)); do cat "$work/enum.$round.wrong.$i" "$work/enum.$round.unknown.$i"; echo; done | sed 's/}{/}\n{/g' | sort -u)$'\n'
        challenges+=$(cat "$work"/enum."$round".*.head | tr -d '\r' | grep -i '^www-authenticate:' | sort | uniq -c | tr -s ' ')$'\n'
        m_wrong=$(awk '$4 >= 3 && $1 == "wrong" { print $3 * 1000 }' "$work/enum.$round.times" | median)
        m_unknown=$(awk '$4 >= 3 && $1 == "unknown" { print $3 * 1000 }' "$work/enum.$round.times" | median)
        diff=$(awk -v a="$m_wrong" -v b="$m_unknown" 'BEGIN { lo = (a < b ? a : b); d = (a > b ? a - b : b - a); printf "%.1f", (lo > 0 ? 100 * d / lo : 100) }')
        timing+="round $round: $(printf '%.1f' "$m_wrong") ms for a wrong password, $(printf '%.1f' "$m_unknown") ms for an unknown email, $diff % apart; "
        if awk -v d="$diff" 'BEGIN { exit !(d <= 20) }'; then
            within=$round
            break
        fi
    done
    local distinct_statuses distinct_bodies distinct_challenges sample
    distinct_statuses=$(tr '|' '\n' <<<"$statuses" | grep . | sort -u | tr '\n' '|')
    distinct_bodies=$(grep . <<<"$bodies" | sort -u | wc -l)
    distinct_challenges=$(grep . <<<"$challenges" | sed 's/^ *[0-9]* //' | sort -u | tr '\n' ' ')
    sample=$(cat "$work/enum.1.unknown.3")
    check "$g: wrong password and unknown email get the same status and body" \
        "50 of each per round, statuses:${distinct_statuses%|} distinct bodies: $distinct_bodies ($sample); headers: $distinct_challenges" \
        "$(every "$distinct_statuses" == " 50 unknown 401; 50 wrong 401;|" "$distinct_bodies" == 1 "$distinct_challenges" == "www-authenticate: Bearer ")"
    check "$g: median times within 20 %" \
        "${timing% }" \
        "$(every "$within" != "")"
    stop_pid "$pid"
}

group_password_storage() {
    local g=password-storage
    if ! start_ready_backend password-storage; then
        fail "$g" "the backend did not start"
        return
    fi
    local port=$svc_port pid=$svc_pid email
    for email in one@example.com two@example.com three@example.com; do
        new_user "$port" "$email" >/dev/null || {
            fail "$g" "could not create users"
            return
        }
    done
    local hashes
    hashes=$(sql "SELECT password_hash FROM users ORDER BY email" password_storage)
    local count bad salts
    count=$(grep -c . <<<"$hashes" || true)
    # PHC string: $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>, base64 without padding.
    bad=$(awk -F'$' '
        {
            ok = ($2 == "argon2id" && $3 == "v=19" && NF == 6)
            split($4, p, /[=,]/)
            ok = ok && p[1] == "m" && p[3] == "t" && p[5] == "p"
            ok = ok && (p[2] >= 19456 && p[4] >= 2 && p[6] >= 1)
            # A salt of at least 16 bytes and a hash of at least 32, in unpadded base64.
            ok = ok && $5 ~ /^[A-Za-z0-9+\/]+$/ && length($5) >= 22
            ok = ok && $6 ~ /^[A-Za-z0-9+\/]+$/ && length($6) >= 43
            if (!ok) print $1 "$" $2 "$" $3 "$" $4
        }' <<<"$hashes")
    salts=$(awk -F'$' '{ print $5 }' <<<"$hashes" | sort -u | grep -c . || true)
    local params
    params=$(awk -F'$' '{ print "$" $2 "$" $3 "$" $4 }' <<<"$hashes" | sort -u | tr '\n' ' ')
    check "$g: argon2id PHC strings with OWASP parameters and distinct salts" \
        "$count hashes of the same password: ${params}; $salts distinct salts${bad:+; not conforming: $bad}" \
        "$(every "$count" == 3 "$bad" == "" "$salts" == 3)"
    stop_pid "$pid"
}

# --- sql-injection -------------------------------------------------------------------

# The tag the service makes of a text: lower case, at most 30 characters, trimmed.
as_tag() {
    jq -rn --arg v "$1" '$v | ascii_downcase | .[0:30] | sub(" +$"; "")'
}

group_sql_injection() {
    local g=sql-injection
    if ! start_ready_backend sql-injection; then
        fail "$g" "the backend did not start"
        return
    fi
    local port=$svc_port pid=$svc_pid base token_a token_b
    base=http://127.0.0.1:$port/api/tasks
    if ! token_a=$(new_user "$port" alice@example.com) || ! token_b=$(new_user "$port" bob@example.com); then
        fail "$g" "could not create users"
        return
    fi
    local bob_title i
    for i in 1 2 3; do
        create_task "$port" "$token_b" "{\"title\": \"bob's task $i\", \"tags\": [\"bob\"]}" >/dev/null || {
            fail "$g" "could not create tasks"
            return
        }
    done
    http GET "$base?limit=100" -H "Authorization: Bearer $token_b"
    local bob_before=$http_body
    local payloads=(
        "' OR 1=1 --"
        "'); DROP TABLE tasks; --"
        "Robert'); DELETE FROM tasks WHERE ('1'='1"
        "%' OR '1'='1"
        "x' UNION SELECT password_hash FROM users --"
        "\$\$; DROP TABLE users; \$\$"
        "\\'; TRUNCATE tasks CASCADE; --"
    )
    local stored_ok=0 payload task id title
    for payload in "${payloads[@]}"; do
        task=$(create_task "$port" "$token_a" "$(jq -cn --arg t "$payload" --arg tag "$(as_tag "$payload")" '{title: $t, description: $t, tags: [$tag]}')") || continue
        id=$(jq -r .id <<<"$task")
        http GET "$base/$id" -H "Authorization: Bearer $token_a"
        title=$(jq -r .title <<<"$http_body")
        if [[ $http_status == 200 && $title == "$payload" && $(jq -r .description <<<"$http_body") == "$payload" &&
            $(jq -r '.tags[0]' <<<"$http_body") == "$(as_tag "$payload")" ]]; then
            stored_ok=$((stored_ok + 1))
        fi
    done
    check "$g: injection strings in titles, descriptions and tags are stored verbatim" \
        "$stored_ok of ${#payloads[@]} read back exactly" \
        "$(every "$stored_ok" == "${#payloads[@]}")"

    local matched=0 total found encoded
    for payload in "${payloads[@]}"; do
        encoded=$(jq -rn --arg v "$payload" '$v | @uri')
        http GET "$base?search=$encoded" -H "Authorization: Bearer $token_a"
        total=$(jq -r .total <<<"$http_body" 2>/dev/null || echo "?")
        found=$(jq -r '.tasks[0].title' <<<"$http_body" 2>/dev/null || true)
        [[ $http_status == 200 && $total == 1 && $found == "$payload" ]] || {
            echo "# search for $payload: $http_status $http_body" >&2
            continue
        }
        encoded=$(jq -rn --arg v "$(as_tag "$payload")" '$v | @uri')
        http GET "$base?tag=$encoded" -H "Authorization: Bearer $token_a"
        total=$(jq -r .total <<<"$http_body" 2>/dev/null || echo "?")
        [[ $http_status == 200 && $total == 1 ]] || {
            echo "# tag filter $payload: $http_status $http_body" >&2
            continue
        }
        matched=$((matched + 1))
    done
    # "%" and "_" match themselves: only the one title that contains a "%".
    http GET "$base?search=%25" -H "Authorization: Bearer $token_a"
    local percent
    percent="$http_status $(jq -r .total <<<"$http_body" 2>/dev/null || echo "?")"
    http GET "$base?tag=$(jq -rn --arg v "x' or '1'='1" '$v | @uri')" -H "Authorization: Bearer $token_a"
    local no_tag
    no_tag="$http_status $(jq -r .total <<<"$http_body" 2>/dev/null || echo "?")"
    check "$g: searches and tag filters with injection strings match literally" \
        "$matched of ${#payloads[@]} found exactly their own task by search and by tag; search \"%\": $percent match; an injected tag: $no_tag" \
        "$(every "$matched" == "${#payloads[@]}" "$percent" == "200 1" "$no_tag" == "200 0")"

    local query answers="" refused=0 queries=(
        "sort=nonsense" "sort=title%3B%20DROP%20TABLE%20tasks" "sort=title%20desc"
        "sort=user_id" "order=asc%3B%20DROP%20TABLE%20users" "order=up"
        "status=all'%20OR%20'1'%3D'1" "priority=high'%20--"
    )
    for query in "${queries[@]}"; do
        http GET "$base?$query" -H "Authorization: Bearer $token_a"
        local field=${query%%=*}
        if [[ $http_status == 422 ]] && [[ $(jq -r '.error.code' <<<"$http_body") == validation_failed ]] &&
            [[ -n $(jq -r --arg f "$field" '.error.fields[$f] // empty' <<<"$http_body") ]]; then
            refused=$((refused + 1))
        else
            answers+=" $query: $http_status;"
        fi
    done
    check "$g: unknown or injected sort, order, status and priority values are 422" \
        "$refused of ${#queries[@]} answered 422 validation_failed naming the parameter${answers:+; others:$answers}" \
        "$(every "$refused" == "${#queries[@]}")"

    http GET "$base?limit=100" -H "Authorization: Bearer $token_b"
    local bob_after=$http_body tables users
    tables=$(sql "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name IN ('users', 'tasks')" sql_injection)
    users=$(sql "SELECT count(*) FROM users" sql_injection)
    http GET "$base?limit=100" -H "Authorization: Bearer $token_a"
    local alice_total
    alice_total=$(jq -r .total <<<"$http_body")
    bob_title=$(jq -r '[.tasks[].title] | join(", ")' <<<"$bob_after")
    check "$g: the other user's tasks and the tables are unaffected" \
        "bob still has $(jq -r .total <<<"$bob_after") tasks ($bob_title), alice $alice_total; tables users and tasks present: $tables; users: $users" \
        "$(every "$bob_before" == "$bob_after" "$(jq -r .total <<<"$bob_after")" == 3 "$alice_total" == "${#payloads[@]}" "$tables" == 2 "$users" == 2)"
    stop_pid "$pid"
}

# --- control-characters --------------------------------------------------------------

group_control_characters() {
    local g=control-characters
    if ! start_ready_backend control-characters; then
        fail "$g" "the backend did not start"
        return
    fi
    local port=$svc_port pid=$svc_pid token
    token=$(new_user "$port" nul@example.com) || {
        fail "$g" "could not create a user"
        return
    }
    http GET "http://127.0.0.1:$port/api/tasks?search=a%00b" -H "Authorization: Bearer $token"
    check "$g: a NUL byte in a search text is a 4xx" \
        "GET /api/tasks?search=a%00b: $http_status $http_body" \
        "$(every "${http_status:0:1}" == 4)"
    http POST "http://127.0.0.1:$port/api/auth/login" -H 'Content-Type: application/json' \
        -d '{"email": "nul\u0000@example.com", "password": "whatever it is"}'
    check "$g: a NUL byte in a login email is a 4xx" \
        "POST /api/auth/login {\"email\": \"nul\\u0000@example.com\", ...}: $http_status $http_body" \
        "$(every "${http_status:0:1}" == 4)"
    stop_pid "$pid"
}

# --- memory-abuse --------------------------------------------------------------------

# Bytes of a Kubernetes memory quantity such as 256Mi, 1Gi, 512M or 1000000.
quantity_bytes() {
    awk -v q="$1" 'BEGIN {
        n = q + 0; unit = q; sub(/^[0-9.]+/, "", unit)
        f["Ki"] = 1024; f["Mi"] = 1048576; f["Gi"] = 1073741824
        f["k"] = 1000; f["K"] = 1000; f["M"] = 1000000; f["G"] = 1000000000; f[""] = 1
        if (!(unit in f)) { print 0; exit }
        printf "%d\n", n * f[unit]
    }'
}

group_memory_abuse() {
    local g=memory-abuse limit_text limit_bytes
    limit_text=$(yq -r '.backend.resources.limits.memory' "$root/helm/values.yaml" 2>/dev/null || true)
    limit_bytes=$(quantity_bytes "${limit_text:-0}")
    if [[ -z $limit_text || $limit_text == null || $limit_bytes == 0 ]]; then
        fail "$g" "no backend.resources.limits.memory in helm/values.yaml (got '$limit_text')"
        return
    fi
    if ! start_ready_backend memory-abuse; then
        fail "$g" "the backend did not start"
        return
    fi
    local port=$svc_port pid=$svc_pid token
    token=$(new_user "$port" memory@example.com) || {
        fail "$g" "could not create a user"
        return
    }
    local big=$work/big.json config=$work/big.curl i
    python3 -c 'import sys; sys.stdout.write("{\"title\": \"" + "a" * (2 * 1024 * 1024) + "\"}")' >"$big"
    : >"$config"
    for ((i = 0; i < 100; i++)); do
        {
            ((i == 0)) || echo next
            echo "url = \"http://127.0.0.1:$port/api/tasks\""
            echo "header = \"Authorization: Bearer $token\""
            echo "header = \"Content-Type: application/json\""
            # Send the body at once instead of waiting for "100 Continue".
            echo 'header = "Expect:"'
            # Half announce their length, half are sent chunked without one.
            if ((i % 2)); then
                echo 'header = "Transfer-Encoding: chunked"'
            fi
            echo "data-binary = \"@$big\""
            echo 'output = "/dev/null"'
            printf '%s\n' 'write-out = "%{http_code} %{size_upload}\n"'
        } >>"$config"
    done
    local answers refused closed others uploaded
    answers=$(curl -s --parallel --parallel-max 20 --max-time 60 -K "$config" 2>/dev/null || true)
    refused=$(grep -c '^413 ' <<<"$answers" || true)
    # A chunked upload that the service stops reading after the limit may see its
    # connection closed before curl reads the 413.
    closed=$(grep -c '^000 ' <<<"$answers" || true)
    others=$(grep -v '^413 \|^000 ' <<<"$answers" | awk '{ print $1 }' | sort | uniq -c | tr -s ' ' | tr '\n' ';' || true)
    uploaded=$(awk '{ s += $2 } END { printf "%d", s / 1048576 }' <<<"$answers")
    check "$g: 100 bodies of 2 MiB are refused" \
        "$refused x 413, $closed closed by the service during the upload${others:+, others:$others}; $uploaded MiB sent" \
        "$(every "$((refused + closed))" == 100 "$refused" -gt 0 "$others" == "")"

    local logins=$work/logins.curl login_body
    login_body=$(jq -cn --arg p "$password" '{email: "memory@example.com", password: $p}')
    : >"$logins"
    for ((i = 0; i < 64; i++)); do
        {
            ((i == 0)) || echo next
            echo "url = \"http://127.0.0.1:$port/api/auth/login\""
            echo 'header = "Content-Type: application/json"'
            echo "data = $(jq -cn --arg b "$login_body" '$b')"
            echo 'output = "/dev/null"'
            printf '%s\n' 'write-out = "%{http_code}\n"'
        } >>"$logins"
    done
    codes=$(curl -s --parallel --parallel-immediate --parallel-max 64 --max-time 60 -K "$logins" 2>/dev/null | sort | uniq -c | tr -s ' ' | tr '\n' ';' || true)
    check "$g: 64 simultaneous logins succeed" \
        "answers:$codes" \
        "$(every "$codes" == " 64 200;")"

    local hwm_kb rss_kb
    hwm_kb=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
    rss_kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
    check "$g: peak RSS stays below the chart's memory limit" \
        "VmHWM $((hwm_kb / 1024)) MiB, VmRSS now $((rss_kb / 1024)) MiB; backend.resources.limits.memory $limit_text ($((limit_bytes / 1048576)) MiB)" \
        "$(every "$hwm_kb" -gt 0 $((hwm_kb * 1024)) -lt "$limit_bytes")"
    stop_pid "$pid"
}

# --- Run -------------------------------------------------------------------------------

for group in "${all_groups[@]}"; do
    wants "$group" || continue
    echo "# $group"
    case $group in
        db-restart) group_db_restart ;;
        db-down-at-start) group_db_down_at_start ;;
        sigterm-backend) group_sigterm_backend ;;
        sigterm-frontend) group_sigterm_frontend ;;
        slowloris-backend) group_slowloris_backend ;;
        slowloris-frontend) group_slowloris_frontend ;;
        schemathesis) group_schemathesis ;;
        login-enumeration) group_login_enumeration ;;
        password-storage) group_password_storage ;;
        sql-injection) group_sql_injection ;;
        control-characters) group_control_characters ;;
        memory-abuse) group_memory_abuse ;;
    esac
    # A group that failed half-way must not leave the server down for the next one.
    if ! pg_running; then
        pg_start || fail "postgres" "could not start PostgreSQL again after $group"
    fi
done

finish
