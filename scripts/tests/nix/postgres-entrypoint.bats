#!/usr/bin/env bats
#
# Tests of the taskflow-postgres image's entrypoint (nix/postgres/entrypoint.sh) against
# Debian's PostgreSQL server binaries (/usr/lib/postgresql/<major>/bin, the newest present),
# as a non-root user: as root the tests run it as "postgres" through setpriv (which execs,
# so signals reach the script itself). The server listens on a free loopback port and a
# private socket directory, passed as extra arguments exactly as a user of the image would.
#
# Needs: the postgresql package (server and client), util-linux (setpriv, unshare).

setup() {
    entrypoint="$BATS_TEST_DIRNAME/../../../nix/postgres/entrypoint.sh"

    pgbin=""
    local dir
    for dir in $(compgen -G '/usr/lib/postgresql/*/bin' | sort -V); do
        if [[ -x $dir/initdb && -x $dir/pg_ctl && -x $dir/postgres && -x $dir/psql && -x $dir/pg_isready ]]; then
            pgbin=$dir
        fi
    done
    if [[ -z $pgbin ]]; then
        echo "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin; install them: apt-get install postgresql" >&2
        return 1
    fi
    if ((EUID == 0)); then
        if ! id -u postgres >/dev/null 2>&1 || ! command -v setpriv >/dev/null; then
            echo "running as root needs the 'postgres' user (apt-get install postgresql) and setpriv (util-linux)" >&2
            return 1
        fi
    fi

    # Not under BATS_TEST_TMPDIR: its parents are private to root.
    work=$(mktemp -d /tmp/taskflow-pg-entrypoint.XXXXXXXX)
    mkdir -p "$work/sock"
    if ((EUID == 0)); then
        chown -R postgres: "$work"
    fi
    port=$(free_port)
    server_pid=""
    # setpriv execs the command, so a background job started with this prefix keeps one
    # pid from setpriv to the script: $! is the script (a shell function would add a
    # subshell in between, which would swallow the signals).
    as_pg_prefix=()
    if ((EUID == 0)); then
        as_pg_prefix=(setpriv --reuid=postgres --regid=postgres --init-groups --)
    fi
}

teardown() {
    if [[ -n ${server_pid:-} ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid" 2>/dev/null || true
        for _ in {1..100}; do
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$server_pid" 2>/dev/null || true
    fi
    # A server that outlived the script (it must not) would keep files open.
    pkill -KILL -f -- "-D $work/" 2>/dev/null || true
    rm -rf -- "$work"
}

free_port() {
    local candidate
    for _ in {1..100}; do
        candidate=$((20000 + RANDOM % 30000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

# as_pg COMMAND...: as the postgres user when we are root.
as_pg() {
    "${as_pg_prefix[@]}" "$@"
}

# start [VAR=value...]: the entrypoint in the background with PGDATA in $work, listening on
# 127.0.0.1:$port; its output goes to $work/log (appended).
# A background job of a non-interactive shell starts with SIGINT and SIGQUIT ignored, and
# bash cannot trap a signal ignored at its start: `env --default-signal` gives the script
# the dispositions a container's first process has. fd 3 is closed for bats.
start() {
    "${as_pg_prefix[@]}" env --default-signal=INT,QUIT PATH="$pgbin:$PATH" PGDATA="$work/data/pgdata" "$@" \
        bash "$entrypoint" -c listen_addresses=127.0.0.1 -c "port=$port" \
        -c "unix_socket_directories=$work/sock" >>"$work/log" 2>&1 3>&- &
    server_pid=$!
}

# Waits until the server accepts connections (or the script has exited).
wait_ready() {
    for _ in {1..300}; do
        if "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
            return 0
        fi
        if ! kill -0 "$server_pid" 2>/dev/null; then
            echo "the entrypoint exited early:" >&2
            cat "$work/log" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "the server did not become ready in 30 s:" >&2
    cat "$work/log" >&2
    return 1
}

# sql PASSWORD QUERY [USER] [DB]: one query over TCP with the password.
sql() {
    PGPASSWORD=$1 PGCONNECT_TIMEOUT=5 "$pgbin/psql" -X -A -t -v ON_ERROR_STOP=1 \
        -h 127.0.0.1 -p "$port" -U "${3:-taskflow}" -d "${4:-taskflow}" -c "$2"
}

# stop SIGNAL: sends it to the entrypoint; sets stop_status and stop_ms.
stop() {
    local start_ns end_ns
    start_ns=$(date +%s%N)
    kill -s "$1" "$server_pid"
    stop_status=0
    wait "$server_pid" || stop_status=$?
    end_ns=$(date +%s%N)
    stop_ms=$(((end_ns - start_ns) / 1000000))
    server_pid=""
}

@test "entrypoint --help prints the usage" {
    run bash "$entrypoint" --help
    [ "$status" -eq 0 ]
    [[ $output == *"Usage: taskflow-postgres-entrypoint"*"POSTGRES_PASSWORD_FILE"* ]]
}

@test "empty PGDATA: initialised with SCRAM, accepts the password over TCP, rejects a wrong one" {
    start POSTGRES_PASSWORD=s3cret
    wait_ready
    run sql s3cret "select current_user || ' ' || current_database()"
    [ "$status" -eq 0 ]
    [ "$output" = "taskflow taskflow" ]

    run sql s3cret "select rolsuper::text || ' ' || left(rolpassword, 13) from pg_authid where rolname = 'taskflow'"
    [ "$output" = "true SCRAM-SHA-256" ]

    run sql s3cret "show password_encryption"
    [ "$output" = "scram-sha-256" ]

    # The extra arguments reach postgres (they override the defaults).
    run sql s3cret "show port"
    [ "$output" = "$port" ]

    run sql wrong "select 1"
    [ "$status" -ne 0 ]
    [[ $output == *"password authentication failed"* ]]

    grep -q '^host all all all scram-sha-256$' "$work/data/pgdata/pg_hba.conf"
    ! grep -Eq '^(local|host).*[[:space:]]trust$' "$work/data/pgdata/pg_hba.conf" || false
    grep -q "initialising a new database cluster in $work/data/pgdata (superuser 'taskflow', database 'taskflow')" "$work/log"
    [ "$(stat -c %a "$work/data/pgdata")" = 700 ]
}

@test "restart: the data is kept and the cluster is not initialised again" {
    start POSTGRES_PASSWORD=s3cret
    wait_ready
    sql s3cret "create table kept (note text); insert into kept values ('still here')"
    stop INT
    [ "$stop_status" -eq 0 ]

    : >"$work/log"
    start POSTGRES_PASSWORD=s3cret
    wait_ready
    run sql s3cret "select note from kept"
    [ "$status" -eq 0 ]
    [ "$output" = "still here" ]
    ! grep -q "initialising" "$work/log" || false
}

@test "missing password: one clear line, exit 1, nothing created" {
    run as_pg env PATH="$pgbin:$PATH" PGDATA="$work/data/pgdata" bash "$entrypoint"
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 1 ]
    [ "$output" = "taskflow-postgres-entrypoint: no superuser password: set POSTGRES_PASSWORD, or POSTGRES_PASSWORD_FILE to a file that holds it" ]
    [ ! -e "$work/data" ]
}

@test "an empty password counts as missing" {
    run as_pg env PATH="$pgbin:$PATH" PGDATA="$work/data/pgdata" POSTGRES_PASSWORD= bash "$entrypoint"
    [ "$status" -eq 1 ]
    [[ $output == *"no superuser password"* ]]
}

@test "SIGTERM: fast shutdown even with a session open, exit 0, in a few seconds" {
    start POSTGRES_PASSWORD=s3cret
    wait_ready
    # A session that a smart shutdown (plain SIGTERM to postgres) would wait for.
    PGPASSWORD=s3cret "$pgbin/psql" -X -h 127.0.0.1 -p "$port" -U taskflow -d taskflow \
        -c "select pg_sleep(60)" >/dev/null 2>&1 &
    local client=$!
    for _ in {1..50}; do
        [[ $(sql s3cret "select count(*) from pg_stat_activity where query like 'select pg_sleep%'") == 1 ]] && break
        sleep 0.1
    done
    stop TERM
    wait "$client" || true
    [ "$stop_status" -eq 0 ]
    [ "$stop_ms" -lt 5000 ]
    grep -q "received SIGTERM; sending SIGINT to PostgreSQL" "$work/log"
    grep -q "received fast shutdown request" "$work/log"
    grep -q "database system is shut down" "$work/log"
    grep -q "PostgreSQL stopped cleanly" "$work/log"
}

@test "SIGINT: fast shutdown, exit 0" {
    start POSTGRES_PASSWORD=s3cret
    wait_ready
    stop INT
    [ "$stop_status" -eq 0 ]
    [ "$stop_ms" -lt 5000 ]
    grep -q "received SIGINT; sending SIGINT to PostgreSQL" "$work/log"
    grep -q "received fast shutdown request" "$work/log"
}

@test "POSTGRES_PASSWORD_FILE, POSTGRES_USER and POSTGRES_DB (a name that needs quoting)" {
    printf 'from-a-file\n' >"$work/password"
    if ((EUID == 0)); then
        chown postgres: "$work/password"
    fi
    start POSTGRES_PASSWORD_FILE="$work/password" POSTGRES_USER=admin POSTGRES_DB="task flow-db"
    wait_ready
    run sql from-a-file "select current_user || '/' || current_database()" admin "task flow-db"
    [ "$status" -eq 0 ]
    [ "$output" = "admin/task flow-db" ]
}

@test "both POSTGRES_PASSWORD and POSTGRES_PASSWORD_FILE: refused" {
    echo x >"$work/password"
    run as_pg env PATH="$pgbin:$PATH" PGDATA="$work/data/pgdata" POSTGRES_PASSWORD=y \
        POSTGRES_PASSWORD_FILE="$work/password" bash "$entrypoint"
    [ "$status" -eq 1 ]
    [[ $output == *"both POSTGRES_PASSWORD and POSTGRES_PASSWORD_FILE are set"* ]]
}

@test "an unreadable or empty password file: refused" {
    run as_pg env PATH="$pgbin:$PATH" PGDATA="$work/data/pgdata" \
        POSTGRES_PASSWORD_FILE="$work/missing" bash "$entrypoint"
    [ "$status" -eq 1 ]
    [[ $output == *"POSTGRES_PASSWORD_FILE=$work/missing is not a readable file"* ]]
    : >"$work/empty"
    run as_pg env PATH="$pgbin:$PATH" PGDATA="$work/data/pgdata" \
        POSTGRES_PASSWORD_FILE="$work/empty" bash "$entrypoint"
    [ "$status" -eq 1 ]
    [[ $output == *"is empty"* ]]
}

@test "a non-empty PGDATA without a cluster is left alone" {
    mkdir -p "$work/data/pgdata"
    echo "someone else's file" >"$work/data/pgdata/notes.txt"
    if ((EUID == 0)); then
        chown -R postgres: "$work/data"
    fi
    run as_pg env PATH="$pgbin:$PATH" PGDATA="$work/data/pgdata" POSTGRES_PASSWORD=x bash "$entrypoint"
    [ "$status" -eq 1 ]
    [[ $output == *"is not empty but holds no database cluster (no PG_VERSION); refusing to initialise over it"* ]]
    [ "$(cat "$work/data/pgdata/notes.txt")" = "someone else's file" ]
}

@test "run as root: refused" {
    if ((EUID == 0)); then
        run env PATH="$pgbin:$PATH" PGDATA="$work/data/pgdata" POSTGRES_PASSWORD=x bash "$entrypoint"
    else
        run unshare --map-root-user env PATH="$pgbin:$PATH" PGDATA="$work/data/pgdata" POSTGRES_PASSWORD=x bash "$entrypoint"
    fi
    [ "$status" -eq 1 ]
    [[ $output == *"refusing to run as root"* ]]
}
