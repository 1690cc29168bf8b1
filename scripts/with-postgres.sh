#!/usr/bin/env bash
#
# with-postgres.sh - run a command against a private, throwaway PostgreSQL server.
#
# Usage:
#   scripts/with-postgres.sh <command> [args...]
#   scripts/with-postgres.sh --help
#
# Creates a temporary directory, initialises a fresh database cluster in it and
# starts a server that listens only on a Unix socket in that directory (no TCP).
# The command then runs with these variables exported:
#
#   TEST_DATABASE_URL  postgres://postgres@<dir>/postgres, with <dir> (the
#                      socket directory) percent-encoded as the host, so that
#                      clients use the socket and never try TCP
#   PGHOST=<dir>  PGPORT=5432  PGUSER=postgres   (for psql and other libpq tools)
#
# Authentication is "trust"; the superuser is "postgres". Afterwards, however the
# command ends (normally, with an error, or through INT/TERM), the server is
# stopped and the directory removed. The exit status is the command's. A signal
# sent to this script alone takes effect once the running command has exited.
# Several instances can run at the same time.
#
# Server binaries (initdb, pg_ctl, postgres) are taken from PATH if all three are
# there, otherwise from the highest-versioned directory matching
# PG_BIN_SEARCH_GLOB.
#
# Environment:
#   PG_BIN_SEARCH_GLOB  where to look when PATH has no server binaries
#                       (default: /usr/lib/postgresql/*/bin)
#   KEEP_PG_LOG         if set to a file path, the server log is copied there
#                       before the directory is removed (useful in CI)
#   TMPDIR              parent of the temporary directory (default: /tmp)
#
# When run as root (PostgreSQL refuses to run as root), the directory is given
# to the "postgres" user and the server binaries are run through
# `runuser -u postgres --`.
#
# Exit status: the command's; 1 if the server could not be set up; 2 on usage
# errors.

set -euo pipefail

prog=${0##*/}

usage() {
    cat <<EOF
Usage: $prog <command> [args...]

Runs <command> with TEST_DATABASE_URL (and PGHOST, PGPORT, PGUSER) pointing at a
private, temporary PostgreSQL server, which is removed afterwards.
The exit status is the command's.

Environment:
  PG_BIN_SEARCH_GLOB  where to look for initdb/pg_ctl/postgres when they are
                      not on PATH (default: /usr/lib/postgresql/*/bin)
  KEEP_PG_LOG         copy the server log to this path before cleanup
EOF
}

die() {
    echo "$prog: $*" >&2
    exit 1
}

case "${1-}" in
    -h | --help)
        usage
        exit 0
        ;;
    "")
        echo "$prog: missing command" >&2
        usage >&2
        exit 2
        ;;
    --)
        shift
        [[ $# -gt 0 ]] || {
            echo "$prog: missing command" >&2
            exit 2
        }
        ;;
esac

# --- Locate the server binaries -------------------------------------------

find_pg_bin_dir() {
    local initdb pg_ctl
    if initdb=$(command -v initdb) && pg_ctl=$(command -v pg_ctl) &&
        command -v postgres >/dev/null; then
        PG_INITDB=$initdb
        PG_CTL=$pg_ctl
        return 0
    fi

    local glob=${PG_BIN_SEARCH_GLOB:-/usr/lib/postgresql/*/bin}
    local -a candidates=()
    local dir
    while IFS= read -r dir; do
        if [[ -x $dir/initdb && -x $dir/pg_ctl && -x $dir/postgres ]]; then
            candidates+=("$dir")
        fi
    done < <(compgen -G "$glob" || true)

    [[ ${#candidates[@]} -gt 0 ]] || return 1
    dir=$(printf '%s\n' "${candidates[@]}" | sort -V | tail -n 1)
    PG_INITDB=$dir/initdb
    PG_CTL=$dir/pg_ctl
}

if ! find_pg_bin_dir; then
    # Builtins only: this must work even with an almost empty PATH.
    printf '%s\n' \
        "$prog: PostgreSQL server binaries (initdb, pg_ctl, postgres) not found" \
        "on PATH or in ${PG_BIN_SEARCH_GLOB:-/usr/lib/postgresql/*/bin}." \
        "Install them, for example:" \
        "  Debian/Ubuntu:  apt-get install postgresql" \
        "  Nix:            nix develop   (the development shell provides them)" >&2
    exit 1
fi

# --- Run server binaries as a non-root user ---------------------------------

runuser=runuser
if [[ $EUID -eq 0 ]]; then
    for candidate in runuser /usr/sbin/runuser /sbin/runuser; do
        if runuser=$(command -v "$candidate"); then
            break
        fi
    done
    [[ -n $runuser ]] ||
        die "running as root needs 'runuser' (util-linux) to start PostgreSQL as user 'postgres'"
    id -u postgres >/dev/null 2>&1 ||
        die "running as root needs a 'postgres' user (PostgreSQL refuses to run as root); install the postgresql package or run as a normal user"
fi

# Runs a server binary from inside the temporary directory, as "postgres" when
# we are root.
as_pg() {
    if [[ $EUID -eq 0 ]]; then
        (cd "$pg_dir" && "$runuser" -u postgres -- "$@")
    else
        (cd "$pg_dir" && "$@")
    fi
}

# --- Cleanup, installed before anything is created ---------------------------

pg_dir=""

# Called from the EXIT trap only.
# shellcheck disable=SC2317
cleanup() {
    local rc=$?
    trap '' INT TERM
    trap - EXIT
    if [[ -n $pg_dir && -d $pg_dir ]]; then
        local data=$pg_dir/data
        if [[ -f $data/postmaster.pid ]]; then
            as_pg "$PG_CTL" -D "$data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
        fi
        if [[ -f $data/postmaster.pid ]]; then
            # pg_ctl could not stop it; make sure no server outlives us.
            local pid
            pid=$(head -n 1 "$data/postmaster.pid" 2>/dev/null || true)
            if [[ $pid =~ ^[0-9]+$ ]]; then
                kill -KILL "$pid" 2>/dev/null || true
            fi
        fi
        if [[ -n ${KEEP_PG_LOG:-} && -f $pg_dir/postgres.log ]]; then
            cp -- "$pg_dir/postgres.log" "$KEEP_PG_LOG" ||
                echo "$prog: warning: could not copy the server log to $KEEP_PG_LOG" >&2
        fi
        rm -rf -- "$pg_dir" ||
            echo "$prog: warning: could not remove $pg_dir" >&2
    fi
    exit "$rc"
}

trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- Create the cluster and start the server ---------------------------------

tmp_parent=${TMPDIR:-/tmp}
pg_dir=$(mktemp -d "${tmp_parent%/}/taskflow-pg.XXXXXXXX") ||
    die "could not create a temporary directory under $tmp_parent"

# The directory is embedded in server options and in a URL, and holds the
# socket, whose path the kernel limits to 107 bytes.
if [[ ! $pg_dir =~ ^[A-Za-z0-9_./-]+$ ]]; then
    die "temporary directory '$pg_dir' contains unusual characters; set TMPDIR to a plain path such as /tmp"
fi
if ((${#pg_dir} > 90)); then
    die "temporary directory '$pg_dir' is too long for a Unix socket path; set TMPDIR to a shorter path such as /tmp"
fi

if [[ $EUID -eq 0 ]]; then
    chown postgres: "$pg_dir" || die "could not give $pg_dir to user 'postgres'"
    "$runuser" -u postgres -- test -w "$pg_dir" ||
        die "user 'postgres' cannot write to $pg_dir; set TMPDIR to a directory it can reach, such as /tmp"
fi

if ! as_pg "$PG_INITDB" -D "$pg_dir/data" -U postgres --auth=trust -N -E UTF8 --locale=C \
    >"$pg_dir/initdb.log" 2>&1; then
    echo "$prog: initdb ($PG_INITDB) failed:" >&2
    cat "$pg_dir/initdb.log" >&2 || true
    exit 1
fi

server_opts="-c listen_addresses='' -c port=5432 -c unix_socket_directories='$pg_dir'"
server_opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
server_opts+=" -c max_connections=400 -c shared_buffers=128MB"

if ! as_pg "$PG_CTL" -D "$pg_dir/data" -w -t 30 -l "$pg_dir/postgres.log" \
    -o "$server_opts" start >"$pg_dir/pg_ctl.log" 2>&1; then
    echo "$prog: the PostgreSQL server ($PG_CTL) did not start:" >&2
    cat "$pg_dir/pg_ctl.log" >&2 || true
    if [[ -f $pg_dir/postgres.log ]]; then
        echo "--- last 40 lines of the server log ---" >&2
        tail -n 40 "$pg_dir/postgres.log" >&2 || true
    fi
    exit 1
fi

# --- Run the command ---------------------------------------------------------

# The socket directory, percent-encoded, is the URL's host: the client then uses the socket
# only and never tries TCP.
encoded_dir=${pg_dir//\//%2F}
export TEST_DATABASE_URL="postgres://postgres@${encoded_dir}/postgres"
export PGHOST=$pg_dir
export PGPORT=5432
export PGUSER=postgres

status=0
"$@" || status=$?
exit "$status"
