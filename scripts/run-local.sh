#!/usr/bin/env bash
#
# run-local.sh - run the whole TaskFlow app on this machine: a private
# PostgreSQL, the backend and the web frontend, with the data kept between runs.
#
# Usage:
#   scripts/run-local.sh [--no-build] [--state-dir DIR] [--reset [--yes]]
#   scripts/run-local.sh --help
#
# What it does, in order:
#   1. builds both services: cargo build --release --locked -p taskflow-backend
#      -p taskflow-frontend (skipped with --no-build or TASKFLOW_SKIP_BUILD=1);
#   2. starts PostgreSQL on the data directory STATE/pgdata (created with initdb,
#      and the database "taskflow" in it, on the first run; reused afterwards),
#      listening on a Unix socket in STATE/run and on TCP 127.0.0.1:POSTGRES_PORT;
#   3. applies the database migrations (taskflow-backend migrate);
#   4. starts the backend on 127.0.0.1:BACKEND_PORT and the frontend on
#      127.0.0.1:FRONTEND_PORT, and waits until each answers /readyz;
#   5. prints the address to open and waits. One Ctrl-C (SIGINT), SIGTERM or
#      SIGHUP stops the frontend, then the backend, then PostgreSQL
#      (pg_ctl -m fast), and the script exits 0.
#
# STATE, the state directory, is --state-dir DIR, else
# ${XDG_STATE_HOME}/taskflow, else ~/.local/state/taskflow; when run as root
# without XDG_STATE_HOME it is /var/lib/taskflow-local instead, because
# PostgreSQL then runs as the "postgres" user, which cannot enter /root. It holds:
#   pgdata/              the PostgreSQL data directory
#   run/                 the server's Unix socket (.s.PGSQL.<port>)
#   logs/postgres.log    logs/backend.log    logs/frontend.log
#                        (started afresh at every run)
#   jwt-secret           the key that signs sessions (64 hex digits, mode 0600),
#                        generated on the first run and kept, so that sessions
#                        survive a restart
#   postgres-password    the password of the PostgreSQL user "postgres" for TCP
#                        connections (mode 0600); the socket needs none
# --reset deletes exactly these (after confirmation) and then starts afresh.
#
# The services get a clean environment: only the settings above, PATH and
# HOME, and for the backend the assistant's settings when they are set and not
# empty: every LLM_* variable (LLM_API_KEY, LLM_BASE_URL, LLM_MODEL, ...;
# without LLM_API_KEY the assistant works offline), CHAT_HISTORY_MESSAGES,
# MCP_ALLOWED_HOSTS, and SSL_CERT_FILE / SSL_CERT_DIR. Other variables of the
# caller (a DATABASE_URL or HTTP_PORT meant for something else) never reach them.
#
# Environment:
#   BACKEND_PORT           backend port on 127.0.0.1 (default 8000)
#   FRONTEND_PORT          frontend port on 127.0.0.1 (default 3000)
#   POSTGRES_PORT          PostgreSQL TCP port on 127.0.0.1 (default 15432, away
#                          from the usual 5432 and 5433)
#   XDG_STATE_HOME         see STATE above
#   CARGO_TARGET_DIR       build directory (default
#                          ${XDG_CACHE_HOME:-$HOME/.cache}/taskflow/target, as
#                          scripts/check.sh uses)
#   TASKFLOW_SKIP_BUILD    1: do not build, as with --no-build
#   TASKFLOW_BACKEND_BIN   the taskflow-backend executable to run
#   TASKFLOW_FRONTEND_BIN  the taskflow-frontend executable to run
#   PG_BIN_SEARCH_GLOB     where to look for the PostgreSQL server binaries when
#                          initdb, pg_ctl and postgres are not all on PATH
#                          (default /usr/lib/postgresql/*/bin; the highest
#                          version wins)
#   TASKFLOW_READY_TIMEOUT seconds to wait for each service's /readyz (default 60)
#
# Binaries: without --no-build they are the ones just built in
# $CARGO_TARGET_DIR/release. With --no-build (or TASKFLOW_SKIP_BUILD=1) each is
# TASKFLOW_BACKEND_BIN / TASKFLOW_FRONTEND_BIN if set, else taskflow-backend /
# taskflow-frontend on PATH, else the one in $CARGO_TARGET_DIR/release.
#
# For a wrapper such as Nix's writeShellApplication: set TASKFLOW_SKIP_BUILD=1
# and TASKFLOW_BACKEND_BIN / TASKFLOW_FRONTEND_BIN (or put both binaries on
# PATH), and put PostgreSQL's initdb, pg_ctl and postgres on PATH. The script
# also needs bash 4.3 or later, coreutils (cat, chmod, chown, env, id, mkdir,
# mv, od, rm, rmdir, sleep, tail, tr) and, when run as root, runuser
# (util-linux). It needs no curl: it probes /readyz with the services' own
# "probe" command. Only the cargo build depends on where the script lives.
#
# Exit status: 0 after a stop with Ctrl-C, SIGTERM or SIGHUP once the app ran;
# 1 on errors (a port in use, PostgreSQL missing, a failed build, a service not
# ready in time, a service that stopped by itself, --reset refused); 2 on
# usage errors; 130 / 143 / 129 when interrupted while starting. Whatever
# happens, nothing it started is left running (unless it is killed with
# SIGKILL, which no script can handle).

set -euo pipefail

prog=${0##*/}

usage() {
    cat <<EOF
Usage: $prog [--no-build] [--state-dir DIR] [--reset [--yes]]

Builds TaskFlow, starts a private PostgreSQL, the backend and the web frontend
on 127.0.0.1, and prints the address to open. Ctrl-C stops everything. The data
is kept between runs in the state directory.

Options:
  --no-build       use binaries already built (see TASKFLOW_*_BIN below)
  --state-dir DIR  keep the data in DIR (default: \${XDG_STATE_HOME:-~/.local/state}/taskflow;
                   as root without XDG_STATE_HOME: /var/lib/taskflow-local)
  --reset          delete the local data (database, session key, logs) first,
                   then start afresh; asks for confirmation
  -y, --yes        do not ask for confirmation (needed for --reset without a terminal)
  -h, --help       show this help

Environment:
  BACKEND_PORT (8000), FRONTEND_PORT (3000), POSTGRES_PORT (15432)
                   ports on 127.0.0.1
  LLM_API_KEY, LLM_BASE_URL, LLM_MODEL, other LLM_*, CHAT_HISTORY_MESSAGES,
  MCP_ALLOWED_HOSTS
                   passed to the backend when set; without LLM_API_KEY the
                   assistant works offline
  CARGO_TARGET_DIR build directory (default \${XDG_CACHE_HOME:-~/.cache}/taskflow/target)
  TASKFLOW_SKIP_BUILD=1
                   the same as --no-build
  TASKFLOW_BACKEND_BIN, TASKFLOW_FRONTEND_BIN
                   executables to run with --no-build (else PATH, else
                   \$CARGO_TARGET_DIR/release)
  PG_BIN_SEARCH_GLOB
                   where to look for initdb, pg_ctl and postgres when PATH has
                   none (default: /usr/lib/postgresql/*/bin)
  TASKFLOW_READY_TIMEOUT
                   seconds to wait for each service to be ready (default 60)
EOF
}

# Messages: errors (die: status 1, usage_error: status 2) and progress (say).
die() {
    printf '%s: %s\n' "$prog" "$1" >&2
    shift
    if (($# > 0)); then
        printf '  %s\n' "$@" >&2
    fi
    exit 1
}

usage_error() {
    printf '%s: %s\n' "$prog" "$1" >&2
    printf 'Run %s --help for the options.\n' "$prog" >&2
    exit 2
}

say() {
    printf '%s: %s\n' "$prog" "$*"
}

# --- Options -----------------------------------------------------------------------

build=1
reset=0
assume_yes=0
state_dir_arg=""
state_dir_given=0

while (($# > 0)); do
    case $1 in
        -h | --help)
            usage
            exit 0
            ;;
        --no-build)
            build=0
            ;;
        --reset)
            reset=1
            ;;
        -y | --yes)
            assume_yes=1
            ;;
        --state-dir)
            (($# > 1)) || usage_error "--state-dir needs a directory"
            state_dir_arg=$2
            state_dir_given=1
            shift
            ;;
        --state-dir=*)
            state_dir_arg=${1#--state-dir=}
            state_dir_given=1
            ;;
        *)
            usage_error "unknown argument: $1"
            ;;
    esac
    shift
done
if ((state_dir_given)) && [[ -z $state_dir_arg ]]; then
    usage_error "--state-dir needs a directory"
fi

case ${TASKFLOW_SKIP_BUILD:-} in
    "" | 0) ;;
    1) build=0 ;;
    *) usage_error "TASKFLOW_SKIP_BUILD must be 1 or 0" ;;
esac

# Sets the variable named $1 to the port in the environment variable $1, or to
# the default $2.
read_port() {
    local name=$1 default=$2 value
    value=${!name:-$default}
    if [[ ! $value =~ ^[0-9]{1,5}$ ]] || ((10#$value < 1 || 10#$value > 65535)); then
        usage_error "$name must be a port number between 1 and 65535"
    fi
    printf -v "$name" '%d' "$((10#$value))"
}

read_port BACKEND_PORT 8000
read_port FRONTEND_PORT 3000
read_port POSTGRES_PORT 15432
if ((BACKEND_PORT == FRONTEND_PORT || BACKEND_PORT == POSTGRES_PORT || FRONTEND_PORT == POSTGRES_PORT)); then
    usage_error "BACKEND_PORT, FRONTEND_PORT and POSTGRES_PORT must be three different ports"
fi

ready_timeout=${TASKFLOW_READY_TIMEOUT:-60}
if [[ ! $ready_timeout =~ ^[0-9]{1,4}$ ]] || ((10#$ready_timeout < 1)); then
    usage_error "TASKFLOW_READY_TIMEOUT must be a number of seconds between 1 and 9999"
fi
ready_timeout=$((10#$ready_timeout))

# --- The state directory (checked before anything is created) ----------------------

if ((state_dir_given)); then
    state_dir=$state_dir_arg
elif [[ ${XDG_STATE_HOME:-} == /* ]]; then
    state_dir=$XDG_STATE_HOME/taskflow
elif ((EUID == 0)); then
    state_dir=/var/lib/taskflow-local
else
    [[ -n ${HOME:-} ]] || die "HOME is not set; choose where to keep the data with --state-dir DIR"
    state_dir=$HOME/.local/state/taskflow
fi
if [[ $state_dir != /* ]]; then
    state_dir=$PWD/$state_dir
fi
while [[ $state_dir == */ && $state_dir != / ]]; do
    state_dir=${state_dir%/}
done

# The directory ends up in PostgreSQL's options and in DATABASE_URL, and holds
# the server's socket, whose path the kernel limits to 107 bytes.
if [[ ! $state_dir =~ ^/[A-Za-z0-9_./-]*$ || $state_dir == / ]]; then
    die "the state directory '$state_dir' has characters this script cannot pass to PostgreSQL." \
        "Choose a path of letters, digits and . _ - / with --state-dir DIR."
fi

pgdata=$state_dir/pgdata
pgdata_new=$state_dir/pgdata.new
run_dir=$state_dir/run
log_dir=$state_dir/logs
jwt_secret_file=$state_dir/jwt-secret
pg_password_file=$state_dir/postgres-password
pg_log=$log_dir/postgres.log
backend_log=$log_dir/backend.log
frontend_log=$log_dir/frontend.log
socket_path=$run_dir/.s.PGSQL.$POSTGRES_PORT

if ((${#socket_path} > 107)); then
    die "the state directory '$state_dir' is too long: PostgreSQL's socket there," \
        "$socket_path (${#socket_path} bytes)," \
        "would exceed the 107-byte limit of Unix socket paths." \
        "Choose a shorter one, for example: $prog --state-dir /tmp/taskflow-local"
fi

# --- PostgreSQL server binaries (builtins only: this must work with a bare PATH) -----

find_postgres() {
    local dir best="" best_version="" version
    if PG_INITDB=$(command -v initdb) && PG_CTL=$(command -v pg_ctl) &&
        PG_POSTGRES=$(command -v postgres); then
        return 0
    fi
    local glob=${PG_BIN_SEARCH_GLOB:-/usr/lib/postgresql/*/bin}
    local -a dirs=()
    mapfile -t dirs < <(compgen -G "$glob" || true)
    for dir in "${dirs[@]}"; do
        [[ -x $dir/initdb && -x $dir/pg_ctl && -x $dir/postgres ]] || continue
        # The version is the directory above bin (Debian: /usr/lib/postgresql/15/bin).
        version=${dir%/bin}
        version=${version##*/}
        if [[ -z $best ]] || version_greater "$version" "$best_version"; then
            best=$dir
            best_version=$version
        fi
    done
    [[ -n $best ]] || return 1
    PG_INITDB=$best/initdb
    PG_CTL=$best/pg_ctl
    PG_POSTGRES=$best/postgres
}

# Succeeds if version $1 is higher than $2, comparing dot-separated numbers
# ("16" > "9.6"); anything that is not a number compares as 0.
version_greater() {
    local -a a b
    IFS=. read -r -a a <<<"$1"
    IFS=. read -r -a b <<<"$2"
    local i x y
    for ((i = 0; i < ${#a[@]} || i < ${#b[@]}; i++)); do
        x=${a[i]:-0}
        y=${b[i]:-0}
        [[ $x =~ ^[0-9]+$ ]] || x=0
        [[ $y =~ ^[0-9]+$ ]] || y=0
        if ((10#$x != 10#$y)); then
            ((10#$x > 10#$y))
            return
        fi
    done
    return 1
}

if ! find_postgres; then
    die "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found" \
        "on PATH or in ${PG_BIN_SEARCH_GLOB:-/usr/lib/postgresql/*/bin}. Install them, for example:" \
        "  Debian/Ubuntu:  sudo apt-get install postgresql" \
        "  Fedora:         sudo dnf install postgresql-server" \
        "  Nix:            nix run .#local   (brings its own PostgreSQL)" \
        "or put the directory holding initdb, pg_ctl and postgres on PATH."
fi

# PostgreSQL refuses to run as root: run its programs as "postgres" then.
runuser_bin=""
if ((EUID == 0)); then
    for candidate in runuser /usr/sbin/runuser /sbin/runuser; do
        if runuser_bin=$(command -v "$candidate"); then
            break
        fi
    done
    [[ -n $runuser_bin ]] ||
        die "run as root, this script needs runuser (util-linux) to start PostgreSQL as user 'postgres'," \
            "which PostgreSQL requires. Install util-linux, or run as a normal user."
    id -u postgres >/dev/null 2>&1 ||
        die "run as root, this script needs a 'postgres' user to run PostgreSQL as (it refuses to run as root)." \
            "Installing the postgresql package creates it; or run as a normal user."
fi

# Runs a PostgreSQL program from inside the state directory, as "postgres" when
# we are root.
as_pg() {
    if ((EUID == 0)); then
        (cd "$state_dir" && "$runuser_bin" -u postgres -- "$@")
    else
        (cd "$state_dir" && "$@")
    fi
}

# Prints the process id in a PostgreSQL data directory's postmaster.pid.
postmaster_pid() {
    local pid=""
    if [[ -f $1/postmaster.pid ]]; then
        read -r pid <"$1/postmaster.pid" || true
    fi
    [[ $pid =~ ^[0-9]+$ ]] && printf '%s\n' "$pid"
}

# Another run on the same state directory: leave it alone.
if [[ -d $state_dir ]] && pid=$(postmaster_pid "$pgdata") && kill -0 "$pid" 2>/dev/null; then
    stop_hint="$PG_CTL -D $pgdata -m fast stop"
    if ((EUID == 0)); then
        stop_hint="runuser -u postgres -- $stop_hint"
    fi
    die "PostgreSQL is already running on $pgdata (process $pid)." \
        "Another $prog is probably using $state_dir: stop it with Ctrl-C, or use another --state-dir." \
        "If no $prog is running (one was killed), stop the server with:" \
        "  $stop_hint"
fi

# --- --reset: ask now, delete later (after the build) ------------------------------------

if ((reset)) && ((!assume_yes)); then
    if [[ ! -t 0 ]]; then
        die "--reset deletes all local TaskFlow data in $state_dir, and there is no terminal to ask for" \
            "confirmation. Add --yes to confirm."
    fi
    printf '%s\n' "This deletes all local TaskFlow data in $state_dir:" \
        "the database (every account, task and conversation), the session key (everybody is" \
        "signed out) and the logs."
    printf 'Type "yes" to delete it: '
    answer=""
    read -r answer || true
    if [[ $answer != yes ]]; then
        die "nothing deleted."
    fi
fi

# --- Ports ------------------------------------------------------------------------------

# Succeeds if something accepts connections on 127.0.0.1:$1 (bash's /dev/tcp;
# a listener on 0.0.0.0 or a dual-stack :: counts too).
port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

for var in POSTGRES_PORT BACKEND_PORT FRONTEND_PORT; do
    if port_in_use "${!var}"; then
        die "port ${!var} on 127.0.0.1 is already in use (it is $var)." \
            "Stop whatever listens there, or choose another port, for example: $var=$((${!var} + 1)) $prog"
    fi
done

# --- Cleanup, installed before anything is started ------------------------------------------

backend_pid=""
frontend_pid=""
pg_started=0
pg_start_done=0
running=0

# Sends SIGTERM to a service and waits up to 10 s (it has 5 s to finish open
# requests), then kills it. Called from cleanup only.
# shellcheck disable=SC2317,SC2329
stop_service() {
    local name=$1 pid=$2 tries=0
    [[ -n $pid ]] || return 0
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null
        while kill -0 "$pid" 2>/dev/null && ((tries++ < 100)); do
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            printf '%s: the %s did not stop within 10 s; killing it\n' "$prog" "$name" >&2
            kill -KILL "$pid" 2>/dev/null
        fi
    fi
    wait "$pid" 2>/dev/null
    return 0
}

# Called from cleanup only.
# shellcheck disable=SC2317,SC2329
stop_postgres() {
    ((pg_started)) || return 0
    local pid tries=0
    # If pg_ctl start was interrupted, a server it launched may be about to
    # write its postmaster.pid: give it 3 s to appear.
    until pid=$(postmaster_pid "$pgdata"); do
        if ((pg_start_done || tries++ >= 30)); then
            return 0
        fi
        sleep 0.1
    done
    local output
    if ! output=$(as_pg "$PG_CTL" -D "$pgdata" -m fast -w -t 30 stop 2>&1); then
        printf '%s\n' "$output" >&2
        if as_pg "$PG_CTL" -D "$pgdata" status >/dev/null 2>&1; then
            printf '%s: pg_ctl could not stop PostgreSQL; killing it (process %s)\n' "$prog" "$pid" >&2
            kill -KILL "$pid" 2>/dev/null
        fi
    fi
    return 0
}

# Called from the EXIT trap only.
# shellcheck disable=SC2317,SC2329
cleanup() {
    local rc=$?
    trap '' INT TERM HUP
    trap - EXIT
    set +e
    if [[ -n $backend_pid$frontend_pid ]] || ((pg_started)); then
        say "stopping the frontend, the backend and PostgreSQL..."
    fi
    stop_service frontend "$frontend_pid"
    stop_service backend "$backend_pid"
    stop_postgres
    if ((running)); then
        say "stopped."
    fi
    exit "$rc"
}

# A stop requested while running is the normal end (status 0); while starting,
# it is an interruption (130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP).
# Called from the INT/TERM/HUP traps only.
# shellcheck disable=SC2317,SC2329
on_signal() {
    echo
    if ((running)); then
        exit 0
    fi
    exit "$1"
}

trap cleanup EXIT
trap 'on_signal 130' INT
trap 'on_signal 143' TERM
# The terminal went away (its window was closed): stop as well.
trap 'on_signal 129' HUP

# Prints the last 20 lines of a log, after a heading naming it.
show_log_tail() {
    printf -- '--- last 20 lines of %s ---\n' "$1" >&2
    tail -n 20 -- "$1" >&2 2>/dev/null || true
    printf -- '--- end of %s ---\n' "$1" >&2
}

# --- Build or find the binaries ----------------------------------------------------------

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-${HOME:-}/.cache}/taskflow/target}"
# Relative to where the script was started, also for the build (run elsewhere).
if [[ $CARGO_TARGET_DIR != /* ]]; then
    CARGO_TARGET_DIR=$PWD/$CARGO_TARGET_DIR
fi

# Prints the executable for package $1, whose override variable is $2.
find_binary() {
    local name=$1 var=$2 path
    if [[ -n ${!var:-} ]]; then
        path=${!var}
        [[ -f $path && -x $path ]] || die "$var=$path is not an executable file."
    elif path=$(command -v "$name"); then
        :
    elif [[ -x $CARGO_TARGET_DIR/release/$name ]]; then
        path=$CARGO_TARGET_DIR/release/$name
    else
        die "$name not found: --no-build needs it in $var, on PATH or in $CARGO_TARGET_DIR/release." \
            "Build it with: cargo build --release --locked -p taskflow-backend -p taskflow-frontend" \
            "or run without --no-build."
    fi
    printf '%s\n' "$path"
}

if ((build)); then
    case ${BASH_SOURCE[0]} in
        */*) script_dir=${BASH_SOURCE[0]%/*} ;;
        *) script_dir=. ;;
    esac
    repo_root=$(cd -- "$script_dir/.." && pwd)
    [[ -f $repo_root/Cargo.toml ]] ||
        die "cannot build: $repo_root is not the TaskFlow repository (no Cargo.toml)." \
            "Run the script from its clone, or use --no-build with TASKFLOW_BACKEND_BIN and TASKFLOW_FRONTEND_BIN."
    command -v cargo >/dev/null ||
        die "cargo not found: install Rust with rustup (https://rustup.rs) to build TaskFlow," \
            "or use --no-build with binaries already built."
    say "building the backend and the frontend (release; the first build takes several minutes)..."
    if ! (cd "$repo_root" && cargo build --release --locked -p taskflow-backend -p taskflow-frontend); then
        die "the build failed (cargo's messages are above); nothing was started."
    fi
    backend_bin=$CARGO_TARGET_DIR/release/taskflow-backend
    frontend_bin=$CARGO_TARGET_DIR/release/taskflow-frontend
    [[ -x $backend_bin && -x $frontend_bin ]] ||
        die "the build succeeded but $backend_bin or $frontend_bin is missing."
else
    backend_bin=$(find_binary taskflow-backend TASKFLOW_BACKEND_BIN)
    frontend_bin=$(find_binary taskflow-frontend TASKFLOW_FRONTEND_BIN)
fi

# --- Prepare the state directory -----------------------------------------------------------

created_state_dir=0
if [[ ! -d $state_dir ]]; then
    # Missing parents get the usual permissions (umask); the directory itself
    # is private. As root, "postgres" must be able to pass through it (not list it).
    mkdir -p -- "$state_dir" || die "could not create the state directory $state_dir."
    created_state_dir=1
    if ((EUID == 0)); then
        chmod 0711 "$state_dir"
    else
        chmod 0700 "$state_dir"
    fi
fi

if ((EUID == 0)); then
    # Through bash, by absolute path: runuser may reset PATH.
    # shellcheck disable=SC2016
    if ! "$runuser_bin" -u postgres -- "$BASH" -c '[[ -x $1 ]]' check "$state_dir"; then
        if ((created_state_dir)); then
            rmdir -- "$state_dir" 2>/dev/null || true
        fi
        die "user 'postgres' cannot enter $state_dir: a directory above it is closed to other users" \
            "(PostgreSQL refuses to run as root, so it runs as 'postgres')." \
            "Choose a state directory it can reach, for example: $prog --state-dir /var/lib/taskflow-local"
    fi
fi

umask 077

if ((reset)); then
    say "deleting the local data in $state_dir..."
    rm -rf -- "$pgdata" "$pgdata_new" "$run_dir" "$log_dir" "$jwt_secret_file" "$pg_password_file" ||
        die "could not delete the data in $state_dir."
fi

mkdir -p -- "$log_dir" "$run_dir" || die "could not create directories in $state_dir."

if ((EUID == 0)); then
    chmod 0711 "$log_dir"
    chown postgres: "$run_dir"
fi

# Every run starts with empty logs.
: >"$pg_log"
: >"$backend_log"
: >"$frontend_log"
if ((EUID == 0)); then
    chown postgres: "$pg_log"
fi

# Prints 64 random hex digits.
random_hex() {
    od -An -N32 -tx1 /dev/urandom | tr -d ' \n'
}

# Prints the secret kept in file $1, creating it (mode 0600) if it does not exist.
kept_secret() {
    local file=$1 value=""
    if [[ ! -e $file ]]; then
        value=$(random_hex)
        ((${#value} == 64)) || die "could not read random bytes from /dev/urandom."
        if ! printf '%s\n' "$value" >"$file.tmp" || ! mv -f -- "$file.tmp" "$file"; then
            die "could not write $file."
        fi
    fi
    chmod 0600 "$file"
    read -r value <"$file" || true
    ((${#value} >= 32)) ||
        die "$file holds no usable secret (32 characters or more)." \
            "Delete it (everybody is signed out), or start afresh with --reset."
    printf '%s\n' "$value"
}

jwt_secret=$(kept_secret "$jwt_secret_file")
pg_password=$(kept_secret "$pg_password_file")
[[ $pg_password =~ ^[A-Za-z0-9]+$ ]] ||
    die "$pg_password_file must hold letters and digits only; delete it, or start afresh with --reset."

# --- PostgreSQL ----------------------------------------------------------------------------------

pg_version_text=$("$PG_POSTGRES" --version 2>/dev/null || true)

if [[ -e $pgdata && ! -f $pgdata/PG_VERSION ]]; then
    die "$pgdata exists but is not a PostgreSQL data directory." \
        "Move it away, or start afresh with --reset (deletes it)."
fi

if [[ ! -e $pgdata ]]; then
    say "creating the database in $pgdata (first run)..."
    rm -rf -- "$pgdata_new"
    mkdir -- "$pgdata_new"
    if ((EUID == 0)); then
        chown postgres: "$pgdata_new"
    fi
    if ! as_pg "$PG_INITDB" -D "$pgdata_new" -U postgres --auth-local=trust \
        --auth-host=scram-sha-256 -E UTF8 --locale=C >>"$pg_log" 2>&1; then
        show_log_tail "$pg_log"
        die "initdb ($PG_INITDB) failed; its messages are above and in $pg_log."
    fi
    # Single-user mode: no server, no client program needed. A failing
    # statement ends it with a non-zero status (exit_on_error).
    if ! printf '%s\n' \
        "SET password_encryption = 'scram-sha-256';" \
        "ALTER ROLE postgres PASSWORD '$pg_password';" \
        "CREATE DATABASE taskflow;" |
        as_pg "$PG_POSTGRES" --single -D "$pgdata_new" -c exit_on_error=true postgres >>"$pg_log" 2>&1; then
        show_log_tail "$pg_log"
        die "could not create the database 'taskflow'; the messages are above and in $pg_log."
    fi
    mv -- "$pgdata_new" "$pgdata"
fi

read -r data_version <"$pgdata/PG_VERSION" || true
if [[ $pg_version_text == *"(PostgreSQL) "* ]]; then
    server_version=${pg_version_text#*"(PostgreSQL) "}
    if [[ $server_version != "$data_version" && $server_version != "$data_version".* &&
        $server_version != "$data_version"[!0-9.]* ]]; then
        die "the data in $pgdata was created by PostgreSQL $data_version, but $PG_POSTGRES is ${server_version%% *}." \
            "Put PostgreSQL $data_version's binaries first on PATH, or start afresh with --reset (deletes the data)."
    fi
fi

say "starting PostgreSQL (127.0.0.1:$POSTGRES_PORT and a socket in $run_dir)..."
pg_options="-c listen_addresses=127.0.0.1 -c port=$POSTGRES_PORT -c unix_socket_directories='$run_dir'"
pg_started=1
pg_ctl_status=0
pg_ctl_output=$(as_pg "$PG_CTL" -D "$pgdata" -w -t 60 -l "$pg_log" -o "$pg_options" start 2>&1) ||
    pg_ctl_status=$?
pg_start_done=1
if ((pg_ctl_status != 0)); then
    printf '%s\n' "$pg_ctl_output" >&2
    show_log_tail "$pg_log"
    die "PostgreSQL did not start; pg_ctl's messages and the server log are above (log: $pg_log)."
fi

# The socket directory, percent-encoded, is the URL's host: the client then
# uses the socket (no password needed there) and never TCP.
database_url="postgres://postgres@${run_dir//\//%2F}:$POSTGRES_PORT/taskflow"

# --- The services ------------------------------------------------------------------------------------

base_env=("PATH=$PATH")
if [[ -n ${HOME:-} ]]; then
    base_env+=("HOME=$HOME")
fi

backend_env=("${base_env[@]}"
    "DATABASE_URL=$database_url"
    "JWT_SECRET=$jwt_secret"
    "HTTP_HOST=127.0.0.1"
    "HTTP_PORT=$BACKEND_PORT"
    "SHUTDOWN_GRACE_SECONDS=5")
llm_configured=0
while IFS= read -r name; do
    if [[ -n ${!name} ]]; then
        backend_env+=("$name=${!name}")
    fi
done < <(compgen -e -X '!LLM_*' || true)
if [[ -n ${LLM_API_KEY:-} ]]; then
    llm_configured=1
fi
for name in CHAT_HISTORY_MESSAGES MCP_ALLOWED_HOSTS SSL_CERT_FILE SSL_CERT_DIR; do
    if [[ -n ${!name:-} ]]; then
        backend_env+=("$name=${!name}")
    fi
done

frontend_env=("${base_env[@]}"
    "BACKEND_URL=http://127.0.0.1:$BACKEND_PORT"
    "PUBLIC_ORIGIN=http://127.0.0.1:$FRONTEND_PORT"
    "HTTP_HOST=127.0.0.1"
    "HTTP_PORT=$FRONTEND_PORT"
    "COOKIE_SECURE=false"
    "SHUTDOWN_GRACE_SECONDS=5")

say "applying the database migrations..."
if ! env -i "${backend_env[@]}" "$backend_bin" migrate </dev/null >>"$backend_log" 2>&1; then
    show_log_tail "$backend_log"
    die "the database migrations failed; the messages are above and in $backend_log."
fi

# Waits until $3 answers 2xx, probing with the service's own binary $4, while
# the service (name $1, process $2, log $5) runs.
wait_ready() {
    local name=$1 pid=$2 url=$3 bin=$4 log=$5
    local deadline=$((SECONDS + ready_timeout))
    while :; do
        if ! kill -0 "$pid" 2>/dev/null; then
            local status=0
            wait "$pid" || status=$?
            if [[ $name == backend ]]; then backend_pid=""; else frontend_pid=""; fi
            show_log_tail "$log"
            die "the $name stopped (status $status) before it was ready; its log is above and in $log."
        fi
        if "$bin" probe --timeout 2 "$url" >/dev/null 2>&1; then
            return 0
        fi
        if ((SECONDS >= deadline)); then
            show_log_tail "$log"
            die "the $name was not ready within $ready_timeout s ($url did not answer 200)." \
                "Its log is above and in $log."
        fi
        sleep 0.5
    done
}

# The services run in process groups of their own (job control, for their
# start only): a Ctrl-C at the terminal then reaches this script alone, which
# stops them in order. It also keeps SIGINT from being ignored in them.
say "starting the backend on 127.0.0.1:$BACKEND_PORT..."
set -m
env -i "${backend_env[@]}" "$backend_bin" serve </dev/null >>"$backend_log" 2>&1 &
backend_pid=$!
set +m
wait_ready backend "$backend_pid" "http://127.0.0.1:$BACKEND_PORT/readyz" "$backend_bin" "$backend_log"

say "starting the frontend on 127.0.0.1:$FRONTEND_PORT..."
set -m
env -i "${frontend_env[@]}" "$frontend_bin" serve </dev/null >>"$frontend_log" 2>&1 &
frontend_pid=$!
set +m
wait_ready frontend "$frontend_pid" "http://127.0.0.1:$FRONTEND_PORT/readyz" "$frontend_bin" "$frontend_log"

running=1
if ((llm_configured)); then
    assistant="model ${LLM_MODEL:-(default)} at ${LLM_BASE_URL:-(default provider)}"
else
    assistant="offline (set LLM_API_KEY, and LLM_BASE_URL and LLM_MODEL if needed, to use a model)"
fi
cat <<EOF

TaskFlow is running: open http://127.0.0.1:$FRONTEND_PORT
  (http://localhost:$FRONTEND_PORT works too in current browsers)

  backend API   http://127.0.0.1:$BACKEND_PORT/api  (reference: http://127.0.0.1:$BACKEND_PORT/api/docs)
  PostgreSQL    database taskflow, user postgres: socket in $run_dir (port $POSTGRES_PORT),
                or 127.0.0.1:$POSTGRES_PORT with the password in $pg_password_file
  assistant     $assistant
  data          $state_dir
  logs          $pg_log
                $backend_log
                $frontend_log

Press Ctrl-C to stop.
EOF

# Wait until a signal arrives (the traps then stop everything) or a service
# stops by itself.
while kill -0 "$backend_pid" 2>/dev/null && kill -0 "$frontend_pid" 2>/dev/null; do
    wait -n || true
done

running=0
for name in backend frontend; do
    if [[ $name == backend ]]; then pid=$backend_pid log=$backend_log; else pid=$frontend_pid log=$frontend_log; fi
    if ! kill -0 "$pid" 2>/dev/null; then
        status=0
        wait "$pid" || status=$?
        if [[ $name == backend ]]; then backend_pid=""; else frontend_pid=""; fi
        show_log_tail "$log"
        printf '%s: the %s stopped by itself (status %s); its log is above and in %s.\n' \
            "$prog" "$name" "$status" "$log" >&2
    fi
done
exit 1
