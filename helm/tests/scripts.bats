#!/usr/bin/env bats
#
# Command lines of scripts/check-chart.sh and scripts/chart-contract-test.sh. The full
# runs are not repeated here: check-chart.sh runs these tests and the contract test.

# Variables such as repo_root come from helpers.bash.
# shellcheck disable=SC2154
load helpers

@test "check-chart.sh --help describes every check and the summary line" {
    run "$repo_root/scripts/check-chart.sh" --help
    [ "$status" -eq 0 ]
    [[ ${lines[0]} == "Usage: scripts/check-chart.sh [--no-build]" ]]
    [[ $output == *"kubernetes-validate --strict"* ]]
    [[ $output == *"checkov"* ]]
    [[ $output == *"N passed, N failed"* ]]
}

@test "check-chart.sh refuses an unknown option before running anything" {
    run "$repo_root/scripts/check-chart.sh" --frobnicate
    [ "$status" -eq 2 ]
    [[ $output == *"unknown option: --frobnicate"* ]]
    [[ $output != *"==> "* ]]
}

@test "chart-contract-test.sh --help names the only changes to the rendered settings" {
    run "$repo_root/scripts/chart-contract-test.sh" --help
    [ "$status" -eq 0 ]
    [[ ${lines[0]} == "Usage: scripts/chart-contract-test.sh "* ]]
    [[ $output == *"HTTP_HOST is 127.0.0.1"* ]]
    [[ $output == *"N passed, N failed"* ]]
}

@test "chart-contract-test.sh refuses an unknown option and a missing argument" {
    run "$repo_root/scripts/chart-contract-test.sh" --frobnicate
    [ "$status" -eq 2 ]
    [[ $output == *"unknown option: --frobnicate"* ]]
    run "$repo_root/scripts/chart-contract-test.sh" --values
    [ "$status" -eq 2 ]
    [[ $output == *"--values needs a file"* ]]
}

@test "chart-contract-test.sh --self-test: its URL helpers encode and split as intended" {
    run "$repo_root/scripts/chart-contract-test.sh" --self-test
    [ "$status" -eq 0 ]
    [[ ${lines[-1]} =~ ^[0-9]+\ passed,\ 0\ failed$ ]]
}

@test "chart-contract-test.sh fails clearly when the binaries are missing" {
    run "$repo_root/scripts/chart-contract-test.sh" --bin-dir "$BATS_TEST_TMPDIR/none"
    [ "$status" -eq 1 ]
    [[ $output == *"$BATS_TEST_TMPDIR/none/taskflow-backend not found"* ]]
}

@test "chart-contract-test.sh fails clearly when a rendered port is taken" {
    # A listener on the backend's rendered port 8000 (loopback only).
    python3 -c 'import socket,sys,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try: s.bind(("127.0.0.1", 8000))
except OSError: sys.exit(3)
s.listen(); print("up", flush=True); time.sleep(60)' >"$BATS_TEST_TMPDIR/listener.out" &
    local listener=$!
    local _
    for _ in $(seq 50); do
        [ -s "$BATS_TEST_TMPDIR/listener.out" ] && break
        kill -0 "$listener" 2>/dev/null || break
        sleep 0.1
    done
    # Stand-ins for the binaries: the port check comes before they would start.
    mkdir -p "$BATS_TEST_TMPDIR/bin"
    printf '#!/bin/sh\nexit 1\n' >"$BATS_TEST_TMPDIR/bin/taskflow-backend"
    cp "$BATS_TEST_TMPDIR/bin/taskflow-backend" "$BATS_TEST_TMPDIR/bin/taskflow-frontend"
    chmod +x "$BATS_TEST_TMPDIR"/bin/*
    run "$repo_root/scripts/chart-contract-test.sh" --bin-dir "$BATS_TEST_TMPDIR/bin"
    kill "$listener" 2>/dev/null || true
    wait "$listener" 2>/dev/null || true
    [ "$status" -ne 0 ]
    [[ $output == *"port 8000 (the backend's rendered containerPort) is already in use on 127.0.0.1"* ]]
    [[ ${lines[-1]} =~ ^[0-9]+\ passed,\ [1-9][0-9]*\ failed$ ]]
}
