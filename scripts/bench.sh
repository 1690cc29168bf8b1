#!/usr/bin/env bash
#
# bench.sh - measure TaskFlow's performance figures against its goals, on loopback.
#
# Usage:
#   scripts/bench.sh [--quick] [--no-build] [--bin-dir DIR] [--out DIR] [--duration S]
#   scripts/bench.sh --help
#
# Builds the backend and the frontend exactly as they ship (static musl release binaries,
# `cargo build --release --locked --target x86_64-unknown-linux-musl -p taskflow-backend
# -p taskflow-frontend`), starts a private PostgreSQL server (initdb in a temporary
# directory, Unix socket only, default settings), starts both services on free loopback
# ports, seeds a user with 100 tasks through the API, and measures:
#
#   - list 100 tasks (GET /api/tasks?limit=100): req/s, p50 and p99 at 16 connections
#   - the database's own limit on the same work: pgbench running, with the same number of
#     connections, the exact statements one list request sends (captured from the server
#     log during one request, as prepared statements with the same parameters), and the
#     backend's share of it
#   - list 100 tasks: p99 at 64 connections
#   - create task (POST /api/tasks): req/s at 16 connections
#   - the tasks page through the frontend with a session cookie: req/s at 16 connections
#   - idle RSS of each service, and RSS after the load
#   - peak RSS (VmHWM) of the backend during 64 simultaneous logins, against the goal and
#     the memory limit of the Helm chart (helm/values.yaml)
#   - cold start: spawn to the first 200 from /readyz on a migrated database (median of 5),
#     and once on an empty database
#   - 200 requests in flight at once on one backend: each must be a 2xx, or a 503 with a
#     JSON body, within the pool's acquire timeout; none may hang
#
# Load comes from wrk (2 threads, --latency) with scripts/bench/request.lua; every load
# run lasts --duration seconds (15 by default) after a 1-second warm-up. wrk, the services
# and PostgreSQL share the machine's CPUs; the CPU time each used is recorded too.
#
# Output, in --out DIR (default: a new directory under ${TMPDIR:-/tmp}):
#   results.json   machine, date, commit, settings, every figure (value, unit, goal, met),
#                  the latency percentiles and the CPU use of each load run
#   results.md     the table in Markdown
#   bench.svg      the figures against their goals and the latency percentiles
# The table is also printed. A figure that misses its goal does not fail the run: the exit
# status is 0 when every scenario ran, 1 when one could not (a service did not start, a
# load run got more than 1 % errors, a tool failed), 2 on usage errors.
#
# Options:
#   --quick        2-second load runs (CI uses this to keep the script working)
#   --no-build     use the musl binaries already built in the cargo target directory
#   --bin-dir DIR  use taskflow-backend and taskflow-frontend from DIR (implies --no-build)
#   --out DIR      where to write the results (created if needed)
#   --duration S   seconds per load run, 1-600 (default 15; 2 with --quick)
#
# Environment:
#   BENCH_BACKEND_<NAME>=<value>  passes NAME=value to the benchmarked backend (for example
#                                 BENCH_BACKEND_DB_POOL_SIZE=20); recorded in results.json
#   CARGO_TARGET_DIR              where cargo builds (as for cargo itself)
#
# Needs: cargo, wrk, pgbench and psql, the PostgreSQL server programs (initdb, pg_ctl,
# postgres), curl, jq and yq. On Debian: apt-get install wrk postgresql postgresql-client
# curl jq yq (pgbench comes with the postgresql server package). As root, PostgreSQL runs
# as the "postgres" user through runuser, as in scripts/with-postgres.sh.

set -euo pipefail

prog=${0##*/}
repo=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)

usage() {
    sed -n '2,/^$/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

die() {
    echo "$prog: $*" >&2
    exit 1
}

usage_error() {
    echo "$prog: $*" >&2
    echo "Try '$prog --help'." >&2
    exit 2
}

quick=false
build=true
bin_dir=""
out=""
duration=""

while [[ $# -gt 0 ]]; do
    case $1 in
        -h | --help)
            usage
            exit 0
            ;;
        --quick) quick=true ;;
        --no-build) build=false ;;
        --bin-dir)
            [[ $# -ge 2 && -n $2 ]] || usage_error "--bin-dir needs a directory"
            bin_dir=$2
            build=false
            shift
            ;;
        --out)
            [[ $# -ge 2 && -n $2 ]] || usage_error "--out needs a directory"
            out=$2
            shift
            ;;
        --duration)
            [[ $# -ge 2 ]] || usage_error "--duration needs a number of seconds"
            if [[ ! $2 =~ ^[0-9]+$ ]] || (($2 < 1 || $2 > 600)); then
                usage_error "--duration must be a whole number of seconds from 1 to 600, not '$2'"
            fi
            duration=$2
            shift
            ;;
        *) usage_error "unknown option '$1'" ;;
    esac
    shift
done

if [[ -z $duration ]]; then
    if $quick; then duration=2; else duration=15; fi
fi

# --- Tools --------------------------------------------------------------------------------

need() {
    command -v "$1" >/dev/null 2>&1 ||
        die "'$1' is needed but not installed; install it with: $2"
}
need cargo "rustup (https://rustup.rs)"
need wrk "apt-get install wrk"
need pgbench "apt-get install postgresql (pgbench comes with the server package)"
need psql "apt-get install postgresql-client"
need curl "apt-get install curl"
need jq "apt-get install jq"
need yq "apt-get install yq"
need git "apt-get install git"

pg_bin=""
if command -v initdb >/dev/null && command -v pg_ctl >/dev/null && command -v postgres >/dev/null; then
    pg_bin=$(dirname -- "$(command -v initdb)")
else
    while IFS= read -r dir; do
        [[ -x $dir/initdb && -x $dir/pg_ctl && -x $dir/postgres ]] && pg_bin=$dir
    done < <(compgen -G '/usr/lib/postgresql/*/bin' | sort -V)
fi
[[ -n $pg_bin ]] ||
    die "PostgreSQL server programs (initdb, pg_ctl, postgres) not found; install them with: apt-get install postgresql"

if [[ $EUID -eq 0 ]]; then
    command -v runuser >/dev/null || die "running as root needs 'runuser' (util-linux) to start PostgreSQL"
    id -u postgres >/dev/null 2>&1 ||
        die "running as root needs a 'postgres' user; install the postgresql package or run as a normal user"
fi

contract=$repo/nix/contract.json
backend_name=$(jq -er '.images.backend.binary' "$contract") || die "cannot read $contract"
frontend_name=$(jq -er '.images.frontend.binary' "$contract") || die "cannot read $contract"

# --- Build ----------------------------------------------------------------------------------

cd -- "$repo"
target_dir=$(cargo metadata --format-version 1 --no-deps --offline 2>/dev/null | jq -r '.target_directory') ||
    target_dir=${CARGO_TARGET_DIR:-$repo/target}
musl=x86_64-unknown-linux-musl

if $build; then
    echo "$prog: building the services as shipped (release, $musl)..." >&2
    timeout 3600 cargo build --release --locked --target "$musl" \
        -p "$backend_name" -p "$frontend_name" ||
        die "the release build failed"
fi
if [[ -z $bin_dir ]]; then
    bin_dir=$target_dir/$musl/release
fi
backend_bin=$bin_dir/$backend_name
frontend_bin=$bin_dir/$frontend_name
for bin in "$backend_bin" "$frontend_bin"; do
    [[ -x $bin ]] || die "$bin not found; build it with: cargo build --release --locked --target $musl -p $backend_name -p $frontend_name"
done
# The measuring helper; a debug build is enough (it waits, it does not compute).
timeout 1800 cargo build --locked --quiet -p taskflow-bench || die "building taskflow-bench failed"
tool=$target_dir/debug/taskflow-bench
[[ -x $tool ]] || die "$tool not found after building it"

# --- Work directory and cleanup ---------------------------------------------------------------

work=$(mktemp -d "${TMPDIR:-/tmp}/taskflow-bench.XXXXXXXX") || die "cannot create a temporary directory"
[[ ${#work} -le 80 && $work =~ ^[A-Za-z0-9_./-]+$ ]] ||
    die "temporary directory '$work' is unusable for a socket path; set TMPDIR to a short plain path such as /tmp"
if [[ -z $out ]]; then
    out=${TMPDIR:-/tmp}/taskflow-bench-results-$(date -u +%Y%m%dT%H%M%SZ)
fi
mkdir -p -- "$out" || die "cannot create the output directory $out"
out=$(cd -- "$out" && pwd)

pg_dir=$work/pg
pids=()

as_pg() {
    if [[ $EUID -eq 0 ]]; then
        (cd "$pg_dir" && runuser -u postgres -- "$@")
    else
        (cd "$pg_dir" && "$@")
    fi
}

stop_process() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do
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
    for pid in "${pids[@]}"; do
        stop_process "$pid"
    done
    if [[ -f $pg_dir/data/postmaster.pid ]]; then
        as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
    fi
    if ((rc != 0)); then
        for log in backend frontend postgres; do
            if [[ -s $work/$log.log ]]; then
                echo "--- last lines of the $log log ---" >&2
                tail -n 15 "$work/$log.log" >&2 || true
            fi
        done
    fi
    rm -rf -- "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- PostgreSQL -------------------------------------------------------------------------------

mkdir -p "$pg_dir"
if [[ $EUID -eq 0 ]]; then
    chown postgres: "$pg_dir" || die "cannot give $pg_dir to user 'postgres'"
    chmod 755 "$work"
    runuser -u postgres -- test -w "$pg_dir" ||
        die "user 'postgres' cannot reach $pg_dir; set TMPDIR to a directory it can reach, such as /tmp"
fi
as_pg "$pg_bin/initdb" -D "$pg_dir/data" -U postgres --auth=trust -E UTF8 --locale=C \
    >"$work/initdb.log" 2>&1 || die "initdb failed: $(tail -n 5 "$work/initdb.log")"
# Default settings, as the chart's PostgreSQL runs, but reachable only through the socket.
as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -w -t 30 -l "$pg_dir/postgres.log" \
    -o "-c listen_addresses='' -c port=5432 -c unix_socket_directories='$pg_dir'" start \
    >"$work/pg_ctl.log" 2>&1 || die "PostgreSQL did not start: $(tail -n 5 "$pg_dir/postgres.log" 2>/dev/null)"
ln -s "$pg_dir/postgres.log" "$work/postgres.log"
export PGHOST=$pg_dir PGPORT=5432 PGUSER=postgres PGCONNECT_TIMEOUT=10
psql_q() {
    timeout 60 psql -X -q -v ON_ERROR_STOP=1 -d "${PGDATABASE_NAME:-postgres}" "$@"
}
psql_q -c "CREATE DATABASE taskflow" -c "CREATE DATABASE taskflow_empty" >/dev/null ||
    die "cannot create the databases"
database_url="postgres://postgres@${pg_dir//\//%2F}/taskflow"
empty_database_url="postgres://postgres@${pg_dir//\//%2F}/taskflow_empty"
pg_pid=$(head -n 1 "$pg_dir/data/postmaster.pid")

# --- Services -----------------------------------------------------------------------------------

used_ports=" "
free_port() {
    local i port
    for ((i = 0; i < 200; i++)); do
        port=$((20000 + RANDOM % 40000))
        [[ $used_ports == *" $port "* ]] && continue
        if ! (: </dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
            used_ports+="$port "
            echo "$port"
            return 0
        fi
    done
    die "no free loopback port found"
}

jwt_secret=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
backend_port=$(free_port)
frontend_port=$(free_port)
backend_url=http://127.0.0.1:$backend_port
frontend_url=http://127.0.0.1:$frontend_port

# The images' environment from the contract, then what the benchmark needs: loopback, its
# own ports and database, and login limits high enough for 64 logins from one address.
backend_env=(PATH=/usr/bin:/bin)
while IFS= read -r pair; do backend_env+=("$pair"); done < <(jq -r '.images.backend.env | to_entries[] | "\(.key)=\(.value)"' "$contract")
backend_env+=(HTTP_HOST=127.0.0.1 "DATABASE_URL=$database_url" "JWT_SECRET=$jwt_secret"
    AUTH_RATE_LIMIT_PER_IP=100000 AUTH_RATE_LIMIT_PER_ACCOUNT=100000)
overrides=()
while IFS= read -r name; do
    overrides+=("${name#BENCH_BACKEND_}=${!name}")
done < <(compgen -e | grep '^BENCH_BACKEND_' || true)
backend_env+=("${overrides[@]}")
acquire_timeout_ms=$(sed -n 's/^# *DB_ACQUIRE_TIMEOUT_MS=\([0-9]*\)$/\1/p' "$repo/.env.example" | head -n 1)
for pair in "${overrides[@]}"; do
    [[ $pair == DB_ACQUIRE_TIMEOUT_MS=* ]] && acquire_timeout_ms=${pair#*=}
done
[[ $acquire_timeout_ms =~ ^[0-9]+$ ]] || die "cannot read the default DB_ACQUIRE_TIMEOUT_MS from .env.example"

frontend_env=(PATH=/usr/bin:/bin)
while IFS= read -r pair; do frontend_env+=("$pair"); done < <(jq -r '.images.frontend.env | to_entries[] | "\(.key)=\(.value)"' "$contract")
frontend_env+=(HTTP_HOST=127.0.0.1 "HTTP_PORT=$frontend_port" "BACKEND_URL=$backend_url"
    "PUBLIC_ORIGIN=$frontend_url" COOKIE_SECURE=false)

wait_ready() {
    local url=$1 pid=$2 what=$3 i
    for ((i = 0; i < 600; i++)); do
        kill -0 "$pid" 2>/dev/null || die "the $what exited during start-up"
        if [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url/readyz") == 200 ]]; then
            return 0
        fi
        sleep 0.05
    done
    die "the $what was not ready within 30 s"
}

env -i "${backend_env[@]}" "HTTP_PORT=$backend_port" "$backend_bin" serve >"$work/backend.log" 2>&1 &
backend_pid=$!
pids+=("$backend_pid")
wait_ready "$backend_url" "$backend_pid" backend
env -i "${frontend_env[@]}" "$frontend_bin" serve >"$work/frontend.log" 2>&1 &
frontend_pid=$!
pids+=("$frontend_pid")
wait_ready "$frontend_url" "$frontend_pid" frontend

# --- Measuring helpers ----------------------------------------------------------------------

figures=$work/figures.jsonl
latencies=$work/latency.jsonl
loads=$work/loads.jsonl
: >"$figures"
: >"$latencies"
: >"$loads"

# figure ID NAME VALUE UNIT [OP GOAL GOAL_TEXT] [DISPLAY]
figure() {
    local id=$1 name=$2 value=$3 unit=$4 op=${5-} goal=${6-} text=${7-} display=${8-}
    jq -nc --arg id "$id" --arg name "$name" --argjson value "$value" --arg unit "$unit" \
        --arg op "$op" --arg goal "$goal" --arg text "$text" --arg display "$display" '
        {id: $id, name: $name, value: $value, unit: $unit}
        + (if $display == "" then {} else {display: $display} end)
        + (if $op == "" then {goal: null, met: null}
           else ($goal | tonumber) as $g
             | {goal: {op: $op, value: $g, text: $text},
                met: (if $value == null then false
                      elif $op == ">=" then $value >= $g
                      elif $op == "<=" then $value <= $g
                      else $value < $g end)}
           end)' >>"$figures"
}

kib_of() {
    awk -v key="$2:" '$1 == key { print $2; exit }' "/proc/$1/status"
}
mib_of() {
    local kib
    kib=$(kib_of "$1" "$2") || return 1
    [[ -n $kib ]] || return 1
    awk -v k="$kib" 'BEGIN { printf "%.2f", k / 1024 }'
}

# CPU seconds used so far by a process (and, for the PostgreSQL server, its children).
cpu_seconds() {
    local ticks
    ticks=$(getconf CLK_TCK)
    awk -v hz="$ticks" '{ sub(/^.*\) /, ""); split($0, f, " "); t += f[12] + f[13] }
        END { printf "%.3f", t / hz }' "$@" 2>/dev/null || echo 0
}
# "pid cpu-seconds" of the PostgreSQL server and each of its processes, one per line.
pg_snapshot() {
    local pid
    for pid in "$pg_pid" $(pgrep -P "$pg_pid" 2>/dev/null || true); do
        echo "$pid $(cpu_seconds "/proc/$pid/stat")"
    done
}
# CPU seconds PostgreSQL used between two snapshots (processes started in between count
# from zero; those that ended in between are missed, so sessions are kept open meanwhile).
pg_cpu_between() {
    awk 'NR == FNR { before[$1] = $2; next } { used += $2 - ($1 in before ? before[$1] : 0) }
        END { printf "%.3f", used }' "$1" "$2"
}

request_lua=$repo/scripts/bench/request.lua

# load NAME URL CONNECTIONS [VAR=VALUE...]: one wrk run (after a 1-second warm-up);
# leaves its summary in $work/NAME.json and appends the CPU use to loads.jsonl.
load() {
    local name=$1 url=$2 connections=$3
    shift 3
    local summary=$work/$name.json
    env "$@" BENCH_JSON_OUT="$work/warmup.json" timeout 60 \
        wrk -t2 -c"$connections" -d1s --timeout 10s -s "$request_lua" "$url" >/dev/null 2>&1 ||
        die "wrk warm-up of '$name' failed"
    local b0 f0 p0 t0 b1 f1 p1 t1 times
    b0=$(cpu_seconds "/proc/$backend_pid/stat")
    f0=$(cpu_seconds "/proc/$frontend_pid/stat")
    pg_snapshot >"$work/pg-before.txt"
    t0=$(date +%s.%N)
    times=$(
        env "$@" BENCH_JSON_OUT="$summary" timeout $((duration + 60)) \
            wrk -t2 -c"$connections" -d"${duration}s" --timeout 10s --latency -s "$request_lua" "$url" \
            >"$work/$name.wrk.txt" 2>&1 || exit 1
        times
    ) || die "wrk run '$name' failed: $(tail -n 3 "$work/$name.wrk.txt")"
    t1=$(date +%s.%N)
    b1=$(cpu_seconds "/proc/$backend_pid/stat")
    f1=$(cpu_seconds "/proc/$frontend_pid/stat")
    pg_snapshot >"$work/pg-after.txt"
    p1=$(pg_cpu_between "$work/pg-before.txt" "$work/pg-after.txt")
    p0=0
    [[ -s $summary ]] || die "wrk run '$name' wrote no summary"
    local wrk_cpu
    wrk_cpu=$(awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] } printf "%.3f", t }' <<<"$times")
    jq -c --arg name "$name" --argjson c "$connections" \
        --argjson wall "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')" \
        --argjson backend "$(awk -v a="$b0" -v b="$b1" 'BEGIN { printf "%.3f", b - a }')" \
        --argjson frontend "$(awk -v a="$f0" -v b="$f1" 'BEGIN { printf "%.3f", b - a }')" \
        --argjson postgres "$(awk -v a="$p0" -v b="$p1" 'BEGIN { printf "%.3f", b - a }')" \
        --argjson wrk "$wrk_cpu" '
        {name: $name, connections: $c, requests, rps, errors,
         cpu_cores: {backend: ($backend / $wall), frontend: ($frontend / $wall),
                     postgres: ($postgres / $wall), wrk: ($wrk / $wall)}}
        | .cpu_cores |= map_values(. * 100 | round / 100)' "$summary" >>"$loads"
    local bad
    bad=$(jq '.errors.connect + .errors.read + .errors.write + .errors.status + .errors.timeout' "$summary")
    if (($(jq '.requests' "$summary") == 0)) || ((bad * 100 > $(jq '.requests' "$summary"))); then
        die "wrk run '$name' got $bad errors in $(jq '.requests' "$summary") requests (more than 1 %)"
    fi
}

# latency_series NAME LABEL: the run's percentiles for the chart.
latency_series() {
    jq -c --arg title "$2" '{name: $title, percentiles}' "$work/$1.json" >>"$latencies"
}

api() {
    # api METHOD PATH [TOKEN] [BODY] -> prints "STATUS BODY"
    local method=$1 path=$2 token=${3-} body=${4-}
    local args=(-s --max-time 10 -X "$method" -o "$work/api.out" -w '%{http_code}')
    [[ -n $token ]] && args+=(-H "Authorization: Bearer $token")
    [[ -n $body ]] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
    curl "${args[@]}" "$backend_url$path" || echo 000
}

# --- Idle memory ------------------------------------------------------------------------------

sleep 1
backend_idle=$(mib_of "$backend_pid" VmRSS) || die "cannot read the backend's memory"
frontend_idle=$(mib_of "$frontend_pid" VmRSS) || die "cannot read the frontend's memory"

# --- Seed -----------------------------------------------------------------------------------------

password=bench-password-$RANDOM$RANDOM
register_and_login() {
    local email=$1 status
    status=$(api POST /api/auth/register "" "{\"name\":\"Bench\",\"email\":\"$email\",\"password\":\"$password\"}")
    [[ $status == 201 ]] || die "registering $email failed with HTTP $status: $(head -c 300 "$work/api.out")"
    status=$(api POST /api/auth/login "" "{\"email\":\"$email\",\"password\":\"$password\"}")
    [[ $status == 200 ]] || die "logging in as $email failed with HTTP $status"
    jq -er '.access_token' "$work/api.out" || die "the login answer has no access_token"
}
token=$(register_and_login bench@example.com)
create_token=$(register_and_login bench-create@example.com)

priorities=(low medium high)
words=(groceries report invoice dentist garden backup release taxes birthday meeting)
for ((i = 1; i <= 100; i++)); do
    word=${words[i % 10]}
    body=$(jq -nc --argjson i "$i" --arg word "$word" --arg priority "${priorities[i % 3]}" '{
        title: "Task \($i): \($word)",
        description: (if $i % 4 == 0 then null else "Notes for task \($i) about \($word), with enough text to look like a real description." end),
        priority: $priority,
        due_date: (if $i % 5 == 0 then null else "2027-\(($i % 12) + 1 | tostring | if length == 1 then "0" + . else . end)-\(($i % 28) + 1 | tostring | if length == 1 then "0" + . else . end)" end),
        tags: ([$word] + (if $i % 2 == 0 then ["home"] else ["work"] end) + (if $i % 7 == 0 then ["urgent"] else [] end)),
        completed: ($i % 3 == 0)
    }')
    status=$(api POST /api/tasks "$token" "$body")
    [[ $status == 201 ]] || die "creating task $i failed with HTTP $status: $(head -c 300 "$work/api.out")"
done
list_path='/api/tasks?limit=100'
status=$(api GET "$list_path" "$token")
[[ $status == 200 ]] || die "listing the tasks failed with HTTP $status"
[[ $(jq '.tasks | length' "$work/api.out") == 100 ]] || die "the list does not hold the 100 seeded tasks"
list_bytes=$(wc -c <"$work/api.out")

# --- The statements of one list request, from the server log ------------------------------------

# Two requests back to back, and only the second one's statements: under load every pooled
# connection is in steady use, so a request finds its connection just used.
psql_q -c "ALTER SYSTEM SET log_statement = 'all'" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
status=$(api GET "$list_path" "$token")
[[ $status == 200 ]] || die "the list request before the capture failed with HTTP $status"
log_mark=$(wc -c <"$pg_dir/postgres.log")
status=$(api GET "$list_path" "$token")
[[ $status == 200 ]] || die "the list request to capture failed with HTTP $status"
psql_q -c "ALTER SYSTEM RESET log_statement" -c "SELECT pg_reload_conf()" >/dev/null
tail -c +"$((log_mark + 1))" "$pg_dir/postgres.log" >"$work/capture.log"
"$tool" pgbench-script --log "$work/capture.log" --script "$out/list-request.pgbench.sql" \
    --variables "$work/variables.txt" >"$work/statements.txt" ||
    die "cannot turn the captured statements into a pgbench script"
statements=$(cat "$work/statements.txt")
pgbench_vars=()
while IFS= read -r pair; do pgbench_vars+=(-D "$pair"); done <"$work/variables.txt"

# --- Load runs ----------------------------------------------------------------------------------------

echo "$prog: measuring ($duration s per load run)..." >&2

load list16 "$backend_url$list_path" 16 BENCH_TOKEN="$token"
latency_series list16 "list 100 tasks, 16 connections"

pgbench_out=$work/pgbench.txt
timeout $((duration + 60)) pgbench -n -M prepared -c 16 -j 2 -T "$duration" \
    -f "$out/list-request.pgbench.sql" "${pgbench_vars[@]}" taskflow >"$pgbench_out" 2>&1 ||
    die "pgbench failed: $(tail -n 5 "$pgbench_out")"
pgbench_tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$pgbench_out" | head -n 1)
[[ -n $pgbench_tps ]] || die "pgbench printed no tps: $(tail -n 5 "$pgbench_out")"

load list64 "$backend_url$list_path" 64 BENCH_TOKEN="$token"
latency_series list64 "list 100 tasks, 64 connections"

cookie="taskflow_session=$token; taskflow_user=Bench"
page_status=$(curl -s -o "$work/page.html" -w '%{http_code}' --max-time 10 -H "Cookie: $cookie" "$frontend_url/tasks" || echo 000)
[[ $page_status == 200 ]] || die "the tasks page answered HTTP $page_status instead of 200"
load page16 "$frontend_url/tasks" 16 BENCH_COOKIE="$cookie"
latency_series page16 "tasks page (frontend), 16 connections"

# Last: it adds tens of thousands of rows (for another user), which would leave the other
# scenarios' queries to plans made before autovacuum's next ANALYZE.
create_body='{"title":"Benchmark task","description":"Created under load","priority":"high","due_date":"2027-03-14","tags":["bench","load"]}'
load create16 "$backend_url/api/tasks" 16 BENCH_TOKEN="$create_token" BENCH_METHOD=POST BENCH_BODY="$create_body"
latency_series create16 "create task, 16 connections"

sleep 1
backend_after=$(mib_of "$backend_pid" VmRSS)
frontend_after=$(mib_of "$frontend_pid" VmRSS)

# --- 64 simultaneous logins -------------------------------------------------------------------------

chart_limit=$(yq -r '.backend.resources.limits.memory' "$repo/helm/values.yaml")
case $chart_limit in
    *Mi) chart_limit_mib=${chart_limit%Mi} ;;
    *Gi) chart_limit_mib=$((${chart_limit%Gi} * 1024)) ;;
    *) die "cannot read the backend memory limit from helm/values.yaml (got '$chart_limit')" ;;
esac
[[ $chart_limit_mib =~ ^[0-9]+$ ]] || die "unexpected backend memory limit '$chart_limit' in helm/values.yaml"
login_goal_mib=$((chart_limit_mib < 160 ? chart_limit_mib : 160))

# Resets the high-water mark to the current RSS, so VmHWM afterwards is the peak of the logins.
echo 5 >"/proc/$backend_pid/clear_refs" || die "cannot reset the backend's peak memory (/proc/$backend_pid/clear_refs)"
timeout 180 "$tool" burst --url "$backend_url/api/auth/login" --count 64 --method POST \
    --body "{\"email\":\"bench@example.com\",\"password\":\"$password\"}" --timeout-ms 120000 \
    >"$work/logins.json" || die "the 64 logins could not be sent"
login_peak=$(mib_of "$backend_pid" VmHWM)
logins_ok=$(jq '.ok' "$work/logins.json")
((logins_ok == 64)) || die "only $logins_ok of 64 logins succeeded: $(cat "$work/logins.json")"

# --- 200 requests in flight -----------------------------------------------------------------------

hang_ms=$((acquire_timeout_ms + 3000))
timeout 120 "$tool" burst --url "$backend_url$list_path" --count 200 \
    --header "Authorization: Bearer $token" --timeout-ms "$hang_ms" >"$work/inflight.json" ||
    die "the 200 simultaneous requests could not be sent"
inflight_good=$(jq '.ok + .unavailable_json' "$work/inflight.json")
inflight_display=$(jq -r '"\(.ok + .unavailable_json)/\(.count): \(.ok) 2xx, \(.unavailable_json) 503, \(.other + .broken) other, \(.hung) hung; slowest \(.max_ms | round) ms"' "$work/inflight.json")

# --- Cold start ------------------------------------------------------------------------------------------

cold_port=$(free_port)
runs=5
timeout 300 env -i "${backend_env[@]}" "HTTP_PORT=$cold_port" \
    "$tool" cold-start --url "http://127.0.0.1:$cold_port/readyz" --runs "$runs" \
    --log "$work/cold-start.log" -- "$backend_bin" serve >"$work/cold.json" ||
    die "cold start on the migrated database failed: $(tail -n 5 "$work/cold-start.log" 2>/dev/null)"
timeout 300 env -i "${backend_env[@]}" "HTTP_PORT=$cold_port" "DATABASE_URL=$empty_database_url" \
    "$tool" cold-start --url "http://127.0.0.1:$cold_port/readyz" --runs 1 \
    --log "$work/cold-start.log" -- "$backend_bin" serve >"$work/cold-empty.json" ||
    die "cold start on the empty database failed: $(tail -n 5 "$work/cold-start.log" 2>/dev/null)"

# --- Figures ---------------------------------------------------------------------------------------------------

list_rps=$(jq '.rps' "$work/list16.json")
ratio=$(awk -v a="$list_rps" -v b="$pgbench_tps" 'BEGIN { printf "%.1f", 100 * a / b }')
p() { jq --argjson p "$2" '.percentiles[] | select(.[0] == $p) | .[1]' "$work/$1.json"; }

figure list_rps_16 "list 100 tasks, req/s at 16 connections" "$list_rps" req/s ">=" 5000 "≥ 5,000 req/s"
figure list_p50_16 "list 100 tasks, p50 at 16 connections" "$(p list16 50)" ms
figure list_p99_16 "list 100 tasks, p99 at 16 connections" "$(p list16 99)" ms
figure pgbench_tps_16 "database limit: the list's statements in pgbench, 16 connections" "$pgbench_tps" tps
figure list_vs_db "list req/s as a share of the database limit" "$ratio" % ">=" 50 "≥ 50 %"
figure list_p99_64 "list 100 tasks, p99 at 64 connections" "$(p list64 99)" ms "<" 10 "< 10 ms"
figure list_rps_64 "list 100 tasks, req/s at 64 connections" "$(jq '.rps' "$work/list64.json")" req/s
figure create_rps_16 "create task, req/s at 16 connections" "$(jq '.rps' "$work/create16.json")" req/s ">=" 3000 "≥ 3,000 req/s"
figure create_p99_16 "create task, p99 at 16 connections" "$(p create16 99)" ms
figure page_rps_16 "tasks page through the frontend, req/s at 16 connections" "$(jq '.rps' "$work/page16.json")" req/s
figure backend_idle_rss "backend idle RSS" "$backend_idle" MiB "<" 20 "< 20 MiB"
figure frontend_idle_rss "frontend idle RSS" "$frontend_idle" MiB "<" 20 "< 20 MiB"
figure backend_rss_after_load "backend RSS after the load" "$backend_after" MiB
figure frontend_rss_after_load "frontend RSS after the load" "$frontend_after" MiB
figure login_peak_rss "backend peak RSS, 64 simultaneous logins" "$login_peak" MiB "<" "$login_goal_mib" \
    "< 160 MiB and < chart limit $chart_limit"
figure cold_start "cold start to ready, migrated database (median of $runs)" "$(jq '.median_ms' "$work/cold.json")" ms "<" 100 "< 100 ms"
figure cold_start_empty "cold start to ready, empty database (migrations run)" "$(jq '.runs_ms[0]' "$work/cold-empty.json")" ms
figure inflight_200 "200 requests in flight at once on one backend" "$inflight_good" "" ">=" 200 \
    "each 2xx or 503 JSON, none hangs (> $hang_ms ms)" "$inflight_display"

commit=$(git -C "$repo" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$repo" status --porcelain 2>/dev/null) ]]; then
    commit+=" (with local changes)"
fi
jq -n \
    --arg date "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    --arg commit "$commit" \
    --arg cpu "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
    --argjson cores "$(nproc)" \
    --argjson mem "$(awk '/^MemTotal:/ { printf "%.1f", $2 / 1048576 }' /proc/meminfo)" \
    --arg kernel "$(uname -r)" \
    --arg os "$(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/os-release 2>/dev/null || true)" \
    --argjson quick "$quick" --argjson duration "$duration" \
    --arg wrk "$(wrk -v 2>&1 | head -n 1)" --arg pgbench "$(pgbench --version)" \
    --arg statements "$statements" --argjson list_bytes "$list_bytes" \
    --arg overrides "${overrides[*]}" \
    --slurpfile figures "$figures" --slurpfile latency "$latencies" --slurpfile loads "$loads" \
    --slurpfile logins "$work/logins.json" --slurpfile inflight "$work/inflight.json" \
    --slurpfile cold "$work/cold.json" --slurpfile cold_empty "$work/cold-empty.json" '
    {date: $date, commit: $commit,
     machine: {cpu: $cpu, cores: $cores, memory_gib: $mem, kernel: $kernel, os: $os},
     tools: {wrk: $wrk, pgbench: $pgbench},
     quick: $quick, duration_s: $duration,
     settings: {wrk: "2 threads, --latency, --timeout 10s, 1 s warm-up",
                pgbench: "-M prepared -c 16 -j 2, the captured statements of one list request",
                list_response_bytes: $list_bytes,
                backend_overrides: ($overrides | split(" ") | map(select(. != "")))},
     list_request_statements: ($statements | split("\n") | map(select(. != ""))),
     figures: $figures, latency: $latency, loads: $loads,
     logins: $logins[0], inflight: $inflight[0],
     cold_start: {migrated: $cold[0], empty: $cold_empty[0]}}' >"$out/results.json" ||
    die "cannot write $out/results.json"
cp "$pgbench_out" "$out/pgbench.txt"

"$tool" report --results "$out/results.json" --markdown "$out/results.md" --svg "$out/bench.svg" ||
    die "cannot write the report"
met=$(jq '[.figures[] | select(.met == true)] | length' "$out/results.json")
goals=$(jq '[.figures[] | select(.goal != null)] | length' "$out/results.json")
echo
echo "$met of $goals goals met. Results: $out/results.json, $out/results.md, $out/bench.svg"
