#!/usr/bin/env bats
#
# Tests for scripts/check.sh's command line. The full check is not run here:
# check.sh itself runs these tests.

setup() {
    script="$BATS_TEST_DIRNAME/../check.sh"
}

@test "check.sh --help prints its usage and succeeds" {
    run "$script" --help
    [ "$status" -eq 0 ]
    [[ ${lines[0]} == "Usage: scripts/check.sh [--quick]" ]]
    [[ $output == *"--quick"* ]]
    [[ $output == *"N passed, N failed"* ]]
}

@test "check.sh -h is a short form of --help" {
    run "$script" -h
    [ "$status" -eq 0 ]
    [[ ${lines[0]} == "Usage: "* ]]
}

@test "check.sh fails on an unknown option with a message naming it" {
    run "$script" --frobnicate
    [ "$status" -eq 2 ]
    [[ $output == *"unknown option: --frobnicate"* ]]
    [[ $output == *"Usage:"* ]]
}

@test "check.sh rejects an unknown option before any step runs" {
    run "$script" --quick --frobnicate
    [ "$status" -eq 2 ]
    [[ $output != *"==> "* ]]
}
