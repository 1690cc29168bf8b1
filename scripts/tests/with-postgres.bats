#!/usr/bin/env bats
#
# Tests for scripts/with-postgres.sh. They start real PostgreSQL servers, so
# the server binaries must be installed (see the script's header).
#
# Commands in single quotes are expanded by the wrapped command's shell.
# shellcheck disable=SC2016

setup() {
    script="$BATS_TEST_DIRNAME/../with-postgres.sh"
}

# Prints "dir=<socket dir>" and "pids=<server process ids>" from inside the
# wrapped command, so that a test can check afterwards that all of it is gone.
report_server='pm=$(head -n 1 "$PGHOST/data/postmaster.pid");
    echo "dir=$PGHOST";
    echo "pids=$pm $(ps -o pid= --ppid "$pm" | tr -s " \n" "  ")"'

# Succeeds if a live (not merely unreaped) process has this id.
process_alive() {
    local state
    state=$(ps -o stat= -p "$1") || return 1
    [[ $state != Z* ]]
}

# Asserts that the directory and the server processes reported by
# $report_server in $output no longer exist.
assert_server_gone() {
    local dir pids pid
    dir=$(sed -n 's/^dir=//p' <<<"$output")
    pids=$(sed -n 's/^pids=//p' <<<"$output")
    [ -n "$dir" ]
    [ -n "$pids" ]
    if [ -e "$dir" ]; then
        echo "directory $dir still exists" >&2
        return 1
    fi
    for pid in $pids; do
        if process_alive "$pid"; then
            echo "server process $pid is still running" >&2
            return 1
        fi
    done
}

@test "with-postgres.sh --help prints its usage and succeeds" {
    run "$script" --help
    [ "$status" -eq 0 ]
    [[ $output == *"Usage:"*"TEST_DATABASE_URL"* ]]
}

@test "with-postgres.sh without a command fails with a usage message" {
    run "$script"
    [ "$status" -eq 2 ]
    [[ $output == *"missing command"* ]]
}

@test "the command sees a TEST_DATABASE_URL whose host is the percent-encoded socket directory" {
    run "$script" bash -c 'echo "url=$TEST_DATABASE_URL"; echo "host=$PGHOST"; echo "user=$PGUSER"'
    [ "$status" -eq 0 ]
    local host
    host=$(sed -n 's/^host=//p' <<<"$output")
    [[ $host == /* ]]
    [[ $output == *"url=postgres://postgres@${host//\//%2F}/postgres"* ]]
    [[ $output == *"user=postgres"* ]]
}

@test "the command can run queries with psql" {
    run "$script" bash -c 'psql -h "$PGHOST" -U postgres -X -A -t -c "select 1 + 1"'
    [ "$status" -eq 0 ]
    [ "${lines[${#lines[@]} - 1]}" = "2" ]
}

@test "the server listens on its Unix socket only, not on TCP" {
    run "$script" psql -X -A -t -c "show listen_addresses"
    [ "$status" -eq 0 ]
    [ "$output" = "" ]
}

@test "a successful command makes the script succeed" {
    run "$script" true
    [ "$status" -eq 0 ]
}

@test "a command that fails with status 1 makes the script exit with 1" {
    run "$script" false
    [ "$status" -eq 1 ]
}

@test "a command's exit status 7 is passed on unchanged" {
    run "$script" bash -c 'exit 7'
    [ "$status" -eq 7 ]
}

@test "the directory and the server are gone after the command returns" {
    run "$script" bash -c "$report_server"
    [ "$status" -eq 0 ]
    assert_server_gone
}

@test "the directory and the server are gone after the command fails" {
    run "$script" bash -c "$report_server; exit 3"
    [ "$status" -eq 3 ]
    assert_server_gone
}

@test "cleanup happens when the command is killed by a signal" {
    run "$script" bash -c "$report_server; kill -KILL \$\$"
    [ "$status" -eq 137 ]
    assert_server_gone
}

@test "cleanup happens when the script itself receives SIGTERM" {
    local out="$BATS_TEST_TMPDIR/out"
    "$script" bash -c "$report_server; sleep 2" >"$out" 2>&1 3>&- &
    local pid=$!
    local tries=0
    until grep -q '^pids=' "$out" || ((++tries > 300)); do
        sleep 0.1
    done
    kill -TERM "$pid"
    local rc=0
    wait "$pid" || rc=$?
    [ "$rc" -eq 143 ]
    output=$(cat "$out")
    assert_server_gone
}

@test "several servers can run at the same time" {
    local out="$BATS_TEST_TMPDIR/parallel"
    local query='psql -X -A -t -c "select 1"'
    "$script" bash -c "$query" >"$out.1" 2>&1 3>&- &
    local first=$!
    "$script" bash -c "$query" >"$out.2" 2>&1 3>&- &
    local second=$!
    "$script" bash -c "$query" >"$out.3" 2>&1 3>&- &
    local third=$!
    wait "$first"
    wait "$second"
    wait "$third"
    [ "$(cat "$out.1" "$out.2" "$out.3")" = "$(printf '1\n1\n1')" ]
}

@test "KEEP_PG_LOG receives a copy of the server log" {
    local log="$BATS_TEST_TMPDIR/server.log"
    KEEP_PG_LOG=$log run "$script" true
    [ "$status" -eq 0 ]
    [ -s "$log" ]
    grep -q 'database system is ready to accept connections' "$log"
}

@test "missing server binaries produce installation advice and a failure" {
    # A PATH with nothing but bash, and a search directory that does not exist.
    mkdir -p "$BATS_TEST_TMPDIR/bin"
    ln -s "$(command -v bash)" "$BATS_TEST_TMPDIR/bin/bash"
    run env PATH="$BATS_TEST_TMPDIR/bin" \
        PG_BIN_SEARCH_GLOB="$BATS_TEST_TMPDIR/nowhere/*/bin" \
        "$script" true
    [ "$status" -eq 1 ]
    [[ $output == *"PostgreSQL server binaries (initdb, pg_ctl, postgres) not found"* ]]
    [[ $output == *"apt-get install postgresql"* ]]
    [[ $output == *"nix develop"* ]]
}

# A PATH with every system command except the PostgreSQL server programs, so that the
# script has to find them through PG_BIN_SEARCH_GLOB. Not under BATS_TEST_TMPDIR: as root
# the server runs as user postgres, who must reach these commands too.
path_without_server_binaries() {
    local dir entry
    dir=$(mktemp -d /tmp/taskflow-sysbin.XXXXXXXX)
    chmod 755 "$dir"
    echo "$dir" >>"$BATS_TEST_TMPDIR/remove-after"
    for entry in /usr/sbin/* /usr/bin/* /sbin/* /bin/*; do
        case ${entry##*/} in
            initdb | pg_ctl | postgres) continue ;;
        esac
        [[ -x $entry && ! -e $dir/${entry##*/} ]] && ln -s "$entry" "$dir/${entry##*/}"
    done
    echo "$dir"
}

teardown() {
    if [[ -f $BATS_TEST_TMPDIR/remove-after ]]; then
        xargs rm -rf -- <"$BATS_TEST_TMPDIR/remove-after"
    fi
}

@test "the highest-versioned search directory is used when PATH has no server binaries" {
    local system_path
    system_path=$(path_without_server_binaries)
    # Fake installations whose initdb always fails, so the script reports
    # which one it picked.
    local version
    for version in 9.6 10 16; do
        mkdir -p "$BATS_TEST_TMPDIR/pg/$version/bin"
        for tool in initdb pg_ctl postgres; do
            printf '#!/bin/sh\nexit 1\n' >"$BATS_TEST_TMPDIR/pg/$version/bin/$tool"
            chmod 755 "$BATS_TEST_TMPDIR/pg/$version/bin/$tool"
        done
    done
    run env PATH="$system_path" PG_BIN_SEARCH_GLOB="$BATS_TEST_TMPDIR/pg/*/bin" "$script" true
    [ "$status" -eq 1 ]
    [[ $output == *"initdb ($BATS_TEST_TMPDIR/pg/16/bin/initdb) failed"* ]]
}

@test "a real installation in the search directory is found when PATH has none" {
    if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
        echo "no PostgreSQL under /usr/lib/postgresql; install it: apt-get install postgresql" >&2
        return 1
    fi
    local system_path
    system_path=$(path_without_server_binaries)
    run env PATH="$system_path" "$script" psql -X -A -t -c "select 1"
    [ "$status" -eq 0 ]
    [ "$output" = "1" ]
}
