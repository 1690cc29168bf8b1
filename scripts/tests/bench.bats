#!/usr/bin/env bats
#
# Tests for scripts/bench.sh: its options and messages, and one --quick run against real
# services and a real PostgreSQL server, which must produce every figure, the Markdown
# table and the SVG chart. The run uses the static release binaries when they have been
# built (scripts/check.sh builds them before the bats step), otherwise debug builds: the
# figures do not matter here, only that every scenario runs.

setup() {
    script="$BATS_TEST_DIRNAME/../bench.sh"
    repo=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
    scratch=""
}

teardown() {
    if [[ -n $scratch ]]; then
        rm -rf -- "$scratch"
    fi
}

@test "--help prints the usage and every option" {
    run "$script" --help
    [ "$status" -eq 0 ]
    [[ $output == *"Usage:"* ]]
    for option in --quick --no-build --bin-dir --out --duration; do
        [[ $output == *"$option"* ]] || {
            echo "missing $option" >&2
            return 1
        }
    done
}

@test "an unknown option is a usage error" {
    run "$script" --fast
    [ "$status" -eq 2 ]
    [[ $output == *"unknown option '--fast'"* ]]
}

@test "a duration outside 1-600 seconds is a usage error" {
    for bad in 0 601 abc ""; do
        run "$script" --duration "$bad"
        [ "$status" -eq 2 ]
        [[ $output == *"--duration must be a whole number of seconds from 1 to 600"* ]]
    done
}

@test "options that need a value say so" {
    run "$script" --out
    [ "$status" -eq 2 ]
    [[ $output == *"--out needs a directory"* ]]
    run "$script" --bin-dir
    [ "$status" -eq 2 ]
    [[ $output == *"--bin-dir needs a directory"* ]]
}

@test "a missing load generator is named with the command that installs it" {
    local bin=$BATS_TEST_TMPDIR/bin
    mkdir -p "$bin"
    ln -s "$(command -v cargo)" "$bin/cargo"
    ln -s "$(command -v dirname)" "$bin/dirname"
    PATH=$bin run "$BASH" "$script" --quick
    [ "$status" -eq 1 ]
    [[ $output == *"'wrk' is needed but not installed; install it with: apt-get install wrk"* ]]
}

@test "binaries missing from --bin-dir are reported with the build command" {
    run "$script" --quick --bin-dir "$BATS_TEST_TMPDIR/empty"
    [ "$status" -eq 1 ]
    [[ $output == *"taskflow-backend not found; build it with: cargo build --release --locked"* ]]
}

@test "a quick run measures every figure and writes the results, the table and the chart" {
    local target bins out=$BATS_TEST_TMPDIR/results
    target=$(cd "$repo" && cargo metadata --format-version 1 --no-deps --offline | jq -r '.target_directory')
    bins=$target/x86_64-unknown-linux-musl/release
    if [[ ! -x $bins/taskflow-backend || ! -x $bins/taskflow-frontend ]]; then
        (cd "$repo" && timeout 1800 cargo build --locked --quiet -p taskflow-backend -p taskflow-frontend)
        bins=$target/debug
    fi
    # As root, PostgreSQL runs as "postgres", which must reach the work directory: bats's
    # own temporary directories are private to root.
    scratch=$(mktemp -d /tmp/taskflow-bench-test.XXXXXXXX)
    chmod 755 "$scratch"
    TMPDIR=$scratch run timeout 900 "$script" --quick --bin-dir "$bins" --out "$out"
    echo "$output" >&2
    [ "$status" -eq 0 ]
    [[ $output == *"goals met. Results: $out/results.json"* ]]

    local id
    for id in list_rps_16 list_p50_16 list_p99_16 pgbench_tps_16 list_vs_db list_p99_64 \
        list_rps_64 create_rps_16 create_p99_16 page_rps_16 backend_idle_rss frontend_idle_rss \
        backend_rss_after_load frontend_rss_after_load login_peak_rss cold_start \
        cold_start_empty inflight_200; do
        jq -e --arg id "$id" '.figures[] | select(.id == $id) | .value | numbers | . > 0' \
            "$out/results.json" >/dev/null || {
            echo "figure $id is missing or not positive" >&2
            return 1
        }
    done
    # Every goal has a verdict; the run itself never fails on one.
    jq -e '[.figures[] | select(.goal != null) | .met | booleans] | length == 9' "$out/results.json"
    jq -e '.quick == true and .duration_s == 2 and (.commit | length) > 0' "$out/results.json"
    jq -e '[.latency[].percentiles | length] == [6, 6, 6, 6]' "$out/results.json"
    jq -e '.inflight.hung == 0 and .logins.ok == 64' "$out/results.json"
    jq -e '.list_request_statements | map(select(test("FROM \"tasks\""))) | length == 1' "$out/results.json"
    grep -q 'FROM "tasks"' "$out/list-request.pgbench.sql"
    grep -q '^| list 100 tasks, req/s at 16 connections | ' "$out/results.md"
    head -c 200 "$out/bench.svg" | grep -q '<svg'
    grep -q 'list 100 tasks, p99 at 64 connections' "$out/bench.svg"
    # The work directory (database, sockets, logs) is gone.
    [ -z "$(ls -A "$scratch")" ]
}
