#!/usr/bin/env bash
#
# taskflow-postgres-entrypoint - start PostgreSQL in the taskflow-postgres image.
#
# Usage:
#   taskflow-postgres-entrypoint [postgres options...]
#   taskflow-postgres-entrypoint --help
#
# In the image this script is the entrypoint; nix/images.nix wraps it with
# writeShellApplication, which puts nixpkgs' bash, PostgreSQL and coreutils on
# PATH. The tests (scripts/tests/nix/postgres-entrypoint.bats) run it against
# Debian's PostgreSQL binaries.
#
# Environment:
#   POSTGRES_PASSWORD       password of the superuser (required, or the next one)
#   POSTGRES_PASSWORD_FILE  file whose first line is that password (a mounted
#                           Secret); setting both is an error
#   POSTGRES_USER           name of the superuser (default: taskflow)
#   POSTGRES_DB             database created on first start (default: taskflow)
#   PGDATA                  the database cluster directory (default:
#                           /var/lib/postgresql/data/pgdata, a sub-directory of
#                           the volume, as in nix/contract.json)
#
# What it does:
#   - PGDATA empty or missing: initdb with SCRAM-SHA-256 authentication for
#     every connection (local and TCP, any address), the superuser password
#     set, then the database created through a temporary server that listens
#     on a private Unix socket only;
#   - PGDATA holds a cluster: just start it (the password is still required, so
#     that a misconfigured deployment fails the same way every time);
#   - runs  postgres -D "$PGDATA" -c listen_addresses='*'
#           -c unix_socket_directories=/tmp [postgres options...]
#     (later -c options override earlier ones);
#   - SIGTERM and SIGINT are both turned into SIGINT for the server, which is
#     PostgreSQL's fast shutdown: open sessions are ended, the cluster is
#     checkpointed and the server exits 0. (Plain SIGTERM would be a "smart"
#     shutdown that waits for every client to disconnect.) SIGQUIT and SIGHUP
#     are passed on unchanged.
#
# Exit status: the server's (0 after a clean shutdown); 1 with a one-line
# message on stderr when the configuration is unusable.

set -euo pipefail

prog=taskflow-postgres-entrypoint

usage() {
    cat <<EOF
Usage: $prog [postgres options...]

Initialises an empty PGDATA (SCRAM-SHA-256 password authentication, superuser
password from POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE, database POSTGRES_DB),
then runs PostgreSQL in the foreground. SIGTERM and SIGINT stop it with a fast
shutdown.

Environment:
  POSTGRES_PASSWORD       superuser password (required, or the next one)
  POSTGRES_PASSWORD_FILE  file holding the superuser password
  POSTGRES_USER           superuser name (default: taskflow)
  POSTGRES_DB             database to create on first start (default: taskflow)
  PGDATA                  cluster directory (default: /var/lib/postgresql/data/pgdata)
EOF
}

die() {
    echo "$prog: $*" >&2
    exit 1
}

log() {
    echo "$prog: $*" >&2
}

case "${1-}" in
    -h | --help)
        usage
        exit 0
        ;;
esac

if ((EUID == 0)); then
    die "refusing to run as root (PostgreSQL will not); run the container as a non-root user such as the image's default 10001"
fi

# --- Configuration -------------------------------------------------------------

db_user=${POSTGRES_USER:-taskflow}
db_name=${POSTGRES_DB:-taskflow}
export PGDATA=${PGDATA:-/var/lib/postgresql/data/pgdata}

password=""
if [[ -n ${POSTGRES_PASSWORD:-} && -n ${POSTGRES_PASSWORD_FILE:-} ]]; then
    die "both POSTGRES_PASSWORD and POSTGRES_PASSWORD_FILE are set; set only one"
elif [[ -n ${POSTGRES_PASSWORD_FILE:-} ]]; then
    [[ -f $POSTGRES_PASSWORD_FILE && -r $POSTGRES_PASSWORD_FILE ]] ||
        die "POSTGRES_PASSWORD_FILE=$POSTGRES_PASSWORD_FILE is not a readable file"
    # $(<file) drops trailing newlines, so a file written with `echo` works.
    password=$(<"$POSTGRES_PASSWORD_FILE")
    [[ -n $password ]] || die "POSTGRES_PASSWORD_FILE=$POSTGRES_PASSWORD_FILE is empty"
elif [[ -n ${POSTGRES_PASSWORD:-} ]]; then
    password=$POSTGRES_PASSWORD
else
    die "no superuser password: set POSTGRES_PASSWORD, or POSTGRES_PASSWORD_FILE to a file that holds it"
fi
[[ $password != *$'\n'* ]] || die "the superuser password must be a single line"
# The server and its children do not need the password in their environment.
unset POSTGRES_PASSWORD

# --- First start: create the cluster -------------------------------------------

# Fails (set -e) with a message if the directory cannot be created or is not ours.
prepare_pgdata() {
    mkdir -p -- "$PGDATA" 2>/dev/null ||
        die "cannot create PGDATA=$PGDATA; mount a volume there that uid $EUID can write to"
    chmod 0700 -- "$PGDATA" 2>/dev/null ||
        die "cannot set the permissions of PGDATA=$PGDATA; it must be owned by uid $EUID"
}

# True if PGDATA has no entries at all (hidden ones included).
pgdata_is_empty() {
    local entries
    entries=$(
        shopt -s nullglob dotglob
        set -- "$PGDATA"/*
        echo "$#"
    )
    ((entries == 0))
}

initialise() {
    log "initialising a new database cluster in $PGDATA (superuser '$db_user', database '$db_name')"
    local output
    if ! output=$(initdb --pgdata="$PGDATA" --username="$db_user" \
        --pwfile=<(printf '%s\n' "$password") \
        --auth-local=scram-sha-256 --auth-host=scram-sha-256 \
        --encoding=UTF8 --locale=C --no-instructions 2>&1); then
        printf '%s\n' "$output" >&2
        die "initdb failed (output above)"
    fi

    # initdb only allows TCP logins from loopback; the other pods connect from
    # their own addresses, always with the password.
    {
        echo
        echo "# Added by $prog: password (SCRAM-SHA-256) logins from any address."
        echo "host all all all scram-sha-256"
    } >>"$PGDATA/pg_hba.conf"

    if [[ $db_name != postgres ]]; then
        create_database
    fi
    log "database cluster ready"
}

# Creates $db_name through a temporary server on a private Unix socket.
create_database() {
    local sock_dir
    sock_dir=$(mktemp -d "${TMPDIR:-/tmp}/taskflow-pg-init.XXXXXXXX") ||
        die "cannot create a temporary directory under ${TMPDIR:-/tmp} (is /tmp writable?)"
    if ! pg_ctl --pgdata="$PGDATA" --wait --timeout=120 --silent \
        --log="$sock_dir/server.log" \
        --options="-c listen_addresses='' -c unix_socket_directories='$sock_dir'" start; then
        cat "$sock_dir/server.log" >&2 || true
        rm -rf -- "$sock_dir"
        die "the temporary server for creating database '$db_name' did not start (log above)"
    fi
    local status=0
    # psql quotes the name itself (:"name"), so any name is safe.
    PGPASSWORD=$password psql --no-psqlrc --quiet --set=ON_ERROR_STOP=1 \
        --host="$sock_dir" --username="$db_user" --dbname=postgres \
        --set=name="$db_name" <<<'CREATE DATABASE :"name";' || status=$?
    pg_ctl --pgdata="$PGDATA" --mode=fast --wait --timeout=120 --silent stop ||
        status=1
    rm -rf -- "$sock_dir"
    ((status == 0)) || die "could not create database '$db_name' (see the messages above)"
}

prepare_pgdata
if [[ ! -s $PGDATA/PG_VERSION ]]; then
    pgdata_is_empty ||
        die "PGDATA=$PGDATA is not empty but holds no database cluster (no PG_VERSION); refusing to initialise over it"
    initialise
fi

# --- Run the server --------------------------------------------------------------

postgres -D "$PGDATA" -c "listen_addresses=*" -c unix_socket_directories=/tmp "$@" &
server_pid=$!
got_signal=0

# Called from traps only.
# shellcheck disable=SC2317,SC2329
forward() {
    local received=$1 sent=$2
    got_signal=1
    log "received SIG$received; sending SIG$sent to PostgreSQL (pid $server_pid)"
    kill -s "$sent" "$server_pid" 2>/dev/null || true
}

trap 'forward TERM INT' TERM
trap 'forward INT INT' INT
trap 'forward QUIT QUIT' QUIT
trap 'forward HUP HUP' HUP

while :; do
    got_signal=0
    status=0
    wait "$server_pid" || status=$?
    # A trapped signal interrupts `wait` with a status above 128 while the
    # server is still running (or just exiting): wait again for its real status.
    if ((got_signal && status > 128)); then
        continue
    fi
    break
done

if ((status == 0)); then
    log "PostgreSQL stopped cleanly"
else
    log "PostgreSQL exited with status $status"
fi
exit "$status"
