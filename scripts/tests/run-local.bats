#!/usr/bin/env bats
#
# Tests for scripts/run-local.sh. They run it with --no-build against the real
# debug binaries (built once in setup_file), the real PostgreSQL server
# binaries and curl, each test with its own state directory and free ports on
# 127.0.0.1, and talk to the app through the frontend as a browser would.

# Builds the services once for every test; the script finds them through
# TASKFLOW_BACKEND_BIN and TASKFLOW_FRONTEND_BIN.
setup_file() {
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/taskflow/target}"
    (cd "$BATS_TEST_DIRNAME/../.." &&
        cargo build --locked --quiet -p taskflow-backend -p taskflow-frontend) >&2
    export TASKFLOW_BACKEND_BIN="$CARGO_TARGET_DIR/debug/taskflow-backend"
    export TASKFLOW_FRONTEND_BIN="$CARGO_TARGET_DIR/debug/taskflow-frontend"
}

setup() {
    script="$BATS_TEST_DIRNAME/../run-local.sh"
    # Under /tmp rather than $BATS_TEST_TMPDIR: the socket path must stay short,
    # and when the tests run as root, user "postgres" must be able to enter it.
    work=$(mktemp -d /tmp/taskflow-local-test.XXXXXX)
    chmod 0711 "$work"
    state="$work/state"
    jar="$work/cookies"
    runs=0
    app_pid=""
    occupant_pid=""
    recorded_pids=""
    start_options=(--no-build)
    unset TASKFLOW_SKIP_BUILD TASKFLOW_READY_TIMEOUT XDG_STATE_HOME LLM_API_KEY LLM_BASE_URL LLM_MODEL
    used_ports=" "
    pick_free_port BACKEND_PORT
    pick_free_port FRONTEND_PORT
    pick_free_port POSTGRES_PORT
    export BACKEND_PORT FRONTEND_PORT POSTGRES_PORT
    front="http://127.0.0.1:$FRONTEND_PORT"
}

teardown() {
    if [[ -n $app_pid ]] && kill -0 "$app_pid" 2>/dev/null; then
        kill -TERM "$app_pid" 2>/dev/null || true
        wait_for_exit "$app_pid" 30 || kill -KILL "$app_pid" 2>/dev/null || true
    fi
    if [[ -n $occupant_pid ]]; then
        kill -KILL "$occupant_pid" 2>/dev/null || true
    fi
    # A safety net only: the tests themselves check that nothing is left.
    local pid
    for pid in $recorded_pids; do
        kill -KILL "$pid" 2>/dev/null || true
    done
    if [[ -f $state/pgdata/postmaster.pid ]]; then
        pid=$(head -n 1 "$state/pgdata/postmaster.pid")
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -rf -- "$work"
}

# --- Helpers -----------------------------------------------------------------------

# Sets the variable named $1 to a port of 127.0.0.1 that nothing listens on and
# that no other variable of this test got.
pick_free_port() {
    local port tries=0
    while ((tries++ < 1000)); do
        port=$((20000 + RANDOM % 10000))
        [[ $used_ports == *" $port "* ]] && continue
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            continue
        fi
        used_ports+="$port "
        printf -v "$1" '%s' "$port"
        return 0
    done
    echo "no free port found" >&2
    return 1
}

# Waits up to $2 seconds for process $1 to end.
wait_for_exit() {
    local pid=$1 limit=$(($2 * 10)) tries=0
    while kill -0 "$pid" 2>/dev/null; do
        ((tries++ < limit)) || return 1
        sleep 0.1
    done
}

# Succeeds if a live (not merely unreaped) process has this id.
process_alive() {
    local process_state
    process_state=$(ps -o stat= -p "$1") || return 1
    [[ $process_state != Z* ]]
}

# Starts the script in the background with $start_options (--no-build), this
# test's state directory and the extra arguments, and waits (at most 90 s) until it says the
# app is running. Records the processes it started in $recorded_pids.
start_app() {
    app_log="$work/run.$((++runs)).log"
    : >"$app_log"
    # With job control on, the background script does not start with SIGINT
    # ignored (as it would otherwise, and bash cannot trap an ignored signal),
    # so it can be stopped with SIGINT as from a terminal.
    set -m
    "$script" "${start_options[@]}" --state-dir "$state" "$@" </dev/null >"$app_log" 2>&1 3>&- &
    app_pid=$!
    set +m
    local tries=0
    until grep -q '^Press Ctrl-C to stop' "$app_log"; do
        if ! kill -0 "$app_pid" 2>/dev/null; then
            echo "run-local.sh ended before the app was running:" >&2
            cat "$app_log" >&2
            return 1
        fi
        if ((tries++ > 900)); then
            echo "run-local.sh did not report the app running within 90 s:" >&2
            cat "$app_log" >&2
            return 1
        fi
        sleep 0.1
    done
    local postmaster
    postmaster=$(head -n 1 "$state/pgdata/postmaster.pid")
    service_pids=$(ps -o pid= --ppid "$app_pid" | tr -s ' \n' ' ')
    pg_pids="$postmaster $(ps -o pid= --ppid "$postmaster" | tr -s ' \n' ' ')"
    recorded_pids="$recorded_pids $service_pids $pg_pids"
    # The backend and the frontend.
    [ "$(wc -w <<<"$service_pids")" -eq 2 ]
}

# Sends signal $1 (default INT) to the script and waits (at most 30 s) for it to
# end; its exit status is then in $app_status.
stop_app() {
    kill -"${1:-INT}" "$app_pid"
    await_app_exit
}

# Waits (at most 30 s) for the script to end; its exit status is then in
# $app_status.
await_app_exit() {
    if ! wait_for_exit "$app_pid" 30; then
        echo "run-local.sh still runs after 30 s" >&2
        return 1
    fi
    app_status=0
    wait "$app_pid" || app_status=$?
    app_pid=""
}

# Fails, naming them, if any process recorded by start_app still runs.
assert_nothing_left() {
    local pid left=""
    for pid in $service_pids $pg_pids; do
        if process_alive "$pid"; then
            left+=" $pid ($(ps -o args= -p "$pid"))"
        fi
    done
    if [[ -n $left ]]; then
        echo "still running:$left" >&2
        return 1
    fi
    if pgrep -f -- "$state" >/dev/null; then
        echo "processes still mention $state:" >&2
        pgrep -af -- "$state" >&2
        return 1
    fi
    [ ! -e "$state/pgdata/postmaster.pid" ]
}

# GETs a page of the frontend with the cookie jar; prints the body.
get_page() {
    curl -sS --max-time 20 -b "$jar" -c "$jar" "$front$1"
}

# Prints the anti-forgery token of the page on stdin.
csrf_token() {
    sed -n 's/.*name="csrf" value="\([0-9a-f]\{64\}\)".*/\1/p' | head -n 1
}

# POSTs a form (name=value arguments) the way the browser does, with the cookie
# jar; prints the status and the redirect target.
post_form() {
    local path=$1 field
    shift
    local -a data=()
    for field in "$@"; do
        data+=(--data-urlencode "$field")
    done
    curl -sS --max-time 20 -o "$work/last-body.html" -w '%{http_code} %{redirect_url}' \
        -b "$jar" -c "$jar" -H 'Sec-Fetch-Site: same-origin' "${data[@]}" "$front$path"
}

# Registers Ann, signs her in and adds a task through the frontend.
register_and_add_task() {
    local token answer
    token=$(get_page /register | csrf_token)
    [ -n "$token" ]
    answer=$(post_form /register "csrf=$token" "name=Ann Lee" "email=ann@example.com" \
        "password=correct horse battery" "password_confirm=correct horse battery")
    [ "$answer" = "303 $front/login?registered=1" ]
    answer=$(post_form /login "csrf=$token" "email=ann@example.com" \
        "password=correct horse battery" "next=/tasks")
    [ "$answer" = "303 $front/tasks" ]
    grep -q 'taskflow_session' "$jar"
    # The token is renewed at sign-in: take it from the next page.
    token=$(get_page /tasks | csrf_token)
    [ -n "$token" ]
    answer=$(post_form /tasks "csrf=$token" "title=Water the plants" "priority=high" \
        "tags=garden" "return_to=/tasks")
    [ "$answer" = "303 $front/tasks" ]
}

# Signs in as Ann with a fresh cookie jar; prints the status and redirect target.
sign_in_again() {
    jar="$work/cookies.$RANDOM"
    local token
    token=$(get_page /login | csrf_token)
    post_form /login "csrf=$token" "email=ann@example.com" "password=correct horse battery" "next=/tasks"
}

# Prints the time of the first line of log $1 that contains $2, as
# YYYY-MM-DDTHH:MM:SS.mmm (the services log ISO times, PostgreSQL "date time UTC").
log_time() {
    grep -m 1 -- "$2" "$1" | grep -oE '^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9:]{8}\.[0-9]{3}' | tr ' ' T
}

# --- Tests -------------------------------------------------------------------------

@test "--help describes the options and the environment and succeeds" {
    run "$script" --help
    [ "$status" -eq 0 ]
    [[ $output == *"Usage: run-local.sh"* ]]
    local word
    for word in --no-build --state-dir --reset --yes BACKEND_PORT FRONTEND_PORT POSTGRES_PORT \
        LLM_API_KEY TASKFLOW_BACKEND_BIN TASKFLOW_FRONTEND_BIN TASKFLOW_SKIP_BUILD; do
        [[ $output == *"$word"* ]] || {
            echo "--help does not mention $word" >&2
            return 1
        }
    done
}

@test "an unknown option is a usage error with status 2" {
    run "$script" --frobnicate
    [ "$status" -eq 2 ]
    [[ $output == *"unknown argument: --frobnicate"* ]]
    [[ $output == *"--help"* ]]
}

@test "the first run creates the state directory and the app works through the frontend: register, sign in, add a task, see it" {
    start_app
    [[ $(cat "$app_log") == *"creating the database in $state/pgdata (first run)"* ]]
    [[ $(cat "$app_log") == *"open http://127.0.0.1:$FRONTEND_PORT"* ]]
    [[ $(cat "$app_log") == *"$state/logs/backend.log"* ]]

    register_and_add_task
    local page
    page=$(get_page /tasks)
    [[ $page == *"Water the plants"* ]]
    [[ $page == *"garden"* ]]

    # The session key: 64 hex digits, readable by the owner only.
    [ "$(stat -c %a "$state/jwt-secret")" = 600 ]
    grep -qxE '[0-9a-f]{64}' "$state/jwt-secret"
    [ -s "$state/logs/postgres.log" ]
    [ -s "$state/logs/backend.log" ]
    [ -s "$state/logs/frontend.log" ]
}

@test "SIGINT, SIGTERM or SIGHUP stops the frontend, then the backend, then PostgreSQL, leaves no process and exits 0" {
    local signal
    for signal in INT TERM HUP; do
        start_app
        stop_app "$signal"
        [ "$app_status" -eq 0 ] || {
            echo "SIG$signal: exit status $app_status" >&2
            cat "$app_log" >&2
            return 1
        }
        [[ $(cat "$app_log") == *"run-local.sh: stopped."* ]]
        assert_nothing_left || {
            echo "SIG$signal left processes behind" >&2
            return 1
        }
        local frontend_stop backend_stop pg_stop
        frontend_stop=$(log_time "$state/logs/frontend.log" 'stop signal received')
        backend_stop=$(log_time "$state/logs/backend.log" 'stop signal received')
        pg_stop=$(log_time "$state/logs/postgres.log" 'received fast shutdown request')
        [[ -n $frontend_stop && -n $backend_stop && -n $pg_stop ]] || {
            echo "SIG$signal: a stop is missing from the logs: frontend $frontend_stop, backend $backend_stop, PostgreSQL $pg_stop" >&2
            return 1
        }
        [[ ! $backend_stop < $frontend_stop && ! $pg_stop < $backend_stop ]] || {
            echo "SIG$signal: stopped frontend $frontend_stop, backend $backend_stop, PostgreSQL $pg_stop" >&2
            return 1
        }
    done
}

@test "a second run keeps the account and the task, and the session cookie of the first run still works" {
    start_app
    register_and_add_task
    stop_app
    [ "$app_status" -eq 0 ]
    local secret
    secret=$(cat "$state/jwt-secret")

    start_app
    [[ $(cat "$app_log") != *"first run"* ]]
    [ "$(cat "$state/jwt-secret")" = "$secret" ]
    # The old cookie jar: still signed in, the task is there.
    run curl -sS -o /dev/null -w '%{http_code}' -b "$jar" "$front/tasks"
    [ "$output" = 200 ]
    [[ $(get_page /tasks) == *"Water the plants"* ]]
    # The account exists: a new sign-in works.
    run sign_in_again
    [ "$output" = "303 $front/tasks" ]
}

@test "--reset --yes deletes the account, the tasks and the sessions, and starts afresh" {
    start_app
    register_and_add_task
    stop_app
    local secret old_jar=$jar
    secret=$(cat "$state/jwt-secret")

    start_app --reset --yes
    [[ $(cat "$app_log") == *"deleting the local data in $state"* ]]
    [[ $(cat "$app_log") == *"(first run)"* ]]
    [ "$(cat "$state/jwt-secret")" != "$secret" ]
    # The old session has ended...
    run curl -sS -o /dev/null -w '%{http_code} %{redirect_url}' -b "$old_jar" "$front/tasks"
    [ "$output" = "303 $front/login?next=%2Ftasks&expired=1" ]
    # ...and the account is gone.
    run sign_in_again
    [ "${output%% *}" = 401 ]
    grep -q 'Incorrect email or password.' "$work/last-body.html"
}

@test "--reset without a terminal and without --yes refuses and deletes nothing" {
    mkdir -p "$state"
    echo keep-me >"$state/jwt-secret"
    run "$script" --no-build --state-dir "$state" --reset </dev/null
    [ "$status" -eq 1 ]
    [[ $output == *"there is no terminal to ask for"* ]]
    [[ $output == *"Add --yes to confirm."* ]]
    [ "$(cat "$state/jwt-secret")" = keep-me ]
}

@test "--reset at a terminal asks first, and any answer but yes deletes nothing" {
    mkdir -p "$state"
    echo keep-me >"$state/jwt-secret"
    # script(1) gives the command a terminal and types "no" into it.
    run script -qec "'$script' --no-build --state-dir '$state' --reset" /dev/null <<<"no"
    [ "$status" -eq 1 ]
    [[ $output == *"This deletes all local TaskFlow data in $state"* ]]
    [[ $output == *'Type "yes" to delete it:'* ]]
    [[ $output == *"nothing deleted."* ]]
    [ "$(cat "$state/jwt-secret")" = keep-me ]
}

@test "a port in use stops the script before anything starts, naming the port and its variable" {
    local busy
    pick_free_port busy
    # The frontend itself makes a handy listener.
    env -i HTTP_HOST=127.0.0.1 HTTP_PORT="$busy" BACKEND_URL=http://127.0.0.1:9 \
        PUBLIC_ORIGIN="http://127.0.0.1:$busy" "$TASKFLOW_FRONTEND_BIN" serve >/dev/null 2>&1 3>&- &
    occupant_pid=$!
    local tries=0
    until "$TASKFLOW_FRONTEND_BIN" probe "http://127.0.0.1:$busy/healthz" 2>/dev/null; do
        ((tries++ < 100)) || return 1
        sleep 0.1
    done

    local variable
    for variable in BACKEND_PORT FRONTEND_PORT POSTGRES_PORT; do
        run env "$variable=$busy" "$script" --no-build --state-dir "$state"
        [ "$status" -eq 1 ] || {
            echo "$variable: status $status" >&2
            return 1
        }
        [[ $output == *"port $busy on 127.0.0.1 is already in use (it is $variable)"* ]] || {
            echo "$variable: message was: $output" >&2
            return 1
        }
        [[ $output == *"$variable=$((busy + 1))"* ]]
        [ ! -e "$state" ] || {
            echo "$variable: the state directory was created" >&2
            return 1
        }
    done
}

@test "missing PostgreSQL server binaries give installation advice and a failure" {
    # A PATH with nothing but bash, and a search directory that does not exist.
    mkdir -p "$work/bin"
    ln -s "$(command -v bash)" "$work/bin/bash"
    run env PATH="$work/bin" PG_BIN_SEARCH_GLOB="$work/nowhere/*/bin" \
        "$script" --no-build --state-dir "$state"
    [ "$status" -eq 1 ]
    [[ $output == *"PostgreSQL server binaries (initdb, pg_ctl, postgres) not found"* ]]
    [[ $output == *"$work/nowhere/*/bin"* ]]
    [[ $output == *"apt-get install postgresql"* ]]
    [[ $output == *"nix run .#local"* ]]
    [ ! -e "$state" ]
}

@test "a state directory too long for PostgreSQL's socket is refused with advice to use --state-dir" {
    local long
    long="$work/$(printf 'd%.0s' {1..90})"
    run "$script" --no-build --state-dir "$long"
    [ "$status" -eq 1 ]
    [[ $output == *"is too long"* ]]
    [[ $output == *"107-byte limit"* ]]
    [[ $output == *"--state-dir"* ]]
    [ ! -e "$long" ]
}

@test "a failed build stops the script with a message, and nothing is started" {
    # A cargo that records how it was called and fails.
    mkdir -p "$work/fake"
    cat >"$work/fake/cargo" <<'EOF'
#!/usr/bin/env bash
printf '%s\n' "$*" "$CARGO_TARGET_DIR" "$PWD" >"${0%/*}/cargo.called"
echo "error: could not compile taskflow-backend" >&2
exit 101
EOF
    chmod +x "$work/fake/cargo"
    run env -u CARGO_TARGET_DIR XDG_CACHE_HOME="$work/cache" PATH="$work/fake:$PATH" \
        "$script" --state-dir "$state"
    [ "$status" -eq 1 ]
    [[ $output == *"error: could not compile taskflow-backend"* ]]
    [[ $output == *"the build failed"* ]]
    [ "$(sed -n 1p "$work/fake/cargo.called")" = "build --release --locked -p taskflow-backend -p taskflow-frontend" ]
    [ "$(sed -n 2p "$work/fake/cargo.called")" = "$work/cache/taskflow/target" ]
    [ "$(sed -n 3p "$work/fake/cargo.called")" = "$(cd "$BATS_TEST_DIRNAME/../.." && pwd)" ]
    [ ! -e "$state" ]
}

@test "a service that is not ready in time fails the start with the end of its log, and PostgreSQL is stopped" {
    # A backend that migrates, starts, and never becomes ready.
    mkdir -p "$work/fake"
    cat >"$work/fake/taskflow-backend" <<'EOF'
#!/usr/bin/env bash
case $1 in
    migrate) echo "fake: migrations applied" ;;
    probe) exit 1 ;;
    serve) echo "fake: listening, but never ready"; exec sleep 300 ;;
esac
EOF
    chmod +x "$work/fake/taskflow-backend"
    TASKFLOW_READY_TIMEOUT=2 TASKFLOW_BACKEND_BIN="$work/fake/taskflow-backend" \
        run "$script" --no-build --state-dir "$state" 3>&-
    [ "$status" -eq 1 ]
    [[ $output == *"the backend was not ready within 2 s"* ]]
    [[ $output == *"last 20 lines of $state/logs/backend.log"* ]]
    [[ $output == *"fake: listening, but never ready"* ]]
    [[ $output == *"stopping the frontend, the backend and PostgreSQL"* ]]
    [ ! -e "$state/pgdata/postmaster.pid" ]
    run pgrep -f -- "$state"
    [ "$status" -eq 1 ]
    run pgrep -f -- "$work/fake/taskflow-backend"
    [ "$status" -eq 1 ]
}

@test "a service that stops by itself makes the script stop the rest and fail" {
    start_app
    local backend
    backend=$(pgrep -P "$app_pid" -f taskflow-backend)
    [ -n "$backend" ]
    kill -KILL "$backend"
    await_app_exit
    [ "$app_status" -eq 1 ]
    [[ $(cat "$app_log") == *"the backend stopped by itself"* ]]
    assert_nothing_left
}

@test "a second run on the same state directory is refused while the first runs, which keeps working" {
    start_app
    BACKEND_PORT=1 FRONTEND_PORT=2 POSTGRES_PORT=3 \
        run "$script" --no-build --state-dir "$state" 3>&-
    [ "$status" -eq 1 ]
    [[ $output == *"PostgreSQL is already running on $state/pgdata"* ]]
    run curl -sS -o /dev/null -w '%{http_code}' "$front/readyz"
    [ "$output" = 200 ]
    stop_app
    [ "$app_status" -eq 0 ]
}

@test "PostgreSQL listens on a socket in the state directory and on 127.0.0.1 only, where it wants the password" {
    start_app
    [ -S "$state/run/.s.PGSQL.$POSTGRES_PORT" ]
    run psql -h "$state/run" -p "$POSTGRES_PORT" -U postgres -d taskflow -X -A -t -c "show listen_addresses"
    [ "$status" -eq 0 ]
    [ "$output" = 127.0.0.1 ]
    PGPASSWORD=wrong run psql -h 127.0.0.1 -p "$POSTGRES_PORT" -U postgres -d taskflow -X -A -t -c "select 1"
    [ "$status" -ne 0 ]
    [[ $output == *"password authentication failed"* ]]
    PGPASSWORD=$(cat "$state/postgres-password") \
        run psql -h 127.0.0.1 -p "$POSTGRES_PORT" -U postgres -d taskflow -X -A -t -c "select 1"
    [ "$status" -eq 0 ]
    [ "$output" = 1 ]
    [ "$(stat -c %a "$state/postgres-password")" = 600 ]
}

@test "data made by another PostgreSQL major version is refused with advice, and nothing starts" {
    mkdir -p "$state/pgdata"
    echo 9.6 >"$state/pgdata/PG_VERSION"
    run "$script" --no-build --state-dir "$state"
    [ "$status" -eq 1 ]
    [[ $output == *"created by PostgreSQL 9.6, but"* ]]
    [[ $output == *"--reset"* ]]
    [ ! -e "$state/pgdata/postmaster.pid" ]
    [ "$(cat "$state/pgdata/PG_VERSION")" = 9.6 ]
}

@test "as a Nix wrapper runs it: TASKFLOW_SKIP_BUILD=1 takes the binaries from PATH, and the backend gets the LLM settings in a clean environment" {
    # The binaries on PATH, and a cargo that must not be called.
    mkdir -p "$work/bin"
    ln -s "$TASKFLOW_BACKEND_BIN" "$work/bin/taskflow-backend"
    ln -s "$TASKFLOW_FRONTEND_BIN" "$work/bin/taskflow-frontend"
    printf '#!/bin/sh\ntouch "%s"\nexit 1\n' "$work/cargo.called" >"$work/bin/cargo"
    chmod +x "$work/bin/cargo"
    unset TASKFLOW_BACKEND_BIN TASKFLOW_FRONTEND_BIN
    export PATH="$work/bin:$PATH" TASKFLOW_SKIP_BUILD=1
    export LLM_API_KEY=test-key LLM_MODEL=test-model LLM_BASE_URL=http://127.0.0.1:9/v1 LLM_EMPTY=""
    export DATABASE_URL=postgres://elsewhere/db HTTP_PORT=1 UNRELATED_SETTING=yes
    start_options=()
    start_app
    [ ! -e "$work/cargo.called" ]
    [[ $(cat "$app_log") == *"assistant     model test-model at http://127.0.0.1:9/v1"* ]]

    local backend frontend backend_env frontend_env
    backend=$(pgrep -P "$app_pid" -f taskflow-backend)
    frontend=$(pgrep -P "$app_pid" -f taskflow-frontend)
    [ "$(tr '\0' ' ' <"/proc/$backend/cmdline")" = "$work/bin/taskflow-backend serve " ]
    backend_env=$(tr '\0' '\n' <"/proc/$backend/environ")
    frontend_env=$(tr '\0' '\n' <"/proc/$frontend/environ")
    local expected
    for expected in LLM_API_KEY=test-key LLM_MODEL=test-model LLM_BASE_URL=http://127.0.0.1:9/v1 \
        HTTP_HOST=127.0.0.1 "HTTP_PORT=$BACKEND_PORT" "JWT_SECRET=$(cat "$state/jwt-secret")" \
        "DATABASE_URL=postgres://postgres@${state//\//%2F}%2Frun:$POSTGRES_PORT/taskflow"; do
        grep -qxF -- "$expected" <<<"$backend_env" || {
            echo "the backend's environment lacks $expected:" >&2
            echo "$backend_env" >&2
            return 1
        }
    done
    for expected in "BACKEND_URL=http://127.0.0.1:$BACKEND_PORT" \
        "PUBLIC_ORIGIN=http://127.0.0.1:$FRONTEND_PORT" HTTP_HOST=127.0.0.1 \
        "HTTP_PORT=$FRONTEND_PORT" COOKIE_SECURE=false; do
        grep -qxF -- "$expected" <<<"$frontend_env" || {
            echo "the frontend's environment lacks $expected:" >&2
            echo "$frontend_env" >&2
            return 1
        }
    done
    local unwanted
    for unwanted in LLM_EMPTY= UNRELATED_SETTING= DATABASE_URL=postgres://elsewhere; do
        if grep -q -- "^$unwanted" <<<"$backend_env"; then
            echo "the backend's environment has $unwanted" >&2
            return 1
        fi
    done
    for unwanted in LLM_ DATABASE_URL= JWT_SECRET= UNRELATED_SETTING=; do
        if grep -q -- "^$unwanted" <<<"$frontend_env"; then
            echo "the frontend's environment has $unwanted" >&2
            return 1
        fi
    done
    stop_app
    [ "$app_status" -eq 0 ]
}

@test "run as root, a state directory that user postgres cannot enter is refused with advice, and not left behind" {
    if ((EUID != 0)); then
        echo "this test needs root, as CI has: only a root run hands PostgreSQL to user postgres" >&2
        return 1
    fi
    mkdir -m 0700 "$work/private"
    run "$script" --no-build --state-dir "$work/private/state"
    [ "$status" -eq 1 ]
    [[ $output == *"user 'postgres' cannot enter $work/private/state"* ]]
    [[ $output == *"--state-dir"* ]]
    [ ! -e "$work/private/state" ]
}
