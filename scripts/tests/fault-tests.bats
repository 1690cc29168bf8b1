#!/usr/bin/env bats
#
# Tests of scripts/fault-tests.sh itself: its options, its messages for missing tools, and
# how a failing group is reported. The fault tests proper run in scripts/check.sh.

setup() {
    script="$BATS_TEST_DIRNAME/../fault-tests.sh"
    stub_dir=$(mktemp -d)
}

teardown() {
    rm -rf -- "$stub_dir"
}

# Links the named commands into $stub_dir/bin, for a PATH that has only them.
only_commands() {
    mkdir -p "$stub_dir/bin"
    local name path
    for name in "$@"; do
        path=$(command -v "$name") || continue
        ln -sf "$path" "$stub_dir/bin/$name"
    done
}

@test "fault-tests.sh --help prints the usage from its header and succeeds" {
    run "$script" --help
    [ "$status" -eq 0 ]
    [[ $output == *"Usage:"* ]]
    [[ $output == *"--bin-dir DIR"* ]]
    [[ $output == *"--only NAMES"* ]]
    [[ $output == *"schemathesis==4.32.5"* ]]
    [[ $output != *"set -euo pipefail"* ]]
}

@test "fault-tests.sh --list prints every group, each of which the help describes" {
    run "$script" --list
    [ "$status" -eq 0 ]
    [ "${#lines[@]}" -ge 12 ]
    local help
    help=$("$script" --help)
    for name in "${lines[@]}"; do
        [[ $help == *"  $name "* ]] || {
            echo "the help does not describe $name" >&2
            return 1
        }
    done
}

@test "fault-tests.sh rejects an unknown option with status 2" {
    run "$script" --frobnicate
    [ "$status" -eq 2 ]
    [[ $output == *"unknown option: --frobnicate"* ]]
}

@test "fault-tests.sh rejects an unknown group with status 2" {
    run "$script" --only db-restart,no-such-group
    [ "$status" -eq 2 ]
    [[ $output == *"unknown group: 'no-such-group'"* ]]
}

@test "fault-tests.sh rejects a --bin-dir that does not exist and a missing argument" {
    run "$script" --bin-dir "$stub_dir/nowhere"
    [ "$status" -eq 2 ]
    [[ $output == *"no such directory"* ]]
    run "$script" --only
    [ "$status" -eq 2 ]
    [[ $output == *"--only needs a group name"* ]]
}

@test "a missing tool fails the run with the command that installs it" {
    only_commands bash dirname sort tail grep curl jq python3 psql runuser initdb pg_ctl postgres
    run env PATH="$stub_dir/bin" "$script" --bin-dir "$stub_dir" --only db-restart,slowloris-backend,memory-abuse
    [ "$status" -eq 1 ]
    [[ $output == *"not ok - tools: wrk not found; install it with: apt-get install wrk"* ]]
    [[ $output == *"not ok - tools: slowhttptest not found; install it with: apt-get install slowhttptest"* ]]
    [[ $output == *"not ok - tools: yq not found; install it with: apt-get install yq"* ]]
    [ "${lines[-1]}" = "0 passed, 3 failed" ]
}

@test "a schemathesis that is missing or not version 4 fails the run with the install line" {
    printf '#!/bin/sh\necho "st, version 3.39.16"\n' >"$stub_dir/st"
    chmod +x "$stub_dir/st"
    for st in "$stub_dir/nowhere/st" "$stub_dir/st"; do
        run env SCHEMATHESIS="$st" "$script" --bin-dir "$stub_dir" --only schemathesis
        [ "$status" -eq 1 ]
        [[ $output == *"not ok - tools: schemathesis 4 ($st) not found"* ]]
        [[ $output == *"pip install schemathesis==4.32.5"* ]]
        [ "${lines[-1]}" = "0 passed, 1 failed" ]
    done
}

@test "a service that does not start fails its group, and the run ends with the counts" {
    for name in taskflow-backend taskflow-frontend; do
        printf '#!/bin/sh\necho "stand-in that cannot serve" >&2\nexit 1\n' >"$stub_dir/$name"
        chmod +x "$stub_dir/$name"
    done
    run timeout 120 "$script" --bin-dir "$stub_dir" --only password-storage
    [ "$status" -eq 1 ]
    [[ $output == *"not ok - password-storage: the backend did not start"* ]]
    [ "${lines[-1]}" = "0 passed, 1 failed" ]
}
