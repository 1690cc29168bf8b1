#!/usr/bin/env bash
#
# check.sh - run every check of the TaskFlow project.
#
# Usage:
#   scripts/check.sh [--quick]
#   scripts/check.sh --help
#
# Steps, each announced with a "==> name" header. A failing step does not stop
# the run; every step is reported:
#
#   cargo fmt              cargo fmt --all --check
#   cargo clippy           cargo clippy --workspace --all-targets --locked -- -D warnings
#   cargo deny             cargo deny check licenses bans sources (deny.toml)
#   browser test deps      npm ci --prefix frontend/tests/browser (axe-core)
#   tests (cargo nextest)  cargo nextest run --workspace --locked --no-fail-fast,
#                          inside scripts/with-postgres.sh (throwaway PostgreSQL);
#                          includes the headless Chromium tests of the web app
#   musl release build     cargo build --release --target x86_64-unknown-linux-musl
#                          of the packages in MUSL_PACKAGES, checked to be
#                          statically linked (skipped with --quick)
#   Helm chart             scripts/check-chart.sh: lint, render, kubernetes-validate,
#                          checkov, bats tests of the renderings, and the contract
#                          test that runs the binaries as the pod specs say
#   container images       scripts/image-test.sh: OCI images assembled from the musl
#                          binaries and nix/contract.json, run read-only as uid 10001
#                          with podman (skipped with --quick)
#   fault tests            scripts/fault-tests.sh with the musl binaries: PostgreSQL
#                          restarts, SIGTERM under load, slowloris, schemathesis, login
#                          enumeration, injection strings, memory under abuse
#                          (skipped with --quick)
#   Nix                    scripts/check-nix.sh: parse, deadnix, nixpkgs-fmt, flake.lock
#                          pins, the flake's wiring with stand-in inputs, the apps'
#                          and the PostgreSQL entrypoint's tests
#   ShellCheck             every *.sh, *.bash and *.bats file under scripts/,
#                          and .ci/run
#   bats                   bats --tap scripts/tests/ (includes a --quick run of
#                          scripts/bench.sh)
#
# The tests and bats steps add their individual test results to the totals;
# every other step counts as one passed or failed check. The output ends with a
# table of steps and, as its last line, "N passed, N failed". The exit status
# is 0 only if nothing failed.
#
# Options:
#   --quick     skip the musl release build and what needs it (images, fault tests)
#   -h, --help  show this help
#
# Environment:
#   CARGO_TARGET_DIR  build directory; defaults to a cache outside the clone,
#                     ${XDG_CACHE_HOME:-$HOME/.cache}/taskflow/target, so builds
#                     are reused across clones
#   CARGO_TERM_COLOR  defaults to "never"
#
# Needs: cargo (with rustfmt, clippy and the x86_64-unknown-linux-musl target),
# cargo-nextest, cargo-deny, PostgreSQL server binaries, Chromium and
# ChromeDriver, npm, musl-tools, readelf (binutils), ShellCheck, bats, and for
# the fault tests and the benchmark wrk, slowhttptest, curl, yq and schemathesis.
# On Debian, .ci/run installs all of them.

set -euo pipefail

prog=${0##*/}

usage() {
    cat <<EOF
Usage: scripts/check.sh [--quick]

Runs formatting, lints, the test suite (against a temporary PostgreSQL), a static
musl release build, shellcheck and the shell tests, then prints a summary whose
last line is "N passed, N failed". Exits non-zero if anything failed.

Options:
  --quick     skip the musl release build
  -h, --help  show this help
EOF
}

quick=0
while [[ $# -gt 0 ]]; do
    case $1 in
        -h | --help)
            usage
            exit 0
            ;;
        --quick)
            quick=1
            ;;
        *)
            echo "$prog: unknown option: $1" >&2
            usage >&2
            exit 2
            ;;
    esac
    shift
done

root=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/taskflow/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

MUSL_TARGET=x86_64-unknown-linux-musl
# Packages built and checked by the musl step; add more here.
MUSL_PACKAGES=(taskflow-backend taskflow-frontend)

work=$(mktemp -d)
trap 'rm -rf -- "$work"' EXIT

# --- Bookkeeping ---------------------------------------------------------------

total_passed=0
total_failed=0
step_names=()
step_results=()
step_details=()

# Set by counted steps: their own numbers of passed and failed tests.
counted_passed=0
counted_failed=0
# Set by any step: a short note for the summary table.
detail=""

# run_step NAME FUNCTION [counted]
run_step() {
    local name=$1 func=$2 counted=${3:-}
    local status=0
    echo
    echo "==> $name"
    counted_passed=0
    counted_failed=0
    detail=""
    "$func" || status=$?

    if [[ -n $counted ]]; then
        # A failure without any failed test (build error, crash, missing
        # tool) still has to show up in the totals.
        if ((status != 0 && counted_failed == 0)); then
            counted_failed=1
        fi
        total_passed=$((total_passed + counted_passed))
        total_failed=$((total_failed + counted_failed))
        detail="$counted_passed passed, $counted_failed failed${detail:+; $detail}"
    elif ((status == 0)); then
        total_passed=$((total_passed + 1))
    else
        total_failed=$((total_failed + 1))
    fi

    step_names+=("$name")
    if ((status == 0 && counted_failed == 0)); then
        step_results+=(pass)
    else
        step_results+=(FAIL)
    fi
    step_details+=("$detail")
}

skip_step() {
    local name=$1 reason=$2
    echo
    echo "==> $name"
    echo "skipped ($reason)"
    step_names+=("$name")
    step_results+=(skip)
    step_details+=("$reason")
}

strip_colors() {
    sed 's/\x1b\[[0-9;]*[A-Za-z]//g'
}

# --- Steps -----------------------------------------------------------------------
# Each step returns non-zero on failure. They run with errexit suspended (they
# are called in a condition), so every command's status is checked explicitly.

step_fmt() {
    cargo fmt --all --check
}

step_clippy() {
    cargo clippy --workspace --all-targets --locked -- -D warnings
}

# Reads nextest's final line, for example
#   Summary [  12.345s] 120 tests run: 117 passed, 2 failed, 1 timed out, 0 skipped
# and sets counted_passed / counted_failed. Everything except "passed" and
# "skipped" (failed, timed out, ...) counts as failed; notes in parentheses
# such as "(1 slow)" are ignored.
parse_nextest_summary() {
    local summary counts
    summary=$(strip_colors <"$1" | grep -E '^[[:space:]]*Summary \[' | tail -n 1) || return 1
    counts=$(awk '{
        sub(/^.*run:/, "")
        gsub(/\([^)]*\)/, "")
        n = split($0, items, ",")
        for (i = 1; i <= n; i++) {
            if (split(items[i], words, " ") < 2) continue
            if (words[2] == "passed") passed += words[1]
            else if (words[2] != "skipped") failed += words[1]
        }
    } END { print passed + 0, failed + 0 }' <<<"$summary")
    read -r counted_passed counted_failed <<<"$counts"
}

step_deny() {
    if ! cargo deny --version >/dev/null 2>&1; then
        echo "$prog: cargo-deny is not installed; install it with: cargo install cargo-deny --locked" >&2
        return 1
    fi
    # Licences, banned crates and sources; the advisories check needs GitHub and runs elsewhere.
    cargo deny --log-level warn check licenses bans sources
}

step_browser_deps() {
    if ! command -v npm >/dev/null; then
        echo "$prog: npm not found; install Node.js and npm (Debian: apt-get install npm)" >&2
        return 1
    fi
    # axe-core for the accessibility checks of the browser tests, exactly as locked.
    npm ci --prefix frontend/tests/browser --no-audit --no-fund --loglevel=error
}

step_tests() {
    if ! cargo nextest --version >/dev/null 2>&1; then
        echo "$prog: cargo-nextest is not installed; install it with: cargo install cargo-nextest --locked" >&2
        detail="cargo-nextest missing"
        return 1
    fi
    local log=$work/nextest.log status=0
    scripts/with-postgres.sh cargo nextest run --workspace --locked --no-fail-fast 2>&1 |
        tee "$log" || status=$?
    if ! parse_nextest_summary "$log"; then
        detail="no test summary"
    fi
    return "$status"
}

# Succeeds if the ELF file has no program interpreter and needs no shared
# libraries (a static or static-pie executable).
is_static() {
    local headers dynamic
    headers=$(readelf -lW "$1") || return 1
    if grep -q 'INTERP' <<<"$headers"; then
        return 1
    fi
    dynamic=$(readelf -dW "$1") || return 1
    ! grep -q '(NEEDED)' <<<"$dynamic"
}

step_musl() {
    if ! command -v readelf >/dev/null; then
        echo "$prog: readelf not found; install binutils" >&2
        return 1
    fi
    local -a package_args=()
    local pkg
    for pkg in "${MUSL_PACKAGES[@]}"; do
        package_args+=(-p "$pkg")
    done
    cargo build --release --locked --target "$MUSL_TARGET" "${package_args[@]}" || return 1

    local status=0 bin bytes size notes=()
    for pkg in "${MUSL_PACKAGES[@]}"; do
        bin=$CARGO_TARGET_DIR/$MUSL_TARGET/release/$pkg
        if [[ ! -f $bin ]]; then
            echo "$prog: $bin was not built" >&2
            notes+=("$pkg: missing")
            status=1
            continue
        fi
        if ! is_static "$bin"; then
            echo "$prog: $bin is dynamically linked" >&2
            notes+=("$pkg: NOT static")
            status=1
            continue
        fi
        bytes=$(stat -c %s "$bin")
        size=$(awk -v b="$bytes" 'BEGIN { printf "%.1f MB", b / 1048576 }')
        echo "$pkg: statically linked, $size ($bin)"
        notes+=("$pkg: static, $size")
    done
    detail=$(
        IFS=";"
        echo "${notes[*]}"
    )
    return "$status"
}

# Reads the "N passed, N failed" line that our own check scripts end with.
parse_counts_line() {
    local line
    line=$(strip_colors <"$1" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1) || return 1
    counted_passed=${line%% passed*}
    counted_failed=${line#*, }
    counted_failed=${counted_failed%% failed*}
}

# Runs one of our check scripts, counting its results.
run_counted_script() {
    local log=$work/$1.log status=0
    shift
    "$@" 2>&1 | tee "$log" || status=$?
    if ! parse_counts_line "$log"; then
        detail="no result line"
    fi
    return "$status"
}

step_nix() {
    run_counted_script nix scripts/check-nix.sh
}

step_images() {
    # The musl binaries come from the release step just before.
    run_counted_script images scripts/image-test.sh --no-build
}

step_fault() {
    # The musl binaries come from the release step.
    run_counted_script fault scripts/fault-tests.sh --bin-dir "$CARGO_TARGET_DIR/$MUSL_TARGET/release"
}

step_chart() {
    run_counted_script chart scripts/check-chart.sh
}

step_shellcheck() {
    if ! command -v shellcheck >/dev/null; then
        echo "$prog: shellcheck not found; install it (Debian: apt-get install shellcheck)" >&2
        return 1
    fi
    local -a files=()
    mapfile -t files < <(find scripts nix helm/tests -type f \( -name '*.sh' -o -name '*.bash' -o -name '*.bats' \) | sort)
    if [[ -f .ci/run ]]; then
        files+=(.ci/run)
    fi
    detail="${#files[@]} files"
    printf '%s\n' "${files[@]}"
    shellcheck "${files[@]}"
}

step_bats() {
    if ! command -v bats >/dev/null; then
        echo "$prog: bats not found; install it (Debian: apt-get install bats)" >&2
        detail="bats missing"
        return 1
    fi
    local log=$work/bats.log status=0
    bats --tap scripts/tests/ 2>&1 | tee "$log" || status=$?
    counted_passed=$(grep -E '^ok ' "$log" | grep -cv '^ok [0-9]* .*# skip' || true)
    counted_failed=$(grep -c '^not ok ' "$log" || true)
    return "$status"
}

# --- Run ---------------------------------------------------------------------------

run_step "cargo fmt" step_fmt
run_step "cargo clippy" step_clippy
run_step "cargo deny" step_deny
run_step "browser test deps (npm)" step_browser_deps
run_step "tests (cargo nextest)" step_tests counted
if ((quick)); then
    skip_step "musl release build" "--quick"
    skip_step "container images" "--quick"
    skip_step "fault tests" "--quick"
else
    run_step "musl release build" step_musl
    run_step "container images" step_images counted
    run_step "fault tests" step_fault counted
fi
run_step "Helm chart" step_chart counted
run_step "Nix" step_nix counted
run_step "ShellCheck" step_shellcheck
run_step "bats" step_bats counted

echo
echo "==> summary"
for i in "${!step_names[@]}"; do
    if [[ -n ${step_details[$i]} ]]; then
        printf '%-24s %-5s %s\n' "${step_names[$i]}" "${step_results[$i]}" "${step_details[$i]}"
    else
        printf '%-24s %s\n' "${step_names[$i]}" "${step_results[$i]}"
    fi
done
echo "$total_passed passed, $total_failed failed"

((total_failed == 0))
